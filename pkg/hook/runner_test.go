package hook

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/poll"
)

// script writes an executable bash hook into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/usr/bin/env bash\nset -euo pipefail\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func newTestRunner(t *testing.T, timeout time.Duration, logs *bytes.Buffer) *Runner {
	t.Helper()
	if logs == nil {
		logs = &bytes.Buffer{}
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return NewRunner(Config{Timeout: timeout, TmpDir: t.TempDir(), LogLimit: 1 << 16}, log)
}

func moduleHook(path string) *Hook {
	return &Hook{Name: "010-demo/hooks/" + filepath.Base(path), Path: path, Module: "demo", ValuesKey: "demo"}
}

func TestRunProtocol(t *testing.T) {
	dir := t.TempDir()
	path := script(t, dir, "hooks/patch.sh", `
# reads its inputs, writes every kind of output
binding=$(jq -r '.[0].binding' "$BINDING_CONTEXT_PATH")
replicas=$(jq -r '.demo.replicas' "$VALUES_PATH")
nodes=$(jq -r '.global.discovery.nodeCount' "$VALUES_PATH")
cfg=$(jq -r '.demo.setting' "$CONFIG_VALUES_PATH")
echo "binding=$binding replicas=$replicas nodes=$nodes cfg=$cfg"
jq -nc --argjson r "$replicas" '[{"op":"add","path":"/demo/internal/replicas","value":($r+1)}]' > "$VALUES_JSON_PATCH_PATH"
echo '{"op":"add","path":"/demo/internal/binding","value":"'"$binding"'"}' >> "$VALUES_JSON_PATCH_PATH"
echo '[{"op":"add","path":"/demo/password","value":"s3cret"}]' > "$CONFIG_VALUES_JSON_PATCH_PATH"
cat > "$KUBERNETES_PATCH_PATH" <<'EOP'
{"operation":"CreateOrUpdate","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"default"}}}
EOP
echo '{"name":"demo_runs_total","action":"add","value":1,"labels":{"a":"b"}}' > "$METRICS_PATH"
echo "to stderr" >&2
`)
	var logs bytes.Buffer
	r := newTestRunner(t, time.Minute, &logs)
	in := Input{
		Binding:      "beforeHelm",
		Contexts:     []byte(`[{"binding":"beforeHelm"}]`),
		Values:       values.Values{"global": map[string]any{"discovery": map[string]any{"nodeCount": 3.0}}, "demo": map[string]any{"replicas": 2.0}},
		ConfigValues: values.Values{"demo": map[string]any{"setting": "on"}},
	}
	out, err := r.Run(context.Background(), moduleHook(path), in)
	if err != nil {
		t.Fatalf("run: %v\nlogs:\n%s", err, logs.String())
	}
	got, err := values.Values{}.Apply(out.ValuesPatch)
	if err != nil {
		t.Fatal(err)
	}
	want := values.Values{"demo": map[string]any{"internal": map[string]any{"replicas": 3.0, "binding": "beforeHelm"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values after patch (-want +got):\n%s", diff)
	}
	if len(out.ConfigValuesPatch) != 1 || out.ConfigValuesPatch[0].Path != "/demo/password" {
		t.Errorf("config values patch = %+v", out.ConfigValuesPatch)
	}
	if len(out.KubernetesOperations) != 1 || !strings.Contains(out.KubernetesOperations[0].Description(), "ConfigMap") {
		t.Errorf("kubernetes operations = %v", out.KubernetesOperations)
	}
	if len(out.Metrics) != 1 || out.Metrics[0].Name != "demo_runs_total" {
		t.Errorf("metrics = %+v", out.Metrics)
	}
	for _, want := range []string{"binding=beforeHelm replicas=2 nodes=3 cfg=on", "to stderr", "hook=010-demo/hooks/patch.sh"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if entries, _ := os.ReadDir(r.cfg.TmpDir); len(entries) != 0 {
		t.Errorf("run files left behind: %v", entries)
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		timeout time.Duration
		wantIs  error
		wantMsg string
	}{
		{name: "exit 1", body: "echo 'cannot reach api' >&2; exit 1", wantIs: ErrFailed, wantMsg: "exit code 1: cannot reach api"},
		{name: "garbage values patch", body: `echo 'this is not json' > "$VALUES_JSON_PATCH_PATH"`, wantIs: ErrBadOutput, wantMsg: "VALUES_JSON_PATCH_PATH"},
		{name: "patch of another module", body: `echo '[{"op":"add","path":"/other/x","value":1}]' > "$VALUES_JSON_PATCH_PATH"`, wantIs: ErrBadOutput, wantMsg: "may only patch /demo/"},
		{name: "global patch from a module hook", body: `echo '[{"op":"add","path":"/global/x","value":1}]' > "$CONFIG_VALUES_JSON_PATCH_PATH"`, wantIs: ErrBadOutput, wantMsg: "CONFIG_VALUES_JSON_PATCH_PATH: operation 0 (add /global/x)"},
		{name: "bad patch op", body: `echo '[{"op":"merge","path":"/demo/x","value":1}]' > "$VALUES_JSON_PATCH_PATH"`, wantIs: ErrBadOutput, wantMsg: `op "merge" is not one of`},
		{name: "bad kubernetes patch", body: `echo '{"operation":"Explode"}' > "$KUBERNETES_PATCH_PATH"`, wantIs: ErrBadOutput, wantMsg: "KUBERNETES_PATCH_PATH"},
		{name: "bad metrics", body: `echo '{"name":"x","action":"add"}' > "$METRICS_PATH"`, wantIs: ErrBadOutput, wantMsg: "'value' is required"},
		{name: "never exits", body: "sleep 600", timeout: 500 * time.Millisecond, wantIs: ErrTimeout, wantMsg: "timed out after 500ms"},
		{name: "never exits, with a child holding stdout", body: "sleep 600 & sleep 600", timeout: 500 * time.Millisecond, wantIs: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Minute
			}
			path := script(t, t.TempDir(), "hook.sh", tt.body)
			start := time.Now()
			_, err := newTestRunner(t, timeout, nil).Run(context.Background(), moduleHook(path), Input{})
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error = %v, want %v containing %q", err, tt.wantIs, tt.wantMsg)
			}
			if tt.timeout > 0 && time.Since(start) > 10*time.Second {
				t.Errorf("a timed-out hook held the runner for %s", time.Since(start))
			}
		})
	}
}

