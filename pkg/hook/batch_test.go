package hook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// batchConfig is what module-sdk v0.10 prints for `hook config` of a
// binary with two hooks and a readiness probe.
const batchConfig = `{"version":"v1","hooks":[
{"configVersion":"v1","metadata":{"name":"replicas","path":"demo/hooks/"},
 "kubernetes":[{"name":"source","apiVersion":"v1","kind":"ConfigMap","nameSelector":{"matchNames":["src"]},
   "namespace":{"nameSelector":{"matchNames":["default"]}},"keepFullObjectsInMemory":false,"jqFilter":".data","executeHookOnEvent":false}],
 "beforeHelm":10,"settings":{"executionMinInterval":2000000000,"executionBurst":3}},
{"configVersion":"v1","metadata":{"name":"cleanup","path":"demo/hooks/"},"afterDeleteHelm":5,
 "schedule":[{"name":"nightly","crontab":"0 3 * * *"}],"allowFailure":true}],
"readiness":{"configVersion":"v1","metadata":{"name":"readiness","path":"common-hooks/readiness"},
 "schedule":[{"name":"demo-moduleReadinessSchedule","crontab":"*/15 * * * * *"}]}}`

func TestParseBatchConfig(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		wantHooks     []string
		wantReadiness bool
		wantErr       string
	}{
		{name: "module-sdk batch config", in: batchConfig, wantHooks: []string{"replicas", "cleanup"}, wantReadiness: true},
		{name: "older array form", in: `[{"configVersion":"v1","metadata":{"name":"a"},"onStartup":1},{"configVersion":"v1","metadata":{"name":"b"},"afterHelm":1}]`, wantHooks: []string{"a", "b"}},
		{name: "readiness only", in: `{"version":"v1","hooks":[],"readiness":{"configVersion":"v1","metadata":{"name":"readiness"}}}`, wantHooks: []string{}, wantReadiness: true},
		{name: "empty", in: "\n", wantErr: "printed nothing, want module-sdk's batch hook config JSON"},
		{name: "not JSON", in: "Found 2 items:", wantErr: `want module-sdk's batch hook config JSON ({"version":"v1","hooks":[…]}) or an array`},
		{name: "shell-operator config", in: `{"configVersion":"v1","beforeHelm":1}`, wantErr: `unknown field "configVersion"`},
		{name: "unknown version", in: `{"version":"v2","hooks":[{"configVersion":"v1"}]}`, wantErr: `version is "v2", want "v1"`},
		{name: "no hooks", in: `{"version":"v1","hooks":[]}`, wantErr: "no hooks in the batch"},
		{name: "array of garbage", in: `[1,2]`, wantErr: "want a JSON array of module-sdk hook configs"},
		{name: "two documents", in: batchConfig + batchConfig, wantErr: "more than one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBatchConfig([]byte(tt.in))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, h := range got.Hooks {
				names = append(names, h.Metadata.Name)
			}
			if diff := cmp.Diff(tt.wantHooks, names); diff != "" {
				t.Errorf("hooks (-want +got):\n%s", diff)
			}
			if (got.Readiness != nil) != tt.wantReadiness {
				t.Errorf("readiness = %v, want %v", got.Readiness != nil, tt.wantReadiness)
			}
		})
	}
}

// batchScript writes a fake batch binary: it prints config for `hook
// config`, records its arguments and MODULE_NAME in $dir/calls, and for
// `hook run 1` fails the way module-sdk does.
func batchScript(t *testing.T, dir, config string) string {
	t.Helper()
	return script(t, dir, "hooks/batch", `
echo "$* MODULE_NAME=${MODULE_NAME-unset}" >> "`+filepath.Join(dir, "calls")+`"
case "$*" in
"hook config") cat <<'EOF'
`+config+`
EOF
;;
"hook run 0") echo '[{"op":"add","path":"/demo/replicas","value":3}]' > "$VALUES_JSON_PATCH_PATH" ;;
"hook run 1") echo '{"level":"info","msg":"cleaning up"}' >&2; echo '{"message":"execute: cannot delete the claim","code":0}' >&2; exit 1 ;;
"hook ready") ;;
*) exit 2 ;;
esac
`)
}

