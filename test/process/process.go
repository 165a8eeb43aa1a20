// Package process runs the addon-operator binary for end-to-end tests: one
// child process per Operator, with its own bundle, namespace, HTTP port and
// log file, stopped (or killed) by the test.
package process

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles ./cmd/addon-operator into dir and returns the binary's
// path. Call it once per test package (TestMain).
func Build(repoRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "addon-operator")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/addon-operator")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build addon-operator: %w\n%s", err, out)
	}
	return bin, nil
}

// Options start one operator.
type Options struct {
	Binary     string
	Kubeconfig string
	Namespace  string
	BundleDir  string
	// Env adds environment variables (KEY=value) for the operator and, as
	// Start names them in --hook-env, for its hooks.
	Env []string
	// Args adds flags.
	Args []string
}

// Operator is a running operator process.
type Operator struct {
	opts Options
	Port int
	Log  string
	// DebugSocket is the CLI's socket (ADDON_OPERATOR_DEBUG_SOCKET).
	DebugSocket string
	cmd         *exec.Cmd
	done        chan struct{}
	mu          sync.Mutex
	err         error
}

// Start launches the operator; it does not wait for readiness.
func Start(t testing.TB, opts Options) *Operator {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// A short directory of its own: unix socket paths are limited to about
	// 100 bytes, and two operators of one test must not share a socket.
	sockDir, err := os.MkdirTemp("", "aop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	logFile := filepath.Join(t.TempDir(), "operator.log")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--kubeconfig", opts.Kubeconfig,
		"--bundle-dir", opts.BundleDir,
		"--namespace", opts.Namespace,
		"--listen-address", "127.0.0.1",
		"--listen-port", strconv.Itoa(port),
		"--tmp-dir", filepath.Join(t.TempDir(), "tmp"),
		"--log-level", "debug",
		"--debug-socket", filepath.Join(sockDir, "debug.socket"),
	}, opts.Args...)
	if names := envNames(opts.Env); names != "" {
		args = append(args, "--hook-env", names)
	}
	cmd := exec.Command(opts.Binary, args...)
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &Operator{opts: opts, Port: port, Log: logFile, DebugSocket: filepath.Join(sockDir, "debug.socket"), cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		o.mu.Lock()
		o.err = err
		o.mu.Unlock()
		close(o.done)
	}()
	t.Cleanup(func() {
		o.Stop(t)
		if t.Failed() {
			t.Logf("operator log (%s):\n%s", logFile, o.Tail(200))
		}
	})
	return o
}

// envNames is the comma-separated names of KEY=value variables.
func envNames(env []string) string {
	var names []string
	for _, kv := range env {
		if name, _, ok := strings.Cut(kv, "="); ok {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}

// URL returns the operator's HTTP URL for path.
func (o *Operator) URL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(o.Port) + path
}

// WaitReady polls /readyz until it answers 200.
func (o *Operator) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(o.URL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if o.Exited() {
			t.Fatalf("operator exited before it was ready: %v\n%s", o.ExitErr(), o.Tail(80))
		}
		if time.Now().After(deadline) {
			t.Fatalf("operator not ready after %s:\n%s", timeout, o.Tail(80))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Exited reports whether the process has ended.
func (o *Operator) Exited() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// Wait blocks until the process exits or the timeout passes, and returns
// its exit error.
func (o *Operator) Wait(timeout time.Duration) (error, bool) {
	select {
	case <-o.done:
		return o.ExitErr(), true
	case <-time.After(timeout):
		return nil, false
	}
}

// ExitErr is the process's exit error once it has exited.
func (o *Operator) ExitErr() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Stop sends SIGTERM and waits (SIGKILL after 15 s). Hook processes in
// their own groups are killed with the operator's.
func (o *Operator) Stop(t testing.TB) {
	if o.Exited() {
		return
	}
	_ = syscall.Kill(-o.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-o.done:
	case <-time.After(15 * time.Second):
		t.Errorf("operator did not stop within 15s of SIGTERM; killing it")
		o.Kill()
	}
}

// Kill sends SIGKILL to the operator (not its hook children, as a crash
// would not either) and waits for it.
func (o *Operator) Kill() {
	_ = o.cmd.Process.Signal(syscall.SIGKILL)
	<-o.done
}

// Pid is the operator's process id.
func (o *Operator) Pid() int { return o.cmd.Process.Pid }

// Logs returns the whole log.
func (o *Operator) Logs() string {
	data, _ := os.ReadFile(o.Log)
	return string(data)
}

// Tail returns the last n log lines.
func (o *Operator) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.Logs(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitLog polls the log until it contains s.
func (o *Operator) WaitLog(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(o.Logs(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("operator log lacks %q after %s:\n%s", s, timeout, o.Tail(80))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Get fetches an HTTP path of the operator.
func (o *Operator) Get(path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.URL(path), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