// A hook writing far more than the log budget finishes, and the log holds
// the budget plus one truncation warning.
func TestRunOutputIsBounded(t *testing.T) {
	path := script(t, t.TempDir(), "chatty.sh", `head -c 20000000 /dev/zero | tr '\0' 'x' | fold -w 1000`)
	var logs bytes.Buffer
	r := newTestRunner(t, time.Minute, &logs)
	if _, err := r.Run(context.Background(), moduleHook(path), Input{}); err != nil {
		t.Fatal(err)
	}
	if logs.Len() > 200<<10 {
		t.Errorf("logged %d bytes for a 64 KiB budget", logs.Len())
	}
	if got := strings.Count(logs.String(), "hook output truncated"); got != 1 {
		t.Errorf("truncation warnings = %d, want 1", got)
	}
}

func TestConfigOutput(t *testing.T) {
	dir := t.TempDir()
	good := script(t, dir, "good.sh", `if [[ "${1:-}" == "--config" ]]; then echo '{"configVersion":"v1","beforeHelm":10}'; exit 0; fi; exit 1`)
	bad := script(t, dir, "bad.sh", `if [[ "${1:-}" == "--config" ]]; then echo 'configVersion: v1'; echo 'beforeLunch: 1'; exit 0; fi`)
	silent := script(t, dir, "silent.sh", `exit 0`)
	v0 := script(t, dir, "v0.sh", `if [[ "${1:-}" == "--config" ]]; then echo '{"onKubernetesEvent":[{"kind":"Pod","event":["add"]}]}'; exit 0; fi`)
	r := newTestRunner(t, time.Minute, nil)

	hooks, err := Load(context.Background(), r, []Source{{Name: "m/hooks/good.sh", Path: good, Module: "m", ValuesKey: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	if !hooks[0].Bindings.Has(BeforeHelm) || hooks[0].Bindings.Orders[BeforeHelm] != 10 {
		t.Errorf("bindings = %+v", hooks[0].Bindings)
	}
	for _, tt := range []struct{ path, want string }{
		{bad, `bad.sh: invalid hook config: unknown binding "beforeLunch"`},
		{silent, "silent.sh --config printed nothing"},
		{v0, "v0.sh: invalid hook config: configVersion v0 is not supported (a config without configVersion is v0): print configVersion: v1"},
	} {
		_, err := Load(context.Background(), r, []Source{{Name: "x", Path: tt.path, Module: "m", ValuesKey: "m"}})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s) error = %v, want it to contain %q", filepath.Base(tt.path), err, tt.want)
		}
	}
}

func TestEnabledScript(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       bool
		wantReason string
		wantErr    string
	}{
		{name: "enabled by values", body: `jq -e '.global.discovery.nodeCount > 1' "$VALUES_PATH" >/dev/null && echo true > "$MODULE_ENABLED_RESULT" || echo false > "$MODULE_ENABLED_RESULT"`, want: true},
		{name: "disabled with reason", body: `echo false > "$MODULE_ENABLED_RESULT"; echo "needs the dep module" > "$MODULE_ENABLED_REASON"`, want: false, wantReason: "needs the dep module"},
		{name: "reads enabledModules", body: `jq -e '.global.enabledModules | index("dep")' "$VALUES_PATH" >/dev/null && echo true > "$MODULE_ENABLED_RESULT" || echo false > "$MODULE_ENABLED_RESULT"`, want: true},
		{name: "writes nothing", body: `true`, wantErr: "wrote nothing to MODULE_ENABLED_RESULT"},
		{name: "writes garbage", body: `echo yes > "$MODULE_ENABLED_RESULT"`, wantErr: `wrote "yes" to MODULE_ENABLED_RESULT`},
	}
	vals := values.Values{"global": map[string]any{"discovery": map[string]any{"nodeCount": 3.0}, "enabledModules": []any{"dep"}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := script(t, t.TempDir(), "enabled", tt.body)
			got, reason, err := newTestRunner(t, time.Minute, nil).Enabled(context.Background(), "demo", path, vals, values.Values{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("Enabled = %v, %q; want %v, %q", got, reason, tt.want, tt.wantReason)
			}
		})
	}
}

