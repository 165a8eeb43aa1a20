package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/test/process"
)

// webhookArgs are the flags of an operator serving the webhook on port,
// registered at url.
func webhookArgs(port int, url string) []string {
	return []string{"--webhook", "--webhook-listen-address", "127.0.0.1", "--webhook-port", strconv.Itoa(port),
		"--webhook-url", url, "--webhook-check-interval", "500ms"}
}

// waitWebhook waits until the API server calls the operator's webhook: a
// dry-run edit adding a problem is refused.
func (e *env) waitWebhook() {
	e.t.Helper()
	vwcs := e.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	e.t.Cleanup(func() { _ = vwcs.Delete(context.Background(), "addon-operator-"+e.ns, metav1.DeleteOptions{}) })
	e.eventually(40*time.Second, func() string {
		if err := e.updateConfig(map[string]string{"globalEnabled": "false"}, true); err == nil {
			return "a dry-run edit with globalEnabled: false still passes"
		}
		return ""
	})
}

// A ConfigMap with the section of a module the running bundle lacks (a
// module dropped by a release, or a typo) does not keep the operator from
// starting, also on a restart, which remembers nothing of earlier bundles:
// the key is ignored and reported (ConfigUnknownKeys Event, metric), and
// the webhook allows edits that add no problem.
func TestUnknownModuleSectionAfterRestart(t *testing.T) {
	port := freeLoopbackPort(t)
	url := "https://127.0.0.1:" + strconv.Itoa(port) + "/validate-config"
	e := newEnv(t, testBundle, webhookArgs(port, url)...)
	e.setConfig(map[string]string{
		"echo":                 "message: before-restart\n",
		"droppedModule":        "replicas: [not, a, number]\n",
		"droppedModuleEnabled": "true",
	})
	e.start()
	e.op.Stop(t)
	e.start()

	e.eventually(30*time.Second, func() string {
		if got := e.configMapData(e.ns, "echo")["message"]; got != "before-restart" {
			return "the echo module did not converge on the configuration: message = " + got
		}
		return ""
	})
	if strings.Contains(e.op.Logs(), "config rejected") {
		t.Errorf("the configuration was rejected:\n%s", grep(e.op.Logs(), "config rejected"))
	}
	if line := grep(e.op.Logs(), "config keys of no known module ignored"); !strings.Contains(line, `droppedModule`) {
		t.Errorf("no log line names the ignored keys:\n%s", e.op.Tail(30))
	}

	t.Run("the ignored keys are an Event on the ConfigMap and a metric", func(t *testing.T) {
		e.eventually(20*time.Second, func() string {
			list, err := e.client.CoreV1().Events(e.ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=ConfigMap,involvedObject.name=addon-operator"})
			if err != nil {
				return err.Error()
			}
			for _, ev := range list.Items {
				if ev.Reason == "ConfigUnknownKeys" && ev.Type == corev1.EventTypeWarning &&
					strings.Contains(ev.Message, `configmap key "droppedModule"`) && strings.Contains(ev.Message, `configmap key "droppedModuleEnabled"`) {
					return ""
				}
			}
			return fmt.Sprintf("no ConfigUnknownKeys Event naming both keys among %d Events", len(list.Items))
		})
		_, body, err := e.op.Get("/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "\naddon_operator_config_unknown_keys 2\n") {
			t.Errorf("metrics lack addon_operator_config_unknown_keys 2:\n%s", grep(body, "unknown_keys"))
		}
	})

	e.waitWebhook()
	t.Run("the webhook allows an edit of another section", func(t *testing.T) {
		if err := e.updateConfig(map[string]string{"echo": "message: after-restart\n"}, false); err != nil {
			t.Fatalf("the edit was refused: %v", err)
		}
		e.eventually(30*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["message"]; got != "after-restart" {
				return "echo message = " + got + ", want after-restart"
			}
			return ""
		})
		if got := e.configMapData(e.ns, "addon-operator")["droppedModule"]; got != "replicas: [not, a, number]\n" {
			t.Errorf("the ignored section changed to %q", got)
		}
	})
	t.Run("the webhook refuses an edit that adds a problem, naming it", func(t *testing.T) {
		err := e.updateConfig(map[string]string{"echo": "replicas: -1\n"}, false)
		if !apierrors.IsForbidden(err) {
			t.Fatalf("the edit adding a schema violation: err = %v, want Forbidden", err)
		}
		if !strings.Contains(err.Error(), "echo.replicas") || strings.Contains(err.Error(), "droppedModule") {
			t.Errorf("the refusal does not name only the new problem:\n%v", err)
		}
	})
}

