package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/test/process"
)

// The operator with --webhook registers a validating webhook that the API
// server (a local process here) calls on loopback: bad edits of the
// operator's ConfigMap and Secret are refused at write time with the key and
// field path; good edits, other objects and edits while no operator answers
// pass.
func TestWebhook(t *testing.T) {
	port := freeLoopbackPort(t)
	url := "https://127.0.0.1:" + strconv.Itoa(port) + "/validate-config"
	e := newEnv(t, testBundle, "--webhook", "--webhook-listen-address", "127.0.0.1", "--webhook-port", strconv.Itoa(port),
		"--webhook-url", url, "--webhook-check-interval", "500ms")
	ctx := context.Background()
	vwcName := "addon-operator-" + e.ns
	vwcs := e.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	t.Cleanup(func() { _ = vwcs.Delete(context.Background(), vwcName, metav1.DeleteOptions{}) })
	e.setConfig(map[string]string{"echo": "message: before-webhook\n"})
	e.start()

	// caBundle returns the registered CA bundle, "" before there is one.
	caBundle := func() string {
		vwc, err := vwcs.Get(ctx, vwcName, metav1.GetOptions{})
		if err != nil || len(vwc.Webhooks) != 1 {
			return ""
		}
		return string(vwc.Webhooks[0].ClientConfig.CABundle)
	}
	e.eventually(20*time.Second, func() string {
		if caBundle() == "" {
			return "no ValidatingWebhookConfiguration " + vwcName + " with a caBundle"
		}
		return ""
	})
	// The API server picks the configuration up asynchronously: probe with
	// dry-run writes until the webhook answers.
	e.eventually(20*time.Second, func() string {
		if err := e.updateConfig(map[string]string{"echoEnabled": "yes"}, true); err == nil {
			return "a dry-run edit with echoEnabled: yes still passes"
		}
		return ""
	})

	refused := []struct {
		name string
		kv   map[string]string
		want []string
	}{
		{name: "invalid YAML names the key and the line", kv: map[string]string{"echo": "message: [unclosed\n"},
			want: []string{`configmap key "echo"`, "not valid YAML", "line 1"}},
		{name: "a schema violation names the field path", kv: map[string]string{"echo": "replicas: -1\n"},
			want: []string{`section "echo"`, "echo.replicas should be greater than or equal to 0"}},
		{name: "a field the schema lacks", kv: map[string]string{"global": "clusterName: a\nclusterNmae: b\n"},
			want: []string{`section "global"`, "global.clusterNmae is not allowed"}},
		{name: "global cannot be switched off", kv: map[string]string{"globalEnabled": "false"},
			want: []string{`configmap key "globalEnabled"`, "cannot be switched off"}},
		{name: "a bad enabled value", kv: map[string]string{"echoEnabled": "yes"},
			want: []string{`configmap key "echoEnabled"`, `want "true" or "false"`}},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			err := e.updateConfig(tt.kv, false)
			if err == nil {
				t.Fatalf("the edit %v was accepted", tt.kv)
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %v", err)
			}
			for _, want := range append(tt.want, `admission webhook "config.addons.seedops.io" denied the request`) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the refusal lacks %q:\n%v", want, err)
				}
			}
			if got := e.configMapData(e.ns, "addon-operator")["echo"]; got != "message: before-webhook\n" {
				t.Errorf("the stored echo section changed to %q", got)
			}
		})
	}

	t.Run("the section of no known module is accepted and ignored", func(t *testing.T) {
		if err := e.updateConfig(map[string]string{"nginxIngress": "replicas: [\n", "nopeEnabled": "maybe"}, false); err != nil {
			t.Fatalf("keys of no known module were refused: %v", err)
		}
		if err := e.updateConfig(map[string]string{"nginxIngress": "", "nopeEnabled": ""}, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a valid edit is accepted and applied", func(t *testing.T) {
		if err := e.updateConfig(map[string]string{"echo": "message: via-webhook\nreplicas: 2\n", "spareEnabled": "false"}, false); err != nil {
			t.Fatalf("a valid edit was refused: %v", err)
		}
		e.eventually(30*time.Second, func() string {
			if got := e.configMapData(e.ns, "echo")["message"]; got != "via-webhook" {
				return "echo message = " + got + ", want via-webhook"
			}
			return ""
		})
	})

	t.Run("the secret is checked with the configmap", func(t *testing.T) {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "addon-operator-secrets", Namespace: e.ns},
			StringData: map[string]string{"echo": "replicas: -2\n"},
		}
		_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, s, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "echo.replicas") {
			t.Fatalf("a secret breaking the echo section: err = %v, want a refusal naming the field", err)
		}
	})

	t.Run("other ConfigMaps and Secrets of the namespace are not checked", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-the-config", Namespace: e.ns}, Data: map[string]string{"echoEnabled": "yes", "echo": "["}}
		if _, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Errorf("another ConfigMap was refused: %v", err)
		}
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-the-secrets", Namespace: e.ns}, StringData: map[string]string{"nope": "["}}
		if _, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Errorf("another Secret was refused: %v", err)
		}
	})

	t.Run("the configuration is not rewritten while nothing changes", func(t *testing.T) {
		before, err := vwcs.Get(ctx, vwcName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // four checks
		after, err := vwcs.Get(ctx, vwcName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if before.ResourceVersion != after.ResourceVersion {
			t.Errorf("the ValidatingWebhookConfiguration was rewritten (resourceVersion %s -> %s)", before.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("a deleted certificate is issued again and trusted", func(t *testing.T) {
		oldCA := caBundle()
		if err := e.client.CoreV1().Secrets(e.ns).Delete(ctx, "addon-operator-webhook-tls", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(20*time.Second, func() string {
			if _, err := e.client.CoreV1().Secrets(e.ns).Get(ctx, "addon-operator-webhook-tls", metav1.GetOptions{}); err != nil {
				return "the certificate Secret was not re-created: " + err.Error()
			}
			if ca := caBundle(); ca == oldCA || ca == "" {
				return "the caBundle was not updated"
			}
			return ""
		})
		e.eventually(20*time.Second, func() string {
			if err := e.updateConfig(map[string]string{"echoEnabled": "yes"}, true); err == nil || !strings.Contains(err.Error(), "echoEnabled") {
				return "the webhook does not refuse with the new certificate"
			}
			return ""
		})
	})

	t.Run("edits pass while the operator is stopped, and it rejects them at start", func(t *testing.T) {
		e.op.Stop(t)
		if err := e.updateConfig(map[string]string{"echoEnabled": "yes"}, false); err != nil {
			t.Fatalf("with no operator answering (failurePolicy Ignore) the edit was refused: %v", err)
		}
		op := process.Start(t, process.Options{
			Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
			Env: []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir}, Args: e.args,
		})
		e.op = op
		op.WaitLog(t, "config rejected", 60*time.Second)
		if line := grep(op.Logs(), "config rejected"); !strings.Contains(line, `key \"echoEnabled\"`) {
			t.Errorf("the rejection at start does not name the key:\n%s", line)
		}
		// It waits for an acceptable configuration before it converges;
		// its webhook already answers: it leaves the stored problem alone
		// and refuses a new one.
		e.eventually(20*time.Second, func() string {
			if err := e.updateConfig(map[string]string{"echo": "replicas: -1\n"}, true); err == nil {
				return "the restarted operator's webhook does not refuse edits"
			}
			return ""
		})
		if err := e.updateConfig(map[string]string{"echo": "message: next-to-a-problem\n"}, true); err != nil {
			t.Errorf("an edit leaving the stored problem alone was refused: %v", err)
		}
		if err := e.updateConfig(map[string]string{"echoEnabled": ""}, false); err != nil {
			t.Fatalf("the fix was refused: %v", err)
		}
		op.WaitLog(t, "config accepted", 20*time.Second)
		op.WaitReady(t, 60*time.Second)
	})
}

// updateConfig merges kv into the operator's ConfigMap once ("" removes a
// key), retrying only on conflicts, and returns the API server's answer.
func (e *env) updateConfig(kv map[string]string, dryRun bool) error {
	e.t.Helper()
	ctx := context.Background()
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	opts := metav1.UpdateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for range 10 {
		cm, err := cms.Get(ctx, "addon-operator", metav1.GetOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		applyKV(cm, kv)
		_, err = cms.Update(ctx, cm, opts)
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	e.t.Fatal("could not update the ConfigMap: conflicts")
	return nil
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// With --ha every replica serves the webhook, the standby too: here the API
// server is pointed at the standby's port, and the standby refuses a bad
// edit while the leader runs.
func TestWebhookHA(t *testing.T) {
	leaderPort, standbyPort := freeLoopbackPort(t), freeLoopbackPort(t)
	url := "https://127.0.0.1:" + strconv.Itoa(standbyPort) + "/validate-config"
	e := newEnv(t, testBundle)
	vwcs := e.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	t.Cleanup(func() { _ = vwcs.Delete(context.Background(), "addon-operator-"+e.ns, metav1.DeleteOptions{}) })
	e.setConfig(map[string]string{"echo": "message: ha\n"})
	start := func(port int) *process.Operator {
		return process.Start(t, process.Options{
			Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
			Env: []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir},
			Args: []string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms",
				"--webhook", "--webhook-listen-address", "127.0.0.1", "--webhook-port", strconv.Itoa(port), "--webhook-url", url,
				"--webhook-check-interval", "500ms"},
		})
	}
	leader := start(leaderPort)
	leader.WaitLog(t, "leading", 30*time.Second)
	standby := start(standbyPort)
	standby.WaitLog(t, "following", 30*time.Second)
	e.eventually(30*time.Second, func() string {
		if err := e.updateConfig(map[string]string{"echoEnabled": "yes"}, true); err == nil || !strings.Contains(err.Error(), `"echoEnabled"`) {
			return "the standby's webhook does not refuse a bad edit"
		}
		return ""
	})
	if !strings.Contains(standby.Logs(), "configuration refused by the webhook") {
		t.Errorf("the refusal did not come from the standby:\n%s", standby.Tail(30))
	}
	if strings.Contains(standby.Logs(), "hook finished") {
		t.Errorf("the standby ran hooks")
	}
	if err := e.updateConfig(map[string]string{"echo": "message: ha-2\n"}, false); err != nil {
		t.Fatalf("the standby refused a valid edit: %v", err)
	}
	e.eventually(30*time.Second, func() string {
		if got := e.configMapData(e.ns, "echo")["message"]; got != "ha-2" {
			return "the leader did not apply the edit: echo message = " + got
		}
		return ""
	})
}