// With a memory limit a hook that keeps allocating fails with its own
// out-of-memory message while a modest hook runs as before; every hook is
// the OOM killer's first choice.
func TestRunMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	hog := script(t, dir, "hog.sh", `s=x; for i in $(seq 40); do s=$s$s; done; echo "never reached"`)
	modest := script(t, dir, "modest.sh", `s=x; for i in $(seq 20); do s=$s$s; done; echo "len=${#s} oom=$(cat /proc/self/oom_score_adj)"`)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := NewRunner(Config{Timeout: time.Minute, TmpDir: t.TempDir(), MemoryLimit: 64 << 20}, log)
	start := time.Now()
	_, err := r.Run(context.Background(), moduleHook(hog), Input{})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "cannot allocate") {
		t.Errorf("hog error = %v, want %v with the allocation failure", err, ErrFailed)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the hog ran %s", d)
	}
	if _, err := r.Run(context.Background(), moduleHook(modest), Input{}); err != nil {
		t.Fatalf("modest hook: %v", err)
	}
	if !strings.Contains(logs.String(), "len=1048576 oom=1000") {
		t.Errorf("the modest hook's output is missing or its oom_score_adj is not 1000:\n%s", logs.String())
	}
}

func TestMemoryLimitFlag(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		want int64
		err  bool
	}{{"512Mi", 512 << 20, false}, {"1G", 1e9, false}, {"0", 0, false}, {"lots", 0, true}, {"-1Mi", 0, true}} {
		var c Config
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.BindFlags(fs)
		err := fs.Parse([]string{"--hook-memory-limit", tt.arg})
		if (err != nil) != tt.err || c.MemoryLimit != tt.want {
			t.Errorf("--hook-memory-limit %s: %d, %v; want %d (error %v)", tt.arg, c.MemoryLimit, err, tt.want, tt.err)
		}
	}
}

