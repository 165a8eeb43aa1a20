package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/seedops/addon-operator/test/cluster"
)

// driftWait is how long a correction may take ("within 5 s").
const driftWait = 5 * time.Second

// editIngress changes the ingress Deployment as `kubectl edit` would.
func (e *env) editIngress(change func(*appsv1.Deployment)) {
	e.t.Helper()
	ctx := context.Background()
	for range 10 {
		d := e.deployment(ingressDeployment)
		if d == nil {
			e.t.Fatal("no ingress Deployment")
		}
		change(d)
		_, err := e.client.AppsV1().Deployments(e.ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		if err == nil {
			return
		}
		e.t.Logf("edit the ingress Deployment: %v", err)
	}
	e.t.Fatal("could not edit the ingress Deployment")
}

// scaleIngress sets the ingress Deployment's replicas as `kubectl scale`
// does, again when the operator wrote the Deployment in between (a
// conflict).
func (e *env) scaleIngress(n int32) {
	e.t.Helper()
	ctx := context.Background()
	deployments := e.client.AppsV1().Deployments(e.ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := deployments.GetScale(ctx, ingressDeployment, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = n
		_, err = deployments.UpdateScale(ctx, ingressDeployment, s, metav1.UpdateOptions{FieldManager: "kubectl-scale"})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// driftCorrections returns the drift_corrections_total series of the
// operator, keyed by their labels.
func (e *env) driftCorrections() map[string]float64 {
	out := map[string]float64{}
	for series, v := range e.scrape("/metrics") {
		if strings.HasPrefix(series, "addon_operator_drift_corrections_total{") {
			out[strings.TrimPrefix(series, "addon_operator_drift_corrections_total")] = v
		}
	}
	return out
}

// driftEvents lists the DriftCorrected Events about an object kind and
// name in a namespace.
func (e *env) driftEvents(ns, kind, name string) []string {
	list, err := e.client.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.Reason == "DriftCorrected" && ev.Regarding.Kind == kind && ev.Regarding.Name == name {
			out = append(out, ev.Note)
		}
	}
	sort.Strings(out)
	return out
}

// Issue 12: edits of chart-set fields of a shipped Deployment (image,
// replicas, a label) are undone within 5 s, each with Events and the
// metric; another manager's annotation is left alone; under Warn an edit
// stays and `module drift` shows it. (The Module object's InSync condition
// is TestDriftShownOnModule's: Module objects are cluster-scoped, and the
// shipped bundle's belong to whichever of the parallel tests' operators
// wrote them first.)
func TestShippedBundleDriftCorrected(t *testing.T) {
	e := newBundleEnv(t)
	// A Node for the ingress Pod, so that the module becomes Ready.
	addNode(t, cluster.Node{Name: e.ns + "-node"})
	e.start()
	var chartImage string
	var chartReplicas int32
	e.eventually(bundleWait, func() string {
		if rev, st := e.revision("ingress-nginx"); st != "deployed" {
			return fmt.Sprintf("ingress-nginx revision %d is %q", rev, st)
		}
		d := e.deployment(ingressDeployment)
		if d == nil {
			return "no ingress Deployment"
		}
		chartImage, chartReplicas = d.Spec.Template.Spec.Containers[0].Image, *d.Spec.Replicas
		return ""
	})
	// A converged bundle has no drift: the checks of the objects listed at
	// start correct nothing.
	e.waitIdle()
	if got := e.driftCorrections(); len(got) != 0 {
		t.Fatalf("corrections of a freshly converged bundle: %v", got)
	}

	corrected := 0.0
	for _, tt := range []struct {
		name  string
		edit  func()
		path  string
		fixed func(*appsv1.Deployment) string
	}{
		{
			name: "image",
			edit: func() {
				e.editIngress(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:1" })
			},
			path: "/spec/template/spec/containers/0/image",
			fixed: func(d *appsv1.Deployment) string {
				if got := d.Spec.Template.Spec.Containers[0].Image; got != chartImage {
					return "image " + got
				}
				return ""
			},
		},
		{
			name: "replicas",
			edit: func() { e.scaleIngress(chartReplicas + 4) },
			path: "/spec/replicas",
			fixed: func(d *appsv1.Deployment) string {
				if *d.Spec.Replicas != chartReplicas {
					return fmt.Sprintf("replicas %d", *d.Spec.Replicas)
				}
				return ""
			},
		},
		{
			name: "label",
			edit: func() {
				e.editIngress(func(d *appsv1.Deployment) { d.Labels["app.kubernetes.io/part-of"] = "evil" })
			},
			path: "/metadata/labels/app.kubernetes.io~1part-of",
			fixed: func(d *appsv1.Deployment) string {
				if got := d.Labels["app.kubernetes.io/part-of"]; got != "addon-operator" {
					return "label " + got
				}
				return ""
			},
		},
	} {
		t.Run(tt.name+" restored", func(t *testing.T) {
			start := time.Now()
			tt.edit()
			e.eventually(driftWait, func() string { return tt.fixed(e.deployment(ingressDeployment)) })
			t.Logf("%s restored after %s", tt.name, time.Since(start).Round(time.Millisecond))
			corrected++
			e.eventually(driftWait, func() string {
				want := map[string]float64{`{kind="Deployment",module="ingress-nginx"}`: corrected}
				if got := e.driftCorrections(); fmt.Sprint(got) != fmt.Sprint(want) {
					return fmt.Sprintf("drift_corrections_total %v, want %v", got, want)
				}
				for _, ev := range [][]string{e.driftEvents(e.ns, "Deployment", ingressDeployment), e.driftEvents(metav1.NamespaceDefault, "Module", "ingress-nginx")} {
					if !strings.Contains(strings.Join(ev, "\n"), tt.path) {
						return fmt.Sprintf("no DriftCorrected Event naming %s in %q", tt.path, ev)
					}
				}
				return ""
			})
		})
	}

	t.Run("another manager's annotation stays", func(t *testing.T) {
		patch := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q,"namespace":%q,"annotations":{"example.com/owner":"other"}}}`, ingressDeployment, e.ns)
		if _, err := e.client.AppsV1().Deployments(e.ns).Patch(context.Background(), ingressDeployment, types.ApplyPatchType, []byte(patch),
			metav1.PatchOptions{FieldManager: "other"}); err != nil {
			t.Fatal(err)
		}
		// A bounded wait for a correction that must not come.
		time.Sleep(2 * time.Second)
		if got := e.deployment(ingressDeployment).Annotations["example.com/owner"]; got != "other" {
			t.Errorf("annotation %q, want other", got)
		}
		if got := e.driftCorrections()[`{kind="Deployment",module="ingress-nginx"}`]; got != corrected {
			t.Errorf("%v corrections, want %v", got, corrected)
		}
	})

	t.Run("Warn leaves the edit and reports it", func(t *testing.T) {
		e.setConfig(map[string]string{"operator": "drift:\n  modules:\n    ingress-nginx: {policy: Warn}\n"})
		// The policy is in force once the operator logs the new config;
		// poll the edit's report rather than guess.
		e.scaleIngress(chartReplicas + 2)
		e.eventually(driftWait+5*time.Second, func() string {
			out, errOut, code := runCLI(t, e.op.DebugSocket, "module", "drift", "ingress-nginx")
			if code != 0 || !strings.Contains(out, "/spec/replicas") {
				if d := e.deployment(ingressDeployment); *d.Spec.Replicas == chartReplicas {
					// Corrected before the policy took effect: edit again.
					e.scaleIngress(chartReplicas + 2)
				}
				return fmt.Sprintf("module drift: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			return ""
		})
		out, _, _ := runCLI(t, e.op.DebugSocket, "module", "drift", "ingress-nginx")
		wantLines := []string{
			"--- Deployment " + e.ns + "/" + ingressDeployment + " (live)",
			fmt.Sprintf("- /spec/replicas: %d", chartReplicas+2),
			fmt.Sprintf("+ /spec/replicas: %d", chartReplicas),
		}
		for _, l := range wantLines {
			if !hasLine(out, l) {
				t.Errorf("module drift output lacks %q:\n%s", l, out)
			}
		}
		if got := *e.deployment(ingressDeployment).Spec.Replicas; got != chartReplicas+2 {
			t.Errorf("replicas %d under Warn, want the edit %d kept", got, chartReplicas+2)
		}

		// Back to Correct: the edit is corrected and the report goes.
		e.setConfig(map[string]string{"operator": ""})
		e.eventually(bundleWait, func() string {
			if got := *e.deployment(ingressDeployment).Spec.Replicas; got != chartReplicas {
				return fmt.Sprintf("replicas %d", got)
			}
			if out, _, _ := runCLI(t, e.op.DebugSocket, "module", "drift", "ingress-nginx"); strings.Contains(out, "/spec/replicas") {
				return "module drift still reports the edit:\n" + out
			}
			return ""
		})
	})
}
