package debug_test

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/test/poll"
)

func TestSocketFileModeAndRemoval(t *testing.T) {
	// A permissive umask must not widen the socket's mode.
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	dir := shortTempDir(t)
	socket := filepath.Join(dir, "run", "debug.socket")
	fx := newFixture(t)
	srv := debug.NewServer(debug.Config{Socket: socket}, slog.New(slog.DiscardHandler))
	srv.Lead(fx.sources())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	waitSocket(t, socket, done)

	info, err := os.Lstat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("socket mode %v, want -rw-------", info.Mode())
	}
	if _, errOut, code := cli(socket, "module", "list"); code != debug.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return within 10s of cancel")
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after shutdown: %v, want it removed", err)
	}
	left, err := os.ReadDir(filepath.Dir(socket))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("files left in the socket directory: %v", left)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	socket := filepath.Join(shortTempDir(t), "debug.socket")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close() // as after a crash: the file stays, nobody listens

	fx := newFixture(t)
	srv := debug.NewServer(debug.Config{Socket: socket}, slog.New(slog.DiscardHandler))
	srv.Lead(fx.sources())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	poll.Until(t, 10*time.Millisecond, 10*time.Second, "an answer on the socket", func() error {
		_, errOut, code := cli(socket, "module", "list")
		if code == debug.ExitOK {
			return nil
		}
		select {
		case err := <-done:
			t.Fatalf("Start: %v", err)
		default:
		}
		return errors.New(errOut)
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
}

func TestStartRefusesAPathItCannotOwn(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantIs  error
		wantMsg string
	}{
		{
			name: "another operator serves the socket",
			prepare: func(t *testing.T, path string) {
				fx := newFixture(t)
				src := fx.sources()
				srv := debug.NewServer(debug.Config{Socket: path}, slog.New(slog.DiscardHandler))
				srv.Lead(src)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- srv.Start(ctx) }()
				t.Cleanup(func() { cancel(); <-done })
				waitSocket(t, path, done)
			},
			wantIs:  debug.ErrSocketInUse,
			wantMsg: "is another addon-operator running? choose another --debug-socket",
		},
		{
			name: "a regular file",
			prepare: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "the path exists and is not a socket",
		},
		{
			name:    "a path too long for a socket",
			prepare: func(*testing.T, string) {},
			wantMsg: "choose a shorter --debug-socket",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(shortTempDir(t), "debug.socket")
			if strings.Contains(tt.name, "too long") {
				path = filepath.Join(filepath.Dir(path), strings.Repeat("d", 100), "debug.socket")
			}
			tt.prepare(t, path)
			before, _ := os.ReadFile(path)

			srv := debug.NewServer(debug.Config{Socket: path}, slog.New(slog.DiscardHandler))
			done := make(chan error, 1)
			go func() { done <- srv.Start(context.Background()) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Start kept running")
			}
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want one wrapping %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Errorf("the file at the path changed: %q, was %q", after, before)
			}
		})
	}
}

func TestStartWithoutSocketWaitsForCancel(t *testing.T) {
	srv := debug.NewServer(debug.Config{}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Start returned before cancel: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start: %v", err)
	}
}

func TestConfigBindFlags(t *testing.T) {
	tests := []struct {
		name string
		env  string
		peer string
		xdg  string
		args []string
		want string
	}{
		{name: "default, beside the hooks' directory", want: filepath.Join(os.TempDir(), "addon-operator-debug", "debug.socket")},
		{name: "default in the runtime directory", xdg: "/run/user/1000", want: "/run/user/1000/addon-operator/debug.socket"},
		{name: "environment", env: "/run/ao/debug.sock", want: "/run/ao/debug.sock"},
		{name: "flag wins", env: "/run/ao/debug.sock", args: []string{"--debug-socket", "/x/y.sock"}, want: "/x/y.sock"},
		{name: "flag empty disables", args: []string{"--debug-socket="}, want: ""},
		{name: "peer's environment", peer: "/var/run/addon-operator/debug.socket", want: "/var/run/addon-operator/debug.socket"},
		{name: "ours wins over the peer's", env: "/run/ao/debug.sock", peer: "/peer.sock", want: "/run/ao/debug.sock"},
		{name: "flag wins over the peer's", peer: "/peer.sock", args: []string{"--debug-socket", "/x/y.sock"}, want: "/x/y.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(debug.SocketEnv, tt.env)
			t.Setenv(debug.PeerSocketEnv, tt.peer)
			t.Setenv("XDG_RUNTIME_DIR", tt.xdg)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var cfg debug.Config
			cfg.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if cfg.Socket != tt.want {
				t.Errorf("Socket = %q, want %q", cfg.Socket, tt.want)
			}
		})
	}
}