// KillAll ends the runs in progress with their whole process groups, also
// a hook that ignores SIGTERM and a child it left in the background: no
// hook process outlives the operator that decided to stop.
func TestKillAll(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	path := script(t, dir, "stubborn.sh", `trap '' TERM
sleep 600 &
echo $! > "`+ready+`.tmp" && mv "`+ready+`.tmp" "`+ready+`"
wait`)
	r := newTestRunner(t, time.Hour, nil)
	if n := r.KillAll(); n != 0 {
		t.Fatalf("KillAll with nothing running signalled %d groups", n)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), moduleHook(path), Input{})
		done <- err
	}()
	child := waitReady(t, ready, done)
	if n := r.KillAll(); n != 1 {
		t.Errorf("KillAll signalled %d groups, want 1", n)
	}
	if err := <-done; !errors.Is(err, ErrFailed) {
		t.Errorf("the killed run returned %v, want ErrFailed", err)
	}
	// The child is a real process that init reaps; nothing notifies its end.
	poll.True(t, 20*time.Millisecond, 10*time.Second, fmt.Sprintf("the hook's background child %d to end", child), func() bool {
		return !alive(child)
	})
	if n := r.KillAll(); n != 0 {
		t.Errorf("KillAll after the run ended signalled %d groups", n)
	}
}

// A cancelled run gets SIGTERM, and SIGKILL only when it is still running
// after the grace.
func TestCancelledRunIsKilledAfterGrace(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	path := script(t, dir, "stubborn.sh", `trap '' TERM
sleep 600 &
echo $! > "`+ready+`.tmp" && mv "`+ready+`.tmp" "`+ready+`"
wait`)
	clk := clocktesting.NewFakeClock(time.Now())
	log := slog.New(slog.DiscardHandler)
	r := NewRunner(Config{Timeout: time.Hour, TmpDir: t.TempDir(), LogLimit: 1 << 16}, log, WithClock(clk))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, moduleHook(path), Input{})
		done <- err
	}()
	waitReady(t, ready, done)
	cancel()
	poll.True(t, time.Millisecond, 10*time.Second, "the runner to wait out the grace", clk.HasWaiters)

	clk.Step(termGrace - time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the run ended before the grace passed: %v", err)
	default:
	}
	clk.Step(time.Millisecond)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled run returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end after the grace")
	}
}

// waitReady waits until the hook wrote the pid of its background child to
// ready and returns it; the hook is a real process that does not notify.
func waitReady(t *testing.T, ready string, done <-chan error) int {
	t.Helper()
	var child int
	poll.Until(t, 20*time.Millisecond, 10*time.Second, "the hook to start its child", func() error {
		select {
		case err := <-done:
			t.Fatalf("the hook ended before it was killed: %v", err)
		default:
		}
		data, err := os.ReadFile(ready)
		if err != nil {
			return err
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err
	})
	return child
}

// alive reports whether pid is a process that has not exited (a zombie
// waiting to be reaped counts as exited).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// busyLoop is bash that keeps a CPU busy for 0.3 s of wall time.
const busyLoop = `end=$(( ${EPOCHREALTIME/./} + 300000 ))
while (( ${EPOCHREALTIME/./} < end )); do :; done
`

// A run reports the CPU time and peak memory of the hook's process and of
// the children it waited for, also when it failed.
func TestRunUsage(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr error
	}{
		{name: "busy hook", body: busyLoop},
		{name: "busy child, then failure", body: "bash -c '" + busyLoop + "'\nexit 3", wantErr: ErrFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := script(t, t.TempDir(), "hook.sh", tt.body)
			out, err := newTestRunner(t, time.Minute, nil).Run(context.Background(), moduleHook(path), Input{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			u := out.Usage
			if u == nil {
				t.Fatal("no usage reported")
			}
			if u.User <= 0 {
				t.Errorf("user CPU = %s, want > 0 for a busy loop", u.User)
			}
			// bash alone keeps more than 1 MiB resident; less means the
			// kernel's KiB were taken for bytes.
			if u.MaxRSS < 1<<20 {
				t.Errorf("max RSS = %d bytes, want at least 1 MiB", u.MaxRSS)
			}
		})
	}
}
