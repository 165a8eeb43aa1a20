package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// The x-secret values the leak test plants, each unique to it.
const (
	leakHookToken     = "leak-h00k-t0ken-5ecr3t"
	leakChartPassword = "leak-ch4rt-pa55-5ecr3t"
)

// secretConfigSchema marks the field named key x-secret.
const secretConfigSchema = `type: object
properties:
  %s:
    type: string
    x-secret: true
`

// leakBundle has a module whose hook prints its config values, x-secret
// token included, to stderr and fails (secret-leak-hook), and one whose
// chart fails quoting its x-secret password (secret-leak-chart).
func leakBundle(t *testing.T) string {
	return moduletest.Bundle(t,
		moduletest.Text("values.yaml", "secretLeakHookEnabled: true\nsecretLeakChartEnabled: true\n"),
		moduletest.Text("modules/010-secret-leak-hook/openapi/config-values.yaml", fmt.Sprintf(secretConfigSchema, "token")),
		moduletest.Text("modules/010-secret-leak-hook/templates/cm.yaml", fmt.Sprintf(cmTemplate, "secret-leak-hook", "secretLeakHook")),
		hookScript("modules/010-secret-leak-hook/hooks/login.sh", `{"configVersion":"v1","beforeHelm":1}`,
			`echo "login refused with $(cat "$CONFIG_VALUES_PATH")" >&2; exit 1`),
		moduletest.Text("modules/020-secret-leak-chart/openapi/config-values.yaml", fmt.Sprintf(secretConfigSchema, "password")),
		moduletest.Text("modules/020-secret-leak-chart/templates/fail.yaml",
			`{{ fail (printf "cannot reach the database with password %s" .Values.secretLeakChart.password) }}`+"\n"),
	)
}

// Hook output and Helm errors quoting x-secret values reach no sink
// unmasked: not the Module objects (message and conditions), the Events of
// the operator's namespace and of default, the operator's log or /metrics.
func TestSecretsMaskedInEverySink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, leakBundle(t), "--queue-min-backoff", "1s", "--queue-max-backoff", "2s")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator-secrets", Namespace: e.ns},
		Data: map[string][]byte{
			"secretLeakHook":  []byte("token: " + leakHookToken + "\n"),
			"secretLeakChart": []byte("password: " + leakChartPassword + "\n"),
		},
	}
	if _, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.start()
	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	secrets := []string{leakHookToken, leakChartPassword}
	leaked := func(sink, text string) string {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				return fmt.Sprintf("%s holds the secret %q:\n%s", sink, s, text)
			}
		}
		return ""
	}

	e.eventually(60*time.Second, func() string {
		if msg := e.moduleIs(dyn, "secret-leak-hook", module.PhaseError, nil, "login.sh", "login refused with", mask.Text); msg != "" {
			return msg
		}
		return e.moduleIs(dyn, "secret-leak-chart", module.PhaseError, nil, "cannot reach the database with password "+mask.Text)
	})

	t.Run("Module objects", func(t *testing.T) {
		for _, name := range []string{"secret-leak-hook", "secret-leak-chart"} {
			_, st, _ := moduleObject(t, dyn, name)
			t.Logf("%s: %s", name, st.Message)
			texts := []string{st.Message}
			for _, c := range st.Conditions {
				texts = append(texts, c.Message)
			}
			if msg := leaked("the Module object "+name, strings.Join(texts, "\n")); msg != "" {
				t.Error(msg)
			}
			if msg := leaked("kubectl get module "+name, kubectlOut(t, "get", "module", name, "-o", "yaml")); msg != "" {
				t.Error(msg)
			}
		}
	})

	t.Run("Events", func(t *testing.T) {
		for _, ns := range []string{e.ns, metav1.NamespaceDefault} {
			evs, err := e.client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs.Items {
				if msg := leaked("event "+ns+"/"+ev.Name, ev.Note); msg != "" {
					t.Error(msg)
				}
			}
			legacy, err := e.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range legacy.Items {
				if msg := leaked("event "+ns+"/"+ev.Name, ev.Message); msg != "" {
					t.Error(msg)
				}
			}
		}
	})

	t.Run("the operator's log", func(t *testing.T) {
		logs := e.op.Logs()
		if msg := leaked("the operator's log", logs); msg != "" {
			t.Error(msg)
		}
		if !strings.Contains(logs, "login refused with") || !strings.Contains(logs, mask.Text) {
			t.Errorf("the log has no masked hook output:\n%s", e.op.Tail(40))
		}
	})

	t.Run("metrics", func(t *testing.T) {
		code, body, err := e.op.Get("/metrics")
		if err != nil || code != 200 {
			t.Fatalf("GET /metrics: %d %v", code, err)
		}
		if msg := leaked("/metrics", body); msg != "" {
			t.Error(msg)
		}
	})

	// The secrets in force are the ones masked: a rotated value is masked
	// in the runs that follow the change.
	t.Run("a rotated secret is masked", func(t *testing.T) {
		const rotated = "leak-r0tated-t0ken-5ecr3t"
		secrets = append(secrets, rotated)
		s, err := e.client.CoreV1().Secrets(e.ns).Get(ctx, "addon-operator-secrets", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data["secretLeakHook"] = []byte("token: " + rotated + "\n")
		if _, err := e.client.CoreV1().Secrets(e.ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		seen := len(e.op.Logs())
		// The hook fails again every 2s at most: the third run after the
		// update sees the new value.
		e.eventually(30*time.Second, func() string {
			if n := strings.Count(e.op.Logs()[seen:], "login refused with"); n < 3 {
				return fmt.Sprintf("the hook ran %d times since the update, want 3", n)
			}
			return ""
		})
		if msg := leaked("the operator's log", e.op.Logs()); msg != "" {
			t.Error(msg)
		}
		_, st, _ := moduleObject(t, dyn, "secret-leak-hook")
		if msg := leaked("the Module object secret-leak-hook", st.Message); msg != "" {
			t.Error(msg)
		}
	})
}
