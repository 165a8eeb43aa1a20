package hook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/values"
)

// Every file the operator reads from a hook, and the --config output, is
// refused beyond the limit with an error naming it and the limit; a file of
// exactly the limit is read.
func TestRunFileLimit(t *testing.T) {
	const limit = 1024
	// pad writes JSON followed by spaces, n bytes in all, to a file.
	const pad = `pad() { printf '%s' "$2" > "$1"; head -c $(( $3 - ${#2} )) /dev/zero | tr '\0' ' ' >> "$1"; }
`
	tests := []struct {
		name    string
		body    string
		enabled bool
		config  bool
		wantErr string // empty: the run succeeds
	}{
		{name: "values patch at the limit", body: `pad "$VALUES_JSON_PATCH_PATH" '[]' 1024`},
		{name: "values patch over the limit", body: `pad "$VALUES_JSON_PATCH_PATH" '[]' 1025`, wantErr: "VALUES_JSON_PATCH_PATH is larger than the limit of 1Ki bytes (--hook-file-limit)"},
		{name: "config values patch over the limit", body: `pad "$CONFIG_VALUES_JSON_PATCH_PATH" '[]' 1025`, wantErr: "CONFIG_VALUES_JSON_PATCH_PATH is larger than the limit of 1Ki"},
		{name: "kubernetes patch over the limit", body: `pad "$KUBERNETES_PATCH_PATH" '' 1025`, wantErr: "KUBERNETES_PATCH_PATH is larger than the limit of 1Ki"},
		{name: "metrics over the limit", body: `pad "$METRICS_PATH" '' 1025`, wantErr: "METRICS_PATH is larger than the limit of 1Ki"},
		{name: "a FIFO instead of a file", body: `rm "$VALUES_JSON_PATCH_PATH"; mkfifo "$VALUES_JSON_PATCH_PATH"`, wantErr: "VALUES_JSON_PATCH_PATH is not a regular file"},
		{name: "a device instead of a file", body: `ln -sf /dev/zero "$METRICS_PATH"`, wantErr: "METRICS_PATH is not a regular file"},
		{name: "enabled result over the limit", enabled: true, body: `pad "$MODULE_ENABLED_RESULT" true 1025`, wantErr: "MODULE_ENABLED_RESULT is larger than the limit of 1Ki"},
		{name: "enabled reason over the limit", enabled: true, body: `echo true > "$MODULE_ENABLED_RESULT"; pad "$MODULE_ENABLED_REASON" '' 1025`, wantErr: "MODULE_ENABLED_REASON is larger than the limit of 1Ki"},
		{name: "enabled result at the limit", enabled: true, body: `pad "$MODULE_ENABLED_RESULT" true 1024`},
		{name: "--config output over the limit", config: true, body: `printf '{"configVersion":"v1","onStartup":1}'; head -c 1000 /dev/zero | tr '\0' ' '`, wantErr: "--config printed more than 1Ki bytes (--hook-file-limit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := script(t, t.TempDir(), "hook.sh", pad+tt.body)
			r := NewRunner(Config{Timeout: time.Minute, TmpDir: t.TempDir(), FileLimit: limit}, slog.New(slog.DiscardHandler))
			var err error
			switch {
			case tt.enabled:
				_, _, err = r.Enabled(context.Background(), "demo", path, values.Values{}, values.Values{})
			case tt.config:
				_, err = Load(context.Background(), r, []Source{{Name: "demo/hooks/hook.sh", Path: path, Module: "demo", ValuesKey: "demo"}})
			default:
				_, err = r.Run(context.Background(), moduleHook(path), Input{})
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("a file of exactly the limit: %v", err)
				}
				return
			}
			wantIs := ErrBadOutput
			if tt.config {
				wantIs = ErrInvalidConfig
			}
			if !errors.Is(err, wantIs) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %v containing %q", err, wantIs, tt.wantErr)
			}
		})
	}
}

