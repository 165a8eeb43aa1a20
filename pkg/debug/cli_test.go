package debug_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/helm"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestCLITextOutput(t *testing.T) {
	fx := newFixture(t)
	src := fx.sources()
	_, socket := startServer(t, &src)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "module list",
			args: []string{"module", "list"},
			want: `NAME          ENABLED  PHASE  REVISION  LAST RUN  MESSAGE
echo-server   true     Ready  3         5m ago
plain-module  true     Error  -         90m ago   hook 020-plain-module/hooks/check.sh: exit status 1 stderr: boom
`,
		},
		{
			name: "module values, yaml by default, secrets masked in both sections",
			args: []string{"module", "values", "echo-server"},
			want: `echoServer:
  auth:
    password: '***'
    user: admin
  internal:
    token: '***'
  replicas: 2
  tls: '***'
global:
  clusterName: test-cluster
  enabledModules:
  - echo-server
  - plain-module
  registry:
    host: registry.example.com
    password: '***'
`,
		},
		{
			name: "module config as json, flags before the name",
			args: []string{"module", "config", "-o", "json", "echo-server"},
			want: `{
  "echoServer": {
    "auth": {
      "password": "***",
      "user": "admin"
    },
    "replicas": 2,
    "tls": "***"
  },
  "global": {
    "registry": {
      "host": "registry.example.com",
      "password": "***"
    }
  }
}
`,
		},
		{
			name: "module values of a module without secrets",
			args: []string{"module", "values", "plain-module", "--output", "yaml"},
			want: `global:
  clusterName: test-cluster
  enabledModules:
  - echo-server
  - plain-module
  registry:
    host: registry.example.com
    password: '***'
plainModule:
  level: info
`,
		},
		{
			name: "global values",
			args: []string{"global", "values"},
			want: `global:
  clusterName: test-cluster
  enabledModules:
  - echo-server
  - plain-module
  registry:
    host: registry.example.com
    password: '***'
`,
		},
		{
			name: "global config as json",
			args: []string{"global", "config", "-o", "json"},
			want: `{
  "global": {
    "registry": {
      "host": "registry.example.com",
      "password": "***"
    }
  }
}
`,
		},
		{
			name: "module render masks secret values and Secret data",
			args: []string{"module", "render", "echo-server"},
			want: `---
# Source: echo-server/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: echo-config
data:
  cluster: test-cluster
  replicas: "2"
  token: ***
  token-b64: ***
---
# Source: echo-server/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: echo-auth
type: Opaque
data:
  user: ***
  password: ***
`,
		},
		{
			name: "queue list",
			args: []string{"queue", "list"},
			want: `QUEUE  ID  KIND       MODULE       HOOK                           BINDING       ATTEMPTS  STATE         LAST ERROR
echo   -   -          -            -                              -             -         empty
main   7   ModuleRun  echo-server  -                              -             3         retry in 10m  helm: upgrade "echo-server": timed out
main   9   HookRun    echo-server  010-echo-server/hooks/pods.sh  pods          0         waiting
hooks  8   HookRun    -            global-hooks/discovery.sh      every-minute  1         running
`,
		},
		{
			name: "hook list",
			args: []string{"hook", "list"},
			want: `HOOK                           MODULE       BINDINGS
global-hooks/discovery.sh      (global)     onStartup(10), beforeAll(5), schedule:every-minute(* * * * *)
010-echo-server/hooks/pods.sh  echo-server  beforeHelm(1), kubernetes:pods(Pod, queue=echo)
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := cli(socket, tt.args...)
			if code != debug.ExitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCLIStructuredOutput(t *testing.T) {
	fx := newFixture(t)
	src := fx.sources()
	_, socket := startServer(t, &src)

	order10, order5, order1 := 10.0, 5.0, 1.0
	lastRun := fx.lastRun
	plainRun := fx.lastRun.Add(-85 * time.Minute)
	retryAt := fx.retryAt
	wantModules := []debug.ModuleStatus{
		{Name: "echo-server", Enabled: true, EnabledByConfig: true, Phase: "Ready", Revision: 3, LastRun: &lastRun},
		{Name: "plain-module", Enabled: true, EnabledByConfig: true, Phase: "Error", LastRun: &plainRun, FailedStep: "hooks", Failures: 2,
			Message: "hook 020-plain-module/hooks/check.sh: exit status 1\nstderr: boom"},
	}
	wantQueues := []debug.Queue{
		{Name: "echo", Tasks: []debug.Task{}},
		{Name: "main", Tasks: []debug.Task{
			{ID: 7, Kind: "ModuleRun", Attrs: map[string]string{"module": "echo-server"}, Attempts: 3, LastError: "helm: upgrade \"echo-server\":\ntimed out", RetryAt: &retryAt, QueuedAt: lastRun},
			{ID: 9, Kind: "HookRun", Attrs: map[string]string{"module": "echo-server", "hook": "010-echo-server/hooks/pods.sh", "binding": "pods"}, QueuedAt: lastRun},
		}},
		{Name: "hooks", Tasks: []debug.Task{
			{ID: 8, Kind: "HookRun", Attrs: map[string]string{"hook": "global-hooks/discovery.sh", "binding": "every-minute"}, Attempts: 1, Running: true, QueuedAt: lastRun},
		}},
	}
	wantHooks := []debug.Hook{
		{Name: "global-hooks/discovery.sh", Bindings: []debug.HookBinding{
			{Type: "onStartup", Order: &order10},
			{Type: "beforeAll", Order: &order5},
			{Type: "schedule", Name: "every-minute", Crontab: "* * * * *", Queue: "main"},
		}},
		{Name: "010-echo-server/hooks/pods.sh", Module: "echo-server", Bindings: []debug.HookBinding{
			{Type: "beforeHelm", Order: &order1},
			{Type: "kubernetes", Name: "pods", APIVersion: "v1", Kind: "Pod", Queue: "echo"},
		}},
	}

	tests := []struct {
		args   []string
		decode func(t *testing.T, unmarshal func([]byte, any) error, out string)
	}{
		{args: []string{"module", "list"}, decode: expect(wantModules)},
		{args: []string{"queue", "list"}, decode: expect(wantQueues)},
		{args: []string{"hook", "list"}, decode: expect(wantHooks)},
	}
	formats := map[string]func([]byte, any) error{
		"json": json.Unmarshal,
		"yaml": func(data []byte, v any) error { return yaml.UnmarshalStrict(data, v) },
	}
	for _, tt := range tests {
		for format, unmarshal := range formats {
			t.Run(strings.Join(tt.args, " ")+" -o "+format, func(t *testing.T) {
				out, errOut, code := cli(socket, append(tt.args, "-o", format)...)
				if code != debug.ExitOK {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				if format == "json" && !json.Valid([]byte(out)) {
					t.Fatalf("not JSON:\n%s", out)
				}
				if format == "yaml" && strings.HasPrefix(strings.TrimSpace(out), "[") {
					t.Fatalf("JSON instead of YAML:\n%s", out)
				}
				tt.decode(t, unmarshal, out)
			})
		}
	}
}

// expect decodes the output into a value of want's type and compares.
func expect[T any](want T) func(t *testing.T, unmarshal func([]byte, any) error, out string) {
	return func(t *testing.T, unmarshal func([]byte, any) error, out string) {
		t.Helper()
		var got T
		if err := unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("output (-want +got):\n%s", diff)
		}
	}
}

func TestSecretsMasking(t *testing.T) {
	fx := newFixture(t)
	old, err := renderChart("echo-server", fx.conv.bundle.Modules[0].Dir, replaceSecret(t, fx, oldPassword))
	if err != nil {
		t.Fatal(err)
	}
	fx.charts.releases["echo-server"] = helm.Release{Name: "echo-server", Revision: 3, Status: "deployed", Manifest: old}
	src := fx.sources()
	_, socket := startServer(t, &src)

	secrets := []string{modulePassword, b64(modulePassword), moduleToken, b64(moduleToken), registryPassword, oldPassword, b64(oldPassword), "MIIEvQIBADANBg", b64("admin")}
	tests := []struct {
		args []string
		// shown are the secrets --show-secrets reveals.
		shown []string
	}{
		{args: []string{"module", "values", "echo-server"}, shown: []string{modulePassword, moduleToken, registryPassword, "MIIEvQIBADANBg"}},
		{args: []string{"module", "values", "echo-server", "-o", "json"}, shown: []string{modulePassword, moduleToken, registryPassword, "MIIEvQIBADANBg"}},
		{args: []string{"module", "config", "echo-server"}, shown: []string{modulePassword, registryPassword, "MIIEvQIBADANBg"}},
		{args: []string{"global", "values"}, shown: []string{registryPassword}},
		{args: []string{"global", "config", "-o", "json"}, shown: []string{registryPassword}},
		{args: []string{"module", "render", "echo-server"}, shown: []string{b64(modulePassword), moduleToken, b64("admin")}},
		{args: []string{"module", "render", "echo-server", "--diff"}, shown: []string{b64(modulePassword), b64(oldPassword)}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := cli(socket, tt.args...)
			if code != debug.ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("secret %q printed without --show-secrets:\n%s", s, out)
				}
			}
			if !strings.Contains(out, debug.Mask) {
				t.Errorf("no %s in the output:\n%s", debug.Mask, out)
			}

			out, errOut, code = cli(socket, append(tt.args, "--show-secrets")...)
			if code != debug.ExitOK {
				t.Fatalf("--show-secrets: exit %d, stderr %q", code, errOut)
			}
			for _, s := range tt.shown {
				if !strings.Contains(out, s) {
					t.Errorf("--show-secrets does not show %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, debug.Mask) {
				t.Errorf("--show-secrets still masks:\n%s", out)
			}
		})
	}
}

func TestListsMaskSecretsInMessages(t *testing.T) {
	fx := newFixture(t)
	fx.conv.statuses[1].Message = "hook check.sh: exit code 1: login with " + modulePassword + " failed"
	fx.queues.queues[1].Tasks[0].LastError = fmt.Errorf("pull from registry with %s: denied", registryPassword)
	src := fx.sources()
	_, socket := startServer(t, &src)

	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"module", "list"}, want: "hook check.sh: exit code 1: login with *** failed"},
		{args: []string{"module", "list", "-o", "json"}, want: "hook check.sh: exit code 1: login with *** failed"},
		{args: []string{"queue", "list"}, want: "pull from registry with ***: denied"},
		{args: []string{"queue", "list", "-o", "yaml"}, want: "pull from registry with ***: denied"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := cli(socket, tt.args...)
			if code != debug.ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output does not contain %q:\n%s", tt.want, out)
			}
			for _, s := range []string{modulePassword, registryPassword} {
				if strings.Contains(out, s) {
					t.Errorf("secret %q printed:\n%s", s, out)
				}
			}
		})
	}
}

// replaceSecret returns the echo-server values with another password and a
// single replica: what an older revision was deployed with.
func replaceSecret(t *testing.T, fx *fixture, password string) map[string]any {
	t.Helper()
	vals, _, err := fx.conv.ModuleValues("echo-server")
	if err != nil {
		t.Fatal(err)
	}
	echo := vals["echoServer"].(map[string]any)
	echo["auth"].(map[string]any)["password"] = password
	echo["replicas"] = 1
	return vals
}

func TestRenderDiff(t *testing.T) {
	fx := newFixture(t)
	old, err := renderChart("echo-server", fx.conv.bundle.Modules[0].Dir, replaceSecret(t, fx, oldPassword))
	if err != nil {
		t.Fatal(err)
	}
	current, err := renderChart("echo-server", fx.conv.bundle.Modules[0].Dir, fx.conv.vals["echo-server"])
	if err != nil {
		t.Fatal(err)
	}
	allAdded := "--- echo-server (no release)\n+++ echo-server (rendered)\n@@ -0,0 +1,21 @@\n"
	for line := range strings.Lines(current) {
		allAdded += "+" + line
	}
	allAdded = strings.NewReplacer(moduleToken, "***", b64(moduleToken), "***", b64(modulePassword), "***", b64("admin"), "***").Replace(allAdded)

	tests := []struct {
		name       string
		release    *helm.Release
		args       []string
		wantOut    string
		wantStderr string
	}{
		{
			name:    "against an older revision",
			release: &helm.Release{Name: "echo-server", Revision: 3, Status: "deployed", Manifest: old},
			wantOut: `--- echo-server revision 3 (deployed)
+++ echo-server (rendered)
@@ -6,7 +6,7 @@
   name: echo-config
 data:
   cluster: test-cluster
-  replicas: "1"
+  replicas: "2"
   token: ***
   token-b64: ***
 ---
@@ -18,4 +18,4 @@
 type: Opaque
 data:
   user: ***
-  password: ***
+  password: ***
`,
		},
		{
			name:    "with secrets shown",
			release: &helm.Release{Name: "echo-server", Revision: 3, Status: "deployed", Manifest: old},
			args:    []string{"--show-secrets"},
			wantOut: `--- echo-server revision 3 (deployed)
+++ echo-server (rendered)
@@ -6,7 +6,7 @@
   name: echo-config
 data:
   cluster: test-cluster
-  replicas: "1"
+  replicas: "2"
   token: ` + moduleToken + `
   token-b64: ` + b64(moduleToken) + `
 ---
@@ -18,4 +18,4 @@
 type: Opaque
 data:
   user: ` + b64("admin") + `
-  password: ` + b64(oldPassword) + `
+  password: ` + b64(modulePassword) + `
`,
		},
		{
			name:    "no release: everything is added",
			wantOut: allAdded,
		},
		{
			name:       "up to date",
			release:    &helm.Release{Name: "echo-server", Revision: 4, Status: "deployed", Manifest: current},
			wantStderr: "no changes: the rendered manifest equals revision 4 of the release\n",
		},
		{
			name:    "uninstalled release: everything is added",
			release: &helm.Release{Name: "echo-server", Revision: 5, Status: "uninstalled", Manifest: current},
			wantOut: strings.Replace(allAdded, "--- echo-server (no release)", "--- echo-server revision 5 (uninstalled)", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			if tt.release != nil {
				fx.charts.releases["echo-server"] = *tt.release
			}
			src := fx.sources()
			_, socket := startServer(t, &src)
			out, errOut, code := cli(socket, append([]string{"module", "render", "echo-server", "--diff"}, tt.args...)...)
			if code != debug.ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderUsesTheModuleValues(t *testing.T) {
	fx := newFixture(t)
	src := fx.sources()
	_, socket := startServer(t, &src)
	if _, errOut, code := cli(socket, "module", "render", "echo-server"); code != debug.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want, _, _ := fx.conv.ModuleValues("echo-server")
	fx.charts.mu.Lock()
	defer fx.charts.mu.Unlock()
	if len(fx.charts.rendered) != 1 {
		t.Fatalf("rendered %d times, want 1", len(fx.charts.rendered))
	}
	if diff := cmp.Diff(want, fx.charts.rendered[0]); diff != "" {
		t.Errorf("values given to Render (-want +got):\n%s", diff)
	}
}

func TestCLIErrors(t *testing.T) {
	tests := []struct {
		name       string
		renderErr  error
		args       []string
		wantCode   int
		wantStderr string
	}{
		{
			name:       "unknown module",
			args:       []string{"module", "values", "nope"},
			wantCode:   debug.ExitFailed,
			wantStderr: "error: module \"nope\" is not in the bundle; known modules: echo-server, plain-module\n",
		},
		{
			name:       "unknown module in render",
			args:       []string{"module", "render", "nope", "--diff"},
			wantCode:   debug.ExitFailed,
			wantStderr: "error: module \"nope\" is not in the bundle; known modules: echo-server, plain-module\n",
		},
		{
			name:       "values key instead of the name",
			args:       []string{"module", "config", "echoServer"},
			wantCode:   debug.ExitFailed,
			wantStderr: "error: module \"echoServer\" is not in the bundle (\"echoServer\" is the values key of module \"echo-server\"; commands take the module name); known modules: echo-server, plain-module\n",
		},
		{
			name:       "module without a chart",
			args:       []string{"module", "render", "plain-module"},
			wantCode:   debug.ExitFailed,
			wantStderr: "error: module \"plain-module\" installs no Helm release (it has no templates/ directory and no dependencies other than libraries, or its chart is a library chart): there is nothing to render\n",
		},
		{
			name:       "chart does not render, secret in Helm's message masked",
			renderErr:  fmt.Errorf("render release %q: %w: template: echo-server/templates/secret.yaml:8:3: bad value %q", "echo-server", helm.ErrRender, modulePassword),
			args:       []string{"module", "render", "echo-server"},
			wantCode:   debug.ExitFailed,
			wantStderr: "error: render release \"echo-server\": chart does not render: template: echo-server/templates/secret.yaml:8:3: bad value \"***\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			fx.charts.renderErr = tt.renderErr
			src := fx.sources()
			_, socket := startServer(t, &src)
			out, errOut, code := cli(socket, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if diff := cmp.Diff(tt.wantStderr, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCLIUsage(t *testing.T) {
	// Should a case reach the operator, it finds none.
	t.Setenv(debug.SocketEnv, filepath.Join(shortTempDir(t), "none.socket"))
	tests := []struct {
		args       []string
		wantCode   int
		wantStderr string // a line of stderr
		wantStdout string // a line of stdout
	}{
		{args: []string{"module"}, wantCode: debug.ExitUsage, wantStderr: `error: "module" needs a command`},
		{args: []string{"module", "frob"}, wantCode: debug.ExitUsage, wantStderr: `error: unknown command "module frob"`},
		{args: []string{"module", "values"}, wantCode: debug.ExitUsage, wantStderr: "error: module values needs NAME"},
		{args: []string{"module", "render", "a", "b"}, wantCode: debug.ExitUsage, wantStderr: `error: unexpected argument "b"`},
		{args: []string{"module", "list", "-o", "xml"}, wantCode: debug.ExitUsage, wantStderr: `error: output format "xml": want table, json, yaml`},
		{args: []string{"module", "render", "echo", "-o", "json"}, wantCode: debug.ExitUsage, wantStderr: "flag provided but not defined: -o"},
		{args: []string{"queue", "list", "--show-secrets"}, wantCode: debug.ExitUsage, wantStderr: "flag provided but not defined: -show-secrets"},
		{args: []string{"module", "list", "--debug-socket", ""}, wantCode: debug.ExitUsage, wantStderr: "error: --debug-socket is empty"},
		{args: []string{"module", "values", "-h"}, wantCode: debug.ExitOK, wantStderr: "Usage: addon-operator module values NAME [-o yaml|json] [--show-secrets] [flags]"},
		{args: []string{"module", "help"}, wantCode: debug.ExitOK, wantStdout: "  module render NAME [--diff] [--show-secrets]         the manifests Helm would apply with the current values, without applying them"},
		{args: []string{"release"}, wantCode: debug.ExitUsage, wantStderr: `error: "release" needs a command`},
		{args: []string{"release", "approve"}, wantCode: debug.ExitUsage, wantStderr: "error: release approve needs VERSION"},
		{args: []string{"release", "approve", "v1", "-o", "json"}, wantCode: debug.ExitUsage, wantStderr: "flag provided but not defined: -o"},
		{args: []string{"frob"}, wantCode: debug.ExitUsage, wantStderr: "Usage: addon-operator COMMAND [flags]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			code := debug.RunCLI(tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut.String())
			}
			if tt.wantStderr != "" && !hasLine(errOut.String(), tt.wantStderr) {
				t.Errorf("stderr has no line %q:\n%s", tt.wantStderr, errOut.String())
			}
			if tt.wantStdout != "" && !hasLine(out.String(), tt.wantStdout) {
				t.Errorf("stdout has no line %q:\n%s", tt.wantStdout, out.String())
			}
			if strings.Contains(errOut.String(), "not running") {
				t.Errorf("bad usage contacted the operator:\n%s", errOut.String())
			}
		})
	}
}

func hasLine(text, line string) bool {
	for l := range strings.Lines(text) {
		if strings.TrimRight(l, "\n") == line {
			return true
		}
	}
	return false
}

func TestIsCommand(t *testing.T) {
	for arg, want := range map[string]bool{
		"module": true, "global": true, "queue": true, "hook": true, "release": true,
		"start": false, "--namespace": false, "-h": false, "bundle": false, "": false,
	} {
		if got := debug.IsCommand(arg); got != want {
			t.Errorf("IsCommand(%q) = %v, want %v", arg, got, want)
		}
	}
}

func TestCLIOperatorNotRunning(t *testing.T) {
	dir := shortTempDir(t)
	stale := filepath.Join(dir, "stale.socket")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()

	// An operator that ran and stopped.
	stopped := filepath.Join(dir, "stopped.socket")
	fx := newFixture(t)
	srv := debug.NewServer(debug.Config{Socket: stopped}, slog.New(slog.DiscardHandler))
	srv.Lead(fx.sources())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	waitSocket(t, stopped, done)
	if _, errOut, code := cli(stopped, "module", "list"); code != debug.ExitOK {
		t.Fatalf("running operator: exit %d, stderr %q", code, errOut)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}

	tests := []struct {
		name   string
		socket string
		cause  string
	}{
		{name: "no socket file", socket: filepath.Join(dir, "missing.socket"), cause: "connect: no such file or directory"},
		{name: "stale socket file", socket: stale, cause: "connect: connection refused"},
		{name: "operator stopped", socket: stopped, cause: "connect: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range [][]string{{"module", "list"}, {"module", "values", "echo-server"}, {"module", "render", "echo-server", "--diff"}, {"queue", "list", "-o", "json"}} {
				out, errOut, code := cli(tt.socket, args...)
				if code != debug.ExitUsage {
					t.Errorf("%v: exit %d, want %d", args, code, debug.ExitUsage)
				}
				want := fmt.Sprintf("addon-operator is not running or not reachable at %s: %s\n", tt.socket, tt.cause)
				if diff := cmp.Diff(want, errOut); diff != "" {
					t.Errorf("%v: stderr (-want +got):\n%s", args, diff)
				}
				if out != "" {
					t.Errorf("%v: stdout %q, want nothing", args, out)
				}
			}
		})
	}
}

func TestCLIFindsTheSocketThroughTheEnvironment(t *testing.T) {
	fx := newFixture(t)
	src := fx.sources()
	_, socket := startServer(t, &src)
	t.Setenv(debug.SocketEnv, socket)
	var out, errOut strings.Builder
	if code := debug.RunCLI([]string{"hook", "list", "-o", "json"}, &out, &errOut); code != debug.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !json.Valid([]byte(out.String())) {
		t.Errorf("not JSON: %s", out.String())
	}
}

func TestFollowerAnswersNotLeader(t *testing.T) {
	fx := newFixture(t)
	srv, socket := startServer(t, nil)
	const notLeader = "error: this replica is not the leader: only the leader runs the modules and can answer (or the operator is still starting); ask the replica that holds the lease\n"

	steps := []struct {
		name     string
		change   func()
		wantCode int
	}{
		{name: "before leading", change: func() {}, wantCode: debug.ExitFailed},
		{name: "leading", change: func() { srv.Lead(fx.sources()) }, wantCode: debug.ExitOK},
		{name: "following again", change: srv.Follow, wantCode: debug.ExitFailed},
	}
	for _, st := range steps {
		st.change()
		for _, args := range [][]string{{"module", "list"}, {"global", "values"}, {"module", "render", "echo-server"}, {"queue", "list"}, {"hook", "list"}, {"release", "list"}, {"release", "approve", "v1.2.0"}} {
			_, errOut, code := cli(socket, args...)
			if code != st.wantCode {
				t.Errorf("%s: %v: exit %d, want %d (stderr %q)", st.name, args, code, st.wantCode, errOut)
			}
			if st.wantCode == debug.ExitFailed && errOut != notLeader {
				t.Errorf("%s: %v: stderr %q, want %q", st.name, args, errOut, notLeader)
			}
		}
	}
}
