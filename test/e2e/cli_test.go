package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/test/process"
)

// echoToken is the echo module's x-secret config value, kept in the Secret
// addon-operator-secrets.
const echoToken = "e2e-t0ken-5ecr3t"

// runCLI runs the operator binary as the CLI, the way an admin does in the
// operator's container: the socket comes from ADDON_OPERATOR_DEBUG_SOCKET.
func runCLI(t *testing.T, socket string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), debug.SocketEnv+"="+socket)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// cliOK runs the CLI and fails the test unless it exits 0.
func cliOK(t *testing.T, socket string, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, socket, args...)
	if code != debug.ExitOK {
		t.Fatalf("%v: exit %d, stderr:\n%s", args, code, errOut)
	}
	return out
}

// moduleStatus returns a module's state as `module list -o json` shows it.
func moduleStatus(t *testing.T, socket, name string) debug.ModuleStatus {
	t.Helper()
	var mods []debug.ModuleStatus
	if err := json.Unmarshal([]byte(cliOK(t, socket, "module", "list", "-o", "json")), &mods); err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("module list has no %s: %+v", name, mods)
	return debug.ModuleStatus{}
}

// One operator on the test bundle with a secret config value, inspected
// through the CLI as an admin would.
func TestCLI(t *testing.T) {
	e := newEnv(t, testBundle, "--queue-min-backoff", "1s", "--queue-max-backoff", "2s")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator-secrets", Namespace: e.ns},
		Data:       map[string][]byte{"echo": []byte("token: " + echoToken + "\n")},
	}
	if _, err := e.client.CoreV1().Secrets(e.ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.start()
	socket := e.op.DebugSocket
	e.eventually(60*time.Second, func() string {
		if e.count("global afterAll") == 0 {
			return "the operator did not converge"
		}
		return ""
	})
	e.eventually(30*time.Second, func() string {
		if m := moduleStatus(t, socket, "echo"); m.Phase != "Ready" {
			return "echo is " + string(m.Phase)
		}
		return ""
	})

	t.Run("module list shows every module with its phase", func(t *testing.T) {
		out := cliOK(t, socket, "module", "list")
		for _, re := range []string{
			`^NAME\s+ENABLED\s+PHASE\s+REVISION\s+LAST RUN\s+MESSAGE$`,
			`^echo\s+true\s+Ready\s+1\s+\d+s ago$`,
			`^flaky\s+true\s+Ready\s+1\s`,
			`^legacy\s+true\s+Ready\s+1\s`,
			`^broken\s+false\s+Disabled\s+-\s`,
			`^spare\s+false\s+Disabled\s+-\s`,
		} {
			if !regexp.MustCompile("(?m)" + re).MatchString(out) {
				t.Errorf("module list has no line matching %s:\n%s", re, out)
			}
		}
	})

	t.Run("module values and config mask the x-secret field", func(t *testing.T) {
		for _, what := range []string{"values", "config"} {
			out := cliOK(t, socket, "module", what, "echo")
			if strings.Contains(out, echoToken) || !strings.Contains(out, "token: '***'") {
				t.Errorf("module %s echo does not mask the token:\n%s", what, out)
			}
			out = cliOK(t, socket, "module", what, "echo", "--show-secrets", "-o", "json")
			var doc struct {
				Echo map[string]any `json:"echo"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("module %s -o json: %v\n%s", what, err, out)
			}
			if doc.Echo["token"] != echoToken {
				t.Errorf("module %s echo --show-secrets: echo = %v, want the token", what, doc.Echo)
			}
			if what == "values" && doc.Echo["message"] != "hello" {
				t.Errorf("module values echo: echo = %v, want the message of the module's values.yaml", doc.Echo)
			}
		}
	})

	t.Run("module render hides the secret unless asked", func(t *testing.T) {
		out := cliOK(t, socket, "module", "render", "echo")
		b64 := base64.StdEncoding.EncodeToString([]byte(echoToken))
		if strings.Contains(out, echoToken) || strings.Contains(out, b64) {
			t.Errorf("the token is in the rendered manifest:\n%s", out)
		}
		for _, want := range []string{"kind: Deployment", "name: ECHO_TOKEN", "kind: Secret", "***"} {
			if !strings.Contains(out, want) {
				t.Errorf("rendered manifest lacks %q:\n%s", want, out)
			}
		}
		shown := cliOK(t, socket, "module", "render", "echo", "--show-secrets")
		if !hasLine(shown, "          value: "+echoToken) || !hasLine(shown, "  token: "+echoToken) {
			t.Errorf("--show-secrets does not show the token in the env var and the Secret:\n%s", shown)
		}
	})

	t.Run("module render --diff is empty in sync and shows a change not applied yet", func(t *testing.T) {
		out, errOut, code := runCLI(t, socket, "module", "render", "echo", "--diff")
		if code != debug.ExitOK || out != "" || errOut != "no changes: the rendered manifest equals revision 1 of the release\n" {
			t.Fatalf("in sync: exit %d, stdout %q, stderr %q", code, out, errOut)
		}

		// beforeHelm fails: the edit reaches the values, not the release.
		fail := filepath.Join(e.dir, "echo-fail")
		if err := os.WriteFile(fail, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.setConfig(map[string]string{"echo": "message: pending\n"})
		within(t, 30*time.Second, func() string {
			if m := moduleStatus(t, socket, "echo"); m.Phase != "Error" || !strings.Contains(m.Message, "the failure switch is on") {
				return fmt.Sprintf("echo is %s %q, want Error from beforeHelm", m.Phase, m.Message)
			}
			return ""
		})
		out = cliOK(t, socket, "module", "render", "echo", "--diff")
		for _, want := range []string{
			"--- echo revision 1 (deployed)", "+++ echo (rendered)",
			"-  message: hello", "+  message: pending",
			"-        echo/message: hello", "+        echo/message: pending",
		} {
			if !hasLine(out, want) {
				t.Errorf("diff has no line %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, echoToken) {
			t.Errorf("the diff shows the token:\n%s", out)
		}
		if got := e.configMapData(e.ns, "echo")["message"]; got != "hello" {
			t.Errorf("the echo ConfigMap says %q: the change was applied", got)
		}

		if err := os.Remove(fail); err != nil {
			t.Fatal(err)
		}
		within(t, 30*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["message"]; got != "pending" {
				return "echo ConfigMap message = " + got
			}
			return ""
		})
		within(t, 10*time.Second, func() string {
			out, errOut, _ := runCLI(t, socket, "module", "render", "echo", "--diff")
			if out != "" || errOut != "no changes: the rendered manifest equals revision 2 of the release\n" {
				return fmt.Sprintf("after the apply: stdout %q, stderr %q", out, errOut)
			}
			return ""
		})
	})

	t.Run("global values -o json parses", func(t *testing.T) {
		var doc struct {
			Global struct {
				ClusterName    string   `json:"clusterName"`
				EnabledModules []string `json:"enabledModules"`
			} `json:"global"`
		}
		out := cliOK(t, socket, "global", "values", "-o", "json")
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if doc.Global.ClusterName != "e2e" || strings.Join(doc.Global.EnabledModules, ",") != "echo,flaky,legacy" {
			t.Errorf("global values: %+v", doc.Global)
		}
	})

	t.Run("queue list and hook list", func(t *testing.T) {
		queues := cliOK(t, socket, "queue", "list")
		for _, re := range []string{`^QUEUE\s+ID\s+KIND\s+MODULE\s+HOOK\s+BINDING\s+ATTEMPTS\s+STATE\s+LAST ERROR$`, `^main\s`, `^ticks\s`} {
			if !regexp.MustCompile("(?m)" + re).MatchString(queues) {
				t.Errorf("queue list has no line matching %s:\n%s", re, queues)
			}
		}
		hooks := cliOK(t, socket, "hook", "list")
		for _, re := range []string{
			`^HOOK\s+MODULE\s+BINDINGS$`,
			`^\S*010-startup\.sh\s+\(global\)\s+onStartup\(10\)$`,
			`^\S*tick\.sh\s+echo\s+schedule:tick\(\*/2 \* \* \* \* \*, queue=ticks\)$`,
			`^\S*watch\.sh\s+echo\s+kubernetes:sized\(ConfigMap, queue=watch\)$`,
		} {
			if !regexp.MustCompile("(?m)" + re).MatchString(hooks) {
				t.Errorf("hook list has no line matching %s:\n%s", re, hooks)
			}
		}
	})

	t.Run("an unknown module is an error that names the known ones", func(t *testing.T) {
		for _, args := range [][]string{{"module", "values", "nope"}, {"module", "render", "nope", "--diff"}} {
			out, errOut, code := runCLI(t, socket, args...)
			want := "error: module \"nope\" is not in the bundle; known modules: echo, flaky, legacy, broken, spare\n"
			if code != debug.ExitFailed || out != "" || errOut != want {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", args, code, out, errOut, debug.ExitFailed, want)
			}
		}
	})

	t.Run("releases without a channel", func(t *testing.T) {
		if out := cliOK(t, socket, "release", "list"); out != "NAME  VERSION  CHANNEL  PHASE  AGE  MESSAGE\n" {
			t.Errorf("release list: %q, want the header only", out)
		}
		out, errOut, code := runCLI(t, socket, "release", "approve", "v1.0.0")
		if code != debug.ExitFailed || out != "" || !strings.HasPrefix(errOut, `error: no release of version "v1.0.0" belongs to this operator; it has no releases yet`) {
			t.Errorf("release approve: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("no operator at the socket", func(t *testing.T) {
		dir, err := os.MkdirTemp("", "cli")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		none := filepath.Join(dir, "debug.socket")
		out, errOut, code := runCLI(t, none, "module", "list")
		want := "addon-operator is not running or not reachable at " + none + ": connect: no such file or directory\n"
		if code != debug.ExitUsage || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, debug.ExitUsage, want)
		}
	})
}

// A Manual-mode release is approved with the CLI and applied at once, long
// before the next poll of the channel.
func TestCLIReleaseApprove(t *testing.T) {
	u := newUpdaterEnv(t)
	u.push("v1.0.0", "stable", demoModule("v1", "")...)
	u.setOperator(fmt.Sprintf("releaseChannel: stable\nsource: %s\nregistry: {secret: registry-login}\nupdate:\n  mode: Manual\n  pollInterval: 1h\n", u.repo))
	u.start()
	socket := u.op.DebugSocket
	u.waitRelease("v1.0.0", updater.PhasePending, "waiting for approval", 30*time.Second)
	name := u.releases()["v1.0.0"].Name

	out := cliOK(t, socket, "release", "list")
	if re := `(?m)^` + regexp.QuoteMeta(name) + `\s+v1\.0\.0\s+stable\s+Pending\s+\d+s\s+waiting for approval`; !regexp.MustCompile(re).MatchString(out) {
		t.Errorf("release list has no Pending v1.0.0:\n%s", out)
	}
	var listed []debug.Release
	if err := json.Unmarshal([]byte(cliOK(t, socket, "release", "list", "-o", "json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Name != name || listed[0].Approved {
		t.Errorf("release list -o json: %+v", listed)
	}

	out, errOut, code := runCLI(t, socket, "release", "approve", "v9.9.9")
	if code != debug.ExitFailed || out != "" || errOut != "error: no release of version \"v9.9.9\" belongs to this operator; its releases: v1.0.0 (Pending)\n" {
		t.Errorf("approve an unknown version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	approved := time.Now()
	out = cliOK(t, socket, "release", "approve", "v1.0.0", "--reason", "e2e: planned upgrade")
	if !strings.HasPrefix(out, "release "+name+" (v1.0.0) approved\nit was pending: waiting for approval") {
		t.Errorf("release approve printed:\n%s", out)
	}
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
	u.waitDemo("v1", 10*time.Second)
	if d := time.Since(approved); d > 20*time.Second {
		t.Errorf("the approved release took %s to deploy", d)
	}
	if rel := u.releases()["v1.0.0"]; !rel.Approved {
		t.Error("the Release object does not carry the approval annotation")
	} else if by := rel.Approval.By; !strings.HasPrefix(by, fmt.Sprintf("uid %d pid ", os.Getuid())) && !strings.Contains(by, fmt.Sprintf("(uid %d) pid ", os.Getuid())) ||
		!strings.HasSuffix(by, " over the debug socket") || rel.Approval.Reason != "e2e: planned upgrade" || !strings.Contains(out, "recorded as approved by "+by+"\n") {
		t.Errorf("approval recorded as %+v; the CLI printed:\n%s", rel.Approval, out)
	} else if audit := fmt.Sprintf("msg=\"release approved over the debug socket\" release=%s approved_by=%q reason=\"e2e: planned upgrade\"", name, by); !strings.Contains(u.op.Logs(), audit) {
		t.Errorf("no audit line %s in the operator's log:\n%s", audit, u.op.Tail(20))
	}
	if re := `(?m)^` + regexp.QuoteMeta(name) + `\s+v1\.0\.0\s+stable\s+Deployed\s+\d+s$`; !regexp.MustCompile(re).MatchString(cliOK(t, socket, "release", "list")) {
		t.Errorf("release list does not show v1.0.0 Deployed")
	}

	out, errOut, code = runCLI(t, socket, "release", "approve", "v1.0.0")
	want := "error: release v1.0.0 is not Pending (" + name + " is Deployed): only a Pending release can be approved\n"
	if code != debug.ExitFailed || out != "" || errOut != want {
		t.Errorf("approve a deployed release: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
}

// In an HA pair only the leader answers; the follower says so.
func TestCLIFollower(t *testing.T) {
	e := newEnv(t, testBundle)
	start := func() *process.Operator {
		return process.Start(t, process.Options{
			Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
			Env:  []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir},
			Args: []string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms"},
		})
	}
	leader := start()
	leader.WaitReady(t, 60*time.Second)
	follower := start()
	follower.WaitReady(t, 30*time.Second)
	follower.WaitLog(t, "following", 10*time.Second)

	for _, args := range [][]string{{"module", "list"}, {"release", "list"}} {
		cliOK(t, leader.DebugSocket, args...)
		out, errOut, code := runCLI(t, follower.DebugSocket, args...)
		if code != debug.ExitFailed || out != "" || !strings.HasPrefix(errOut, "error: this replica is not the leader") {
			t.Errorf("follower %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// within polls cond until it returns "" or the timeout passes, failing t
// with cond's last message. Unlike env.eventually it fails the (sub)test it
// is given.
func within(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
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