// countingReader gives n bytes and counts what was taken.
type countingReader struct{ n, taken int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.taken >= r.n {
		return 0, io.EOF
	}
	n := int64(len(p))
	n = min(n, r.n-r.taken)
	r.taken += n
	return int(n), nil
}

// A file far over the limit is refused after limit+1 bytes, not read to
// its end: a hook cannot make the operator hold a file of any size.
func TestReadLimitedStopsAtTheLimit(t *testing.T) {
	const limit = 1024
	r := &countingReader{n: 1 << 30}
	_, err := readLimited(r, "VALUES_JSON_PATCH_PATH", limit)
	if !errors.Is(err, ErrBadOutput) {
		t.Fatalf("error = %v, want ErrBadOutput", err)
	}
	if r.taken > limit+1 {
		t.Fatalf("read %d bytes of the file, want at most %d", r.taken, limit+1)
	}
}

// Without --hook-file-limit a hook may write 16 MiB and no byte more.
func TestRunFileLimitDefault(t *testing.T) {
	path := script(t, t.TempDir(), "hook.sh", `head -c $(( (16 << 20) + 1 )) /dev/zero | tr '\0' ' ' > "$VALUES_JSON_PATCH_PATH"`)
	_, err := newTestRunner(t, time.Minute, nil).Run(context.Background(), moduleHook(path), Input{})
	if want := "VALUES_JSON_PATCH_PATH is larger than the limit of 16Mi bytes"; !errors.Is(err, ErrBadOutput) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want %v containing %q", err, ErrBadOutput, want)
	}
}

// A hook's patch may copy or move only within its own section: copying
// from another module's section (its secrets) or from global is refused
// with the operation named, in both patch files.
func TestRunPatchFrom(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		op      string
		wantErr string // empty: accepted
	}{
		{name: "copy within the module", file: "VALUES_JSON_PATCH_PATH", op: `{"op":"copy","from":"/demo/a","path":"/demo/b"}`},
		{name: "move within the module", file: "CONFIG_VALUES_JSON_PATCH_PATH", op: `{"op":"move","from":"/demo/a","path":"/demo/b"}`},
		{name: "copy from another module", file: "VALUES_JSON_PATCH_PATH", op: `{"op":"copy","from":"/otherModule/password","path":"/demo/x"}`,
			wantErr: "VALUES_JSON_PATCH_PATH: operation 0 (copy /demo/x from /otherModule/password): a module hook may only patch /demo/"},
		{name: "copy from another module into config", file: "CONFIG_VALUES_JSON_PATCH_PATH", op: `{"op":"copy","from":"/otherModule/password","path":"/demo/x"}`,
			wantErr: "CONFIG_VALUES_JSON_PATCH_PATH: operation 0 (copy /demo/x from /otherModule/password)"},
		{name: "move from global", file: "CONFIG_VALUES_JSON_PATCH_PATH", op: `{"op":"move","from":"/global/token","path":"/demo/x"}`,
			wantErr: "operation 0 (move /demo/x from /global/token)"},
		{name: "copy from an escaped key", file: "VALUES_JSON_PATCH_PATH", op: `{"op":"copy","from":"/demo~1x/a","path":"/demo/x"}`,
			wantErr: "operation 0 (copy /demo/x from /demo~1x/a)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := script(t, t.TempDir(), "hook.sh", `echo '[`+tt.op+`]' > "$`+tt.file+`"`)
			out, err := newTestRunner(t, time.Minute, nil).Run(context.Background(), moduleHook(path), Input{})
			if tt.wantErr == "" {
				if err != nil || len(out.ValuesPatch)+len(out.ConfigValuesPatch) != 1 {
					t.Fatalf("Run = %+v, %v; want the operation", out, err)
				}
				return
			}
			if !errors.Is(err, ErrBadOutput) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %v containing %q", err, ErrBadOutput, tt.wantErr)
			}
		})
	}
}
