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

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// The batch-hook module: its hooks are test/batchhook compiled with
// module-sdk (built by the test into hooks/batch); its chart shows the
// replicas the hook put into its values.
const (
	batchModule   = "batch-hook-e2e"
	batchHookName = "010-batch-hook-e2e/hooks/batch:replicas:0"
	batchTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: batch-hook-e2e
  namespace: {{ .Release.Namespace }}
data:
  replicas: {{ (.Values.batchHookE2e.internal | default dict).replicas | default "none" | quote }}
`
)

// deckhouseModules is the resource module-sdk's readiness probe reads and
// patches: Deckhouse's Module, which the test installs as a bare CRD.
var deckhouseModules = schema.GroupVersionResource{Group: "deckhouse.io", Version: "v1alpha1", Resource: "modules"}

// batchBundle builds the batch binary from test/batchhook into a bundle's
// module hooks/ directory.
func batchBundle(t *testing.T) string {
	t.Helper()
	dir := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "batchHookE2eEnabled: true\n"),
		moduletest.Text("modules/010-batch-hook-e2e/Chart.yaml", "apiVersion: v2\nname: batch-hook-e2e\nversion: 1.0.0\n"),
		moduletest.Text("modules/010-batch-hook-e2e/templates/cm.yaml", batchTemplate),
	)
	out := filepath.Join(dir, "modules", "010-batch-hook-e2e", "hooks", "batch")
	cmd := exec.Command("go", "build", "-o", out, "./test/batchhook/hooks")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the batch hook: %v\n%s", err, b)
	}
	return dir
}

// installDeckhouseModule creates the Module CRD of deckhouse.io and a
// Module object for name in the phase Deckhouse gives it while it runs
// the module, as module-sdk's readiness probe expects to find it.
func installDeckhouseModule(t *testing.T, dyn dynamic.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	crds := apiextensions.NewForConfigOrDie(testCluster.Config).ApiextensionsV1().CustomResourceDefinitions()
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "modules.deckhouse.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "deckhouse.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "modules", Singular: "module", Kind: "Module", ListKind: "ModuleList"},
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1alpha1", Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !established(ctx, crds, crd.Name) {
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not established", crd.Name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := dyn.Resource(deckhouseModules)
	_ = res.Delete(ctx, name, metav1.DeleteOptions{})
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "deckhouse.io/v1alpha1", "kind": "Module", "metadata": map[string]any{"name": name}}}
	var err error
	for range 50 {
		if obj, err = res.Create(ctx, obj, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	obj.Object["status"] = map[string]any{
		"phase":      "Reconciling",
		"conditions": []any{map[string]any{"type": "IsReady", "status": "False"}},
	}
	if _, err := res.UpdateStatus(ctx, obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// deckhouseReadiness returns the phase and the IsReady condition
// ("True", or "False: <message>") of a deckhouse.io Module.
func deckhouseReadiness(t *testing.T, dyn dynamic.Interface, name string) (phase, ready string) {
	t.Helper()
	obj, err := dyn.Resource(deckhouseModules).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	phase, _, _ = unstructured.NestedString(obj.Object, "status", "phase")
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "IsReady" {
			continue
		}
		ready = fmt.Sprint(m["status"])
		if msg, ok := m["message"]; ok {
			ready += ": " + fmt.Sprint(msg)
		}
	}
	return phase, ready
}

// setBatchSource writes the replicas key of e2e-watch/batchhook-source,
// the object the batch hook's kubernetes binding watches.
func (e *env) setBatchSource(replicas string) {
	e.t.Helper()
	ctx := context.Background()
	cms := e.client.CoreV1().ConfigMaps("e2e-watch")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "batchhook-source"}, Data: map[string]string{"replicas": replicas}}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
	} else if err != nil {
		e.t.Fatal(err)
	}
}

// A module whose hooks are one binary built with module-sdk: its hook
// fails with module-sdk's error shown as the module's message, then
// copies a watched ConfigMap's key into the module's values (rendered by
// the chart) and a metric on every change; its readiness probe (`hook
// ready`) runs on its schedule and patches Deckhouse's Module status.
func TestBatchHookModule(t *testing.T) {
	bundle := batchBundle(t)
	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	e := newEnv(t, bundle, "--queue-min-backoff", "1s", "--queue-max-backoff", "2s")
	installDeckhouseModule(t, dyn, batchModule)
	t.Cleanup(func() {
		_ = e.client.CoreV1().ConfigMaps("e2e-watch").Delete(context.Background(), "batchhook-source", metav1.DeleteOptions{})
	})
	e.setBatchSource("many")
	e.launch(testCluster.Kubeconfig)

	t.Run("module-sdk's JSON error is the module's message", func(t *testing.T) {
		e.eventually(bundleWait, func() string {
			msg := e.moduleIs(dyn, batchModule, module.PhaseError, nil, batchHookName, "execute: ", "replicas in batchhook-source is not a number: many")
			if msg == "" && strings.Contains(e.moduleMessage(dyn), `"message"`) {
				return "the module message carries the raw JSON error: " + e.moduleMessage(dyn)
			}
			return msg
		})
	})

	t.Run("the snapshot reaches values, the chart and a metric", func(t *testing.T) {
		for _, replicas := range []string{"3", "5"} {
			e.setBatchSource(replicas)
			e.eventually(bundleWait, func() string {
				if got := e.configMapData(e.ns, batchModule)["replicas"]; got != replicas {
					return fmt.Sprintf("rendered replicas %q, want %q", got, replicas)
				}
				if msg := e.moduleIs(dyn, batchModule, module.PhaseReady, nil); msg != "" {
					return msg
				}
				key := `e2e_batch_replicas{hook="` + batchHookName + `",module="` + batchModule + `",source="batchhook-source"}`
				want := map[string]float64{key: float64(replicas[0] - '0')}
				return seriesAre(e.scrape("/metrics/hooks"), want)
			})
		}
	})

	t.Run("hook ready follows the probe", func(t *testing.T) {
		switchFile := filepath.Join(e.dir, "batchhook-not-ready")
		for _, step := range []struct {
			notReady  bool
			wantPhase string
			wantReady string
		}{
			{false, "Ready", "True"},
			{true, "Reconciling", "False: the not-ready switch is on"},
			{false, "Ready", "True"},
		} {
			if step.notReady {
				if err := os.WriteFile(switchFile, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				_ = os.Remove(switchFile)
			}
			e.eventually(bundleWait, func() string {
				phase, ready := deckhouseReadiness(t, dyn, batchModule)
				if phase != step.wantPhase || ready != step.wantReady {
					return fmt.Sprintf("deckhouse Module %s: phase %q, IsReady %q; want %q, %q", batchModule, phase, ready, step.wantPhase, step.wantReady)
				}
				return ""
			})
		}
	})
}

// moduleMessage returns the status message of the env's Module object.
func (e *env) moduleMessage(dyn dynamic.Interface) string {
	_, st, _ := moduleObject(e.t, dyn, batchModule)
	return st.Message
}
