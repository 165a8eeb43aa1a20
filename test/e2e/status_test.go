package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/test/cluster"
)

// statusNode is the fake node the status tests' workloads run on.
var statusNode = cluster.Node{Name: "status-e2e-pool", Labels: map[string]string{"status-e2e": "pool"}}

// webDeployment is a Deployment whose nodeSelector comes from the
// configuration: the default runs it on statusNode, another value leaves
// its pods unschedulable.
const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: status-web
  namespace: {{ .Release.Namespace }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: status-web}
  template:
    metadata:
      labels: {app: status-web}
    spec:
      nodeSelector:
        {{- toYaml .Values.statusWeb.nodeSelector | nindent 8 }}
      containers:
        - name: web
          image: registry.example/web:1.0
`

// statusBundle has a module with a Deployment (status-web), one with a hook
// that fails while $E2E_DIR/hooked-fail exists (status-hooked), a disabled
// one (status-off) and a plain one (status-gone).
func statusBundle(t *testing.T) string {
	return moduletest.Bundle(t,
		moduletest.Text("values.yaml", "statusWebEnabled: true\nstatusHookedEnabled: true\nstatusOffEnabled: false\nstatusGoneEnabled: true\n"),
		moduletest.Text("modules/010-status-web/values.yaml", "nodeSelector:\n  status-e2e: pool\n"),
		moduletest.Text("modules/010-status-web/templates/deployment.yaml", webDeployment),
		moduletest.Text("modules/020-status-hooked/templates/cm.yaml", fmt.Sprintf(cmTemplate, "status-hooked", "statusHooked")),
		hookScript("modules/020-status-hooked/hooks/check.sh", `{"configVersion":"v1","beforeHelm":1}`,
			`if [[ -e "$E2E_DIR/hooked-fail" ]]; then echo "the failure switch is on" >&2; exit 1; fi`),
		moduletest.Text("modules/030-status-off/templates/cm.yaml", fmt.Sprintf(cmTemplate, "status-off", "statusOff")),
		moduletest.Text("modules/040-status-gone/templates/cm.yaml", fmt.Sprintf(cmTemplate, "status-gone", "statusGone")),
	)
}

// moduleObject reads a Module object: its owner label and status; ok is
// false when it does not exist.
func moduleObject(t *testing.T, dyn dynamic.Interface, name string) (owner string, st status.ModuleStatus, ok bool) {
	t.Helper()
	obj, err := dyn.Resource(status.ModuleResource).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", st, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if m, found := obj.Object["status"].(map[string]any); found {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &st); err != nil {
			t.Fatalf("module %s: decode status: %v", name, err)
		}
	}
	return obj.GetLabels()[status.NamespaceLabel], st, true
}

// moduleIs checks a Module object of the env's operator: "" when phase
// and every want condition (type -> "Status/Reason") match and the message
// contains each of msgParts.
func (e *env) moduleIs(dyn dynamic.Interface, name string, phase module.Phase, conds map[string]string, msgParts ...string) string {
	owner, st, ok := moduleObject(e.t, dyn, name)
	switch {
	case !ok:
		return "module object " + name + " does not exist"
	case owner != e.ns:
		return fmt.Sprintf("module object %s belongs to %q, want %q", name, owner, e.ns)
	case st.Phase != phase:
		return fmt.Sprintf("module %s is %s (%q), want %s", name, st.Phase, st.Message, phase)
	}
	for _, p := range msgParts {
		if !strings.Contains(st.Message, p) {
			return fmt.Sprintf("module %s message %q lacks %q", name, st.Message, p)
		}
	}
	got := map[string]string{}
	for _, c := range st.Conditions {
		got[c.Type] = string(c.Status) + "/" + c.Reason
	}
	for typ, want := range conds {
		if got[typ] != want {
			return fmt.Sprintf("module %s condition %s = %s, want %s (message %q)", name, typ, got[typ], want, st.Message)
		}
	}
	return ""
}

// What `kubectl get modules` shows follows the modules: Ready after the
// converge, Reconciling then Error when a Deployment cannot roll out (named,
// with the reason), Error naming a failing hook, back to Ready once fixed;
// Disabled for a disabled module; a Warning Event on the ConfigMap for a
// rejected edit; Module objects of modules removed from the bundle go.
func TestStatusModules(t *testing.T) {
	ctx := context.Background()
	if err := testCluster.AddNode(ctx, statusNode); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testCluster.DeleteNode(context.Background(), statusNode.Name) })
	bundle := statusBundle(t)
	e := newEnv(t, bundle, "--workload-ready-timeout", "5s", "--queue-min-backoff", "1s", "--queue-max-backoff", "2s")
	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	e.start()

	ready := map[string]string{
		status.ConditionEnabledByConfig:     "True/Enabled",
		status.ConditionEnabledByScript:     "True/NoScript",
		status.ConditionHelmReleaseDeployed: "True/Deployed",
		status.ConditionHooksOK:             "True/Succeeded",
	}
	withWorkloads := func(c map[string]string, wl string) map[string]string {
		out := map[string]string{status.ConditionWorkloadsReady: wl}
		for k, v := range c {
			out[k] = v
		}
		return out
	}

	t.Run("every module has a Module object after the converge", func(t *testing.T) {
		e.eventually(60*time.Second, func() string {
			for name, conds := range map[string]map[string]string{
				"status-web":    withWorkloads(ready, "True/Ready"),
				"status-hooked": withWorkloads(ready, "True/NoWorkloads"),
				"status-gone":   withWorkloads(ready, "True/NoWorkloads"),
			} {
				if msg := e.moduleIs(dyn, name, module.PhaseReady, conds); msg != "" {
					return msg
				}
			}
			return ""
		})
		_, st, _ := moduleObject(t, dyn, "status-web")
		if st.Message != "" || st.Revision != 1 || st.LastRun == nil || !st.Enabled {
			t.Errorf("status-web: message %q, revision %d, lastRun %v, enabled %v; want no message, revision 1, a last run, enabled", st.Message, st.Revision, st.LastRun, st.Enabled)
		}
		out := kubectlOut(t, "get", "modules", "status-web", "status-off")
		t.Logf("kubectl get modules:\n%s", out)
		if !strings.Contains(out, "Ready") || !strings.Contains(out, "Disabled") {
			t.Errorf("kubectl get modules does not show the phases:\n%s", out)
		}
	})

	t.Run("a disabled module is Disabled", func(t *testing.T) {
		e.eventually(10*time.Second, func() string {
			return e.moduleIs(dyn, "status-off", module.PhaseDisabled, map[string]string{
				status.ConditionEnabledByConfig:     "False/Disabled",
				status.ConditionHelmReleaseDeployed: "False/ModuleDisabled",
			}, "disabled by configuration")
		})
		if _, st, _ := moduleObject(t, dyn, "status-off"); st.Enabled {
			t.Error("status-off is enabled")
		}
	})

	t.Run("a Deployment that cannot roll out turns its module to Error after the timeout", func(t *testing.T) {
		edited := time.Now()
		e.setConfig(map[string]string{"statusWeb": "nodeSelector:\n  status-e2e: nowhere\n"})
		e.eventually(20*time.Second, func() string {
			return e.moduleIs(dyn, "status-web", module.PhaseReconciling, map[string]string{status.ConditionWorkloadsReady: "False/RollingOut"},
				"waiting for Deployment "+e.ns+"/status-web")
		})
		e.eventually(30*time.Second, func() string {
			return e.moduleIs(dyn, "status-web", module.PhaseError, withWorkloads(ready, "False/WorkloadsFailed"),
				"Deployment "+e.ns+"/status-web not ready after 5s", "Unschedulable")
		})
		if d := time.Since(edited); d < 5*time.Second {
			t.Errorf("Error %s after the edit, want it only after the 5s timeout", d.Round(time.Millisecond))
		}
		_, st, _ := moduleObject(t, dyn, "status-web")
		t.Logf("status-web: %s", st.Message)
		if st.FailedStep != status.StepWorkloads {
			t.Errorf("failedStep %q, want %q", st.FailedStep, status.StepWorkloads)
		}
	})

	t.Run("fixing the configuration brings it back to Ready", func(t *testing.T) {
		e.setConfig(map[string]string{"statusWeb": ""})
		e.eventually(60*time.Second, func() string {
			return e.moduleIs(dyn, "status-web", module.PhaseReady, withWorkloads(ready, "True/Ready"))
		})
	})

	t.Run("a failing hook turns its module to Error naming the hook, and back", func(t *testing.T) {
		flag := filepath.Join(e.dir, "hooked-fail")
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		e.setConfig(map[string]string{"statusHooked": "value: broken\n"})
		e.eventually(20*time.Second, func() string {
			return e.moduleIs(dyn, "status-hooked", module.PhaseError, map[string]string{status.ConditionHooksOK: "False/HookFailed"},
				"020-status-hooked/hooks/check.sh", "beforeHelm", "the failure switch is on")
		})
		_, st, _ := moduleObject(t, dyn, "status-hooked")
		if st.FailedStep != "hooks" || st.Failures < 1 {
			t.Errorf("failedStep %q, failures %d; want hooks and at least 1", st.FailedStep, st.Failures)
		}
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		e.eventually(20*time.Second, func() string {
			if msg := e.moduleIs(dyn, "status-hooked", module.PhaseReady, withWorkloads(ready, "True/NoWorkloads")); msg != "" {
				return msg
			}
			if got := e.configMapData(e.ns, "status-hooked")["value"]; got != "broken" {
				return "the status-hooked ConfigMap value is " + got + ", want the edited value"
			}
			return ""
		})
	})

	t.Run("a rejected ConfigMap edit is a Warning Event on the ConfigMap naming the key", func(t *testing.T) {
		e.setConfig(map[string]string{"statusWeb": "nodeSelector: [unclosed\n"})
		e.eventually(20*time.Second, func() string {
			evs, err := e.client.EventsV1().Events(e.ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err.Error()
			}
			for _, ev := range evs.Items {
				if ev.Reason == status.ReasonConfigRejected && ev.Regarding.Kind == "ConfigMap" && ev.Regarding.Name == "addon-operator" {
					if ev.Type != "Warning" || !strings.Contains(ev.Note, `"statusWeb"`) || ev.Regarding.UID == "" {
						return fmt.Sprintf("event %s: type %s, regarding uid %q, note %q; want Warning, the ConfigMap's uid, the key statusWeb named", ev.Name, ev.Type, ev.Regarding.UID, ev.Note)
					}
					return ""
				}
			}
			return fmt.Sprintf("no %s event on the ConfigMap among %d events", status.ReasonConfigRejected, len(evs.Items))
		})
		out := kubectlOut(t, "describe", "configmap", "-n", e.ns, "addon-operator")
		t.Logf("kubectl describe configmap:\n%s", out[strings.Index(out, "Events:"):])
		if !strings.Contains(out, status.ReasonConfigRejected) {
			t.Errorf("kubectl describe configmap does not show the event:\n%s", out)
		}
		if msg := e.moduleIs(dyn, "status-web", module.PhaseReady, nil); msg != "" {
			t.Errorf("a rejected edit changed the module: %s", msg)
		}
		e.setConfig(map[string]string{"statusWeb": ""})
	})

	t.Run("the Module object of a module removed from the bundle is deleted", func(t *testing.T) {
		e.op.Stop(t)
		if err := os.RemoveAll(filepath.Join(bundle, "modules", "040-status-gone")); err != nil {
			t.Fatal(err)
		}
		e.start()
		e.eventually(20*time.Second, func() string {
			if _, _, ok := moduleObject(t, dyn, "status-gone"); ok {
				return "the status-gone Module object still exists"
			}
			return ""
		})
		if msg := e.moduleIs(dyn, "status-web", module.PhaseReady, nil); msg != "" {
			t.Errorf("after the restart: %s", msg)
		}
	})
}

// kubectlOut runs bin/kubectl (or $ADDON_OPERATOR_TEST_BIN/kubectl)
// against the test cluster.
func kubectlOut(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join("..", "..", "bin", "kubectl")
	if dir := os.Getenv("ADDON_OPERATOR_TEST_BIN"); dir != "" {
		bin = filepath.Join(dir, "kubectl")
	}
	out, err := exec.Command(bin, append([]string{"--kubeconfig", testCluster.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