// Two replicas with --ha and the webhook: the leader deploys a release
// (from the registry) with a module the built-in bundle lacks; the
// standby, which never leads, validates that module's section with the
// released schema too, so edits are judged the same whichever replica
// answers: valid ones pass, an invalid one is refused by both.
func TestWebhookHAFollowsTheDeployedRelease(t *testing.T) {
	u := newUpdaterEnv(t)
	leaderPort, standbyPort := freeLoopbackPort(t), freeLoopbackPort(t)
	url := "https://127.0.0.1:" + strconv.Itoa(standbyPort) + "/validate-config"
	ha := []string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms"}
	start := func(port int, cacheDir string) *process.Operator {
		args := append(append(append([]string{}, u.args...), ha...), webhookArgs(port, url)...)
		return process.Start(t, process.Options{
			Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: u.ns, BundleDir: u.bundle,
			Env:  []string{"E2E_TRACE=" + u.trace, "E2E_DIR=" + u.dir},
			Args: append(args, "--release-cache-dir", cacheDir),
		})
	}
	extra := append(demoModule("v1", ""),
		moduletest.Text("modules/020-extra/values.yaml", "extra: {}\n"),
		moduletest.Text("modules/020-extra/Chart.yaml", "apiVersion: v2\nname: extra\nversion: 0.1.0\n"),
		moduletest.Text("modules/020-extra/templates/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"),
		moduletest.Text("modules/020-extra/openapi/config-values.yaml",
			"type: object\nproperties:\n  size:\n    type: integer\n    minimum: 1\n"))
	u.push("v1.0.0", "stable", extra...)
	u.setConfig(map[string]string{"global": "{}\n"})

	leader := start(leaderPort, u.cacheDir)
	leader.WaitLog(t, "leading", 30*time.Second)
	standby := start(standbyPort, filepath.Join(t.TempDir(), "standby-releases"))
	standby.WaitLog(t, "following", 30*time.Second)
	u.op = leader
	u.waitWebhook()

	u.setOperator(u.operatorSection("stable", ""))
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 60*time.Second)
	standby.WaitLog(t, "webhook schemas follow the deployed release", 30*time.Second)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// The certificate is not under test here; the API server checks it
		// in TestWebhook.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test
	}}
	for name, port := range map[string]int{"leader": leaderPort, "standby": standbyPort} {
		t.Run(name+" answers with the released schema", func(t *testing.T) {
			ok := u.review(client, port, map[string]string{"extra": "size: 3\n"})
			if !ok.Allowed {
				t.Errorf("a valid edit of the released module was refused: %+v", ok.Result)
			}
			if w := strings.Join(ok.Warnings, "\n"); strings.Contains(w, "unknown key") {
				t.Errorf("the released module's section is unknown to the %s: %s", name, w)
			}
			bad := u.review(client, port, map[string]string{"extra": "size: 0\n"})
			if bad.Allowed || bad.Result == nil || !strings.Contains(bad.Result.Message, "extra.size") {
				t.Errorf("an invalid edit of the released module: %+v, want a refusal naming extra.size", bad)
			}
		})
	}

	t.Run("through the API server (routed to the standby) every time", func(t *testing.T) {
		for i := range 10 {
			if err := u.updateConfig(map[string]string{"extra": fmt.Sprintf("size: %d\n", i+1)}, true); err != nil {
				t.Fatalf("valid edit %d refused: %v", i, err)
			}
			err := u.updateConfig(map[string]string{"extra": "size: 0\n"}, true)
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "extra.size") {
				t.Fatalf("invalid edit %d: err = %v, want Forbidden naming extra.size", i, err)
			}
		}
		if !strings.Contains(standby.Logs(), "configuration refused by the webhook") {
			t.Errorf("the refusals did not come from the standby:\n%s", standby.Tail(30))
		}
	})
}

// review sends the webhook on port an AdmissionReview of an update of the
// operator's ConfigMap by kv and returns the answer.
func (u *updaterEnv) review(client *http.Client, port int, kv map[string]string) *admissionv1.AdmissionResponse {
	u.t.Helper()
	old, err := u.client.CoreV1().ConfigMaps(u.ns).Get(context.Background(), "addon-operator", metav1.GetOptions{})
	if err != nil {
		u.t.Fatal(err)
	}
	edited := old.DeepCopy()
	applyKV(edited, kv)
	oldRaw, _ := json.Marshal(old)
	newRaw, _ := json.Marshal(edited)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("e2e"), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
			Namespace: u.ns, Name: "addon-operator", Operation: admissionv1.Update,
			Object: runtime.RawExtension{Raw: newRaw}, OldObject: runtime.RawExtension{Raw: oldRaw},
		},
	})
	resp, err := client.Post("https://127.0.0.1:"+strconv.Itoa(port)+"/validate-config", "application/json", bytes.NewReader(body))
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		u.t.Fatalf("webhook on port %d answered %s: %v", port, resp.Status, err)
	}
	return out.Response
}
