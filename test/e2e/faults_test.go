package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/test/process"
)

// Killing the operator (SIGKILL) in the middle of upgrades and starting it
// again leaves every release deployed with the last configuration.
func TestKillDuringUpgrade(t *testing.T) {
	e := newEnv(t, testBundle)
	e.start()
	for i := range 4 {
		msg := fmt.Sprintf("kill-%d", i)
		e.setConfig(map[string]string{"echo": "message: " + msg + "\n"})
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		e.op.Kill()
		e.start()
		e.eventually(20*time.Second, func() string {
			rev, status := e.revision("echo")
			if status != "deployed" {
				return fmt.Sprintf("echo release revision %d is %q after a restart", rev, status)
			}
			if got := e.configMapData(e.ns, "echo")["message"]; got != msg {
				return "echo message = " + got + ", want " + msg
			}
			return ""
		})
	}
}

// A restart with nothing changed makes no new Helm revision.
func TestWarmRestartIsQuiet(t *testing.T) {
	e := newEnv(t, testBundle)
	e.start()
	before := map[string]int{}
	for _, r := range []string{"echo", "flaky", "legacy"} {
		before[r], _ = e.revision(r)
	}
	e.op.Stop(t)
	e.start()
	for r, rev := range before {
		if got, status := e.revision(r); got != rev || status != "deployed" {
			t.Errorf("%s: revision %d %s after a warm restart, want %d deployed", r, got, status, rev)
		}
	}
}

const noop = "#!/usr/bin/env bash\nif [[ \"${1:-}\" == \"--config\" ]]; then echo '%s'; exit 0; fi\n%s\n"

func hookScript(path, config, body string) moduletest.File {
	return moduletest.Script(path, fmt.Sprintf(noop, config, body))
}

const cmTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  namespace: {{ .Release.Namespace }}
data:
  value: {{ .Values.%s.value | default "none" | quote }}
`

// Hooks that misbehave fail their own module only: a hook that never exits
// is killed at the timeout, a hook that writes garbage into its patch file
// fails with the file named and changes nothing, a Kubernetes patch of a
// missing object fails naming the object. A healthy module converges.
func TestMisbehavingHooks(t *testing.T) {
	bundle := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "healthyEnabled: true\nhangEnabled: true\ngarbageEnabled: true\nghostEnabled: true\n"),
		moduletest.Text("modules/010-healthy/templates/cm.yaml", fmt.Sprintf(cmTemplate, "healthy", "healthy")),
		moduletest.Text("modules/020-hang/templates/cm.yaml", fmt.Sprintf(cmTemplate, "hang", "hang")),
		hookScript("modules/020-hang/hooks/hang.sh", `{"configVersion":"v1","beforeHelm":1}`, "sleep 600"),
		moduletest.Text("modules/030-garbage/templates/cm.yaml", fmt.Sprintf(cmTemplate, "garbage", "garbage")),
		hookScript("modules/030-garbage/hooks/garbage.sh", `{"configVersion":"v1","beforeHelm":1}`, `echo 'this is not a patch' > "$VALUES_JSON_PATCH_PATH"`),
		moduletest.Text("modules/040-ghost/templates/cm.yaml", fmt.Sprintf(cmTemplate, "ghost", "ghost")),
		hookScript("modules/040-ghost/hooks/ghost.sh", `{"configVersion":"v1","beforeHelm":1}`,
			`echo '[{"op":"add","path":"/ghost/value","value":"patched"}]' > "$VALUES_JSON_PATCH_PATH"
echo '{"operation":"MergePatch","apiVersion":"v1","kind":"ConfigMap","namespace":"default","name":"no-such-object","mergePatch":{"data":{"a":"b"}}}' > "$KUBERNETES_PATCH_PATH"`),
	)
	e := newEnv(t, bundle, "--hook-timeout", "2s")
	start := time.Now()
	e.start()
	if got := e.configMapData(e.ns, "healthy"); got == nil {
		t.Fatalf("the healthy module was not deployed")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("ready after %s: a hanging hook held the converge", d)
	}
	logs := e.op.Logs()
	for _, want := range []string{
		"020-hang/hooks/hang.sh (beforeHelm): hook timed out after 2s",
		"030-garbage/hooks/garbage.sh (beforeHelm): hook wrote an invalid result file: VALUES_JSON_PATCH_PATH",
		"no-such-object",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	for _, name := range []string{"hang", "garbage", "ghost"} {
		if e.configMapData(e.ns, name) != nil {
			t.Errorf("module %s was deployed although its hook failed", name)
		}
	}
}

// A hook whose --config is invalid stops the start with an error naming the
// hook file.
func TestInvalidHookConfig(t *testing.T) {
	bundle := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "badEnabled: true\n"),
		hookScript("modules/010-bad/hooks/bad.sh", `{"configVersion":"v1","beforeLunch":1}`, ""),
	)
	e := newEnv(t, bundle)
	op := process.Start(t, process.Options{Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: bundle})
	err, exited := op.Wait(30 * time.Second)
	if !exited {
		t.Fatalf("the operator kept running with an invalid hook config")
	}
	if err == nil {
		t.Errorf("the operator exited 0")
	}
	if logs := op.Logs(); !strings.Contains(logs, "modules/010-bad/hooks/bad.sh") || !strings.Contains(logs, `unknown binding \"beforeLunch\"`) {
		t.Errorf("the error does not name the hook file and the binding:\n%s", op.Tail(20))
	}
}