func TestLoadBatch(t *testing.T) {
	dir := t.TempDir()
	path := batchScript(t, dir, batchConfig)
	r := newTestRunner(t, time.Minute, nil)
	src := Source{Name: "010-demo/hooks/batch", Path: path, Module: "demo", ValuesKey: "demo"}
	hooks, err := loadBatch(context.Background(), r, src, path)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Name      string
		Batch     Batch
		Types     []Binding
		Orders    map[Binding]float64
		Queues    []string
		Failure   []bool
		Interval  time.Duration
		Burst     int
		OnEvents  int
		Module    string
		ValuesKey string
	}
	var got []summary
	for _, h := range hooks {
		s := summary{Name: h.Name, Batch: *h.Batch, Types: h.Bindings.Types(), Orders: h.Bindings.Orders, Module: h.Module, ValuesKey: h.ValuesKey,
			Interval: h.Bindings.Settings.ExecutionMinInterval, Burst: h.Bindings.Settings.ExecutionBurst}
		for _, k := range h.Bindings.Kubernetes {
			s.Queues = append(s.Queues, k.Queue)
			s.Failure = append(s.Failure, k.AllowFailure)
			s.OnEvents += len(k.Monitor.EventTypes)
		}
		for _, sc := range h.Bindings.Schedules {
			s.Queues = append(s.Queues, sc.Queue)
			s.Failure = append(s.Failure, sc.AllowFailure)
		}
		got = append(got, s)
	}
	want := []summary{
		{Name: "010-demo/hooks/batch:replicas:0", Batch: Batch{ID: 0}, Types: []Binding{BeforeHelm, Kubernetes}, Orders: map[Binding]float64{BeforeHelm: 10},
			Queues: []string{"main"}, Failure: []bool{false}, Interval: 2 * time.Second, Burst: 3, Module: "demo", ValuesKey: "demo"},
		{Name: "010-demo/hooks/batch:cleanup:1", Batch: Batch{ID: 1}, Types: []Binding{AfterDeleteHelm, Schedule}, Orders: map[Binding]float64{AfterDeleteHelm: 5},
			Queues: []string{"main"}, Failure: []bool{true}, Module: "demo", ValuesKey: "demo"},
		{Name: "010-demo/hooks/batch:readiness", Batch: Batch{Readiness: true}, Types: []Binding{Schedule}, Orders: map[Binding]float64{},
			Queues: []string{ReadinessQueue}, Failure: []bool{true}, Module: "demo", ValuesKey: "demo"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}

	// Each entry runs its own command with MODULE_NAME; module-sdk's
	// JSON error is the failure's message.
	out, err := r.Run(context.Background(), hooks[0], Input{})
	if err != nil {
		t.Fatalf("hook run 0: %v", err)
	}
	if len(out.ValuesPatch) != 1 || out.ValuesPatch[0].Path != "/demo/replicas" {
		t.Errorf("hook run 0 values patch = %+v, want add /demo/replicas", out.ValuesPatch)
	}
	_, err = r.Run(context.Background(), hooks[1], Input{})
	if !errors.Is(err, ErrFailed) || err.Error() != "hook failed: exit code 1: execute: cannot delete the claim" {
		t.Errorf("hook run 1 error = %v, want ErrFailed with module-sdk's message only", err)
	}
	if _, err := r.Run(context.Background(), hooks[2], Input{}); err != nil {
		t.Errorf("hook ready: %v", err)
	}
	calls, err := os.ReadFile(filepath.Join(dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := "hook config MODULE_NAME=demo\nhook run 0 MODULE_NAME=demo\nhook run 1 MODULE_NAME=demo\nhook ready MODULE_NAME=demo\n"
	if diff := cmp.Diff(wantCalls, string(calls)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestLoadBatchErrors(t *testing.T) {
	tests := []struct {
		name    string
		global  bool
		config  string
		wantErr string
	}{
		{name: "not a batch config", config: "configVersion: v1\nbeforeHelm: 1", wantErr: "want module-sdk's batch hook config JSON"},
		{name: "module binding in a global batch", global: true, config: batchConfig,
			wantErr: `entry 0 (global-hooks/batch:replicas:0): invalid hook config: binding "beforeHelm" is not allowed for a global hook`},
		{name: "bad crontab", config: `{"version":"v1","hooks":[{"configVersion":"v1","metadata":{"name":"x"},"schedule":[{"crontab":"soon"}]}]}`,
			wantErr: "entry 0 (010-demo/hooks/batch:x:0): invalid hook config: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := batchScript(t, dir, tt.config)
			src := Source{Name: "010-demo/hooks/batch", Path: path, Module: "demo", ValuesKey: "demo"}
			if tt.global {
				src = Source{Name: "global-hooks/batch", Path: path, ValuesKey: "global"}
			}
			_, err := loadBatch(context.Background(), newTestRunner(t, time.Minute, nil), src, path)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
			}
		})
	}
}

// IsBatch of a real batch binary is covered by the e2e test, which builds
// one (test/batchhook): a test binary records no dependencies, and building
// a module-sdk program here would take tens of seconds.
func TestIsBatchRefusesOthers(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"a Go program without module-sdk in its build info": self,
		"a script":       script(t, dir, "hooks/plain", "true\n"),
		"a missing file": filepath.Join(dir, "nope"),
	} {
		if IsBatch(path) {
			t.Errorf("IsBatch(%s) = true, want false", name)
		}
	}
}

func TestSDKError(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   string
		wantOK bool
	}{
		{name: "module-sdk error last", stderr: "{\"level\":\"error\",\"msg\":\"x\"}\n{\"message\":\"execute: boom\",\"code\":1}\n\n", want: "execute: boom", wantOK: true},
		{name: "log line last", stderr: "{\"message\":\"execute: boom\"}\n{\"level\":\"error\",\"msg\":\"x\"}", wantOK: false},
		{name: "plain text", stderr: "cannot reach api", wantOK: false},
		{name: "empty message", stderr: `{"message":""}`, wantOK: false},
		{name: "empty", stderr: "", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sdkError(tt.stderr)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("sdkError = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
