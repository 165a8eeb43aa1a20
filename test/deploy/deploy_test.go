package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// Applying deploy/ creates every object it renders, with the image set by
// kustomize.
func TestApplyCreatesEveryObject(t *testing.T) {
	objs := deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
	}
	slices.Sort(kinds)
	want := []string{
		"ClusterRole/addon-operator",
		"ClusterRoleBinding/addon-operator",
		"ConfigMap/addon-operator",
		"CustomResourceDefinition/modules.addons.seedops.io",
		"CustomResourceDefinition/releases.addons.seedops.io",
		"Deployment/addon-operator",
		"Namespace/addon-operator",
		"PodDisruptionBudget/addon-operator",
		"Role/addon-operator",
		"RoleBinding/addon-operator",
		"Secret/addon-operator-secrets",
		"Service/addon-operator",
		"ServiceAccount/addon-operator",
		"ValidatingAdmissionPolicy/addon-operator-rbac",
		"ValidatingAdmissionPolicyBinding/addon-operator-rbac",
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("objects rendered from deploy/ (-want +got):\n%s", diff)
	}

	disc := testCluster.Client().Discovery()
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s %s: %v", gvk.Kind, o.GetName(), err)
			continue
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if o.GetNamespace() != "" {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{}); err != nil {
			t.Errorf("%s %s/%s not in the cluster: %v", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
	}

	dep, err := testCluster.Client().AppsV1().Deployments(namespace).Get(ctx, "addon-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dep.Spec.Template.Spec.Containers[0].Image, "ghcr.io/seedops/addon-operator:latest"; got != want {
		t.Errorf("image = %q, want %q", got, want)
	}
}

// The Deployment's two replicas are scheduled on different Nodes and become
// Running and Ready; the Service has both as endpoints on http-metrics and
// the PodDisruptionBudget allows one of them to be evicted.
func TestOperatorPodsRunAndServe(t *testing.T) {
	deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := testCluster.Client()

	var pods []corev1.Pod
	err := poll(ctx, func() error {
		dep, err := cs.AppsV1().Deployments(namespace).Get(ctx, "addon-operator", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if dep.Status.ReadyReplicas != 2 || dep.Status.UpdatedReplicas != 2 {
			return fmt.Errorf("deployment: %d ready, %d updated of %d", dep.Status.ReadyReplicas, dep.Status.UpdatedReplicas, *dep.Spec.Replicas)
		}
		list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=addon-operator"})
		if err != nil {
			return err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(p) {
				pods = append(pods, p)
			}
		}
		if len(pods) != 2 {
			return fmt.Errorf("%d of %d pods running and ready", len(pods), len(list.Items))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the operator's pods: %v", err)
	}
	if pods[0].Spec.NodeName == pods[1].Spec.NodeName {
		t.Errorf("both replicas on node %s, want them spread over node-a and node-b", pods[0].Spec.NodeName)
	}

	err = poll(ctx, func() error {
		list, err := cs.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=addon-operator"})
		if err != nil {
			return err
		}
		ready := 0
		for _, s := range list.Items {
			ok := false
			for _, p := range s.Ports {
				if p.Name != nil && *p.Name == "http-metrics" && p.Port != nil && *p.Port == 9650 {
					ok = true
				}
			}
			for _, e := range s.Endpoints {
				if ok && e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				}
			}
		}
		if ready != 2 {
			return fmt.Errorf("%d ready endpoints on http-metrics (9650), want 2", ready)
		}
		return nil
	})
	if err != nil {
		t.Errorf("service addon-operator: %v", err)
	}

	err = poll(ctx, func() error {
		pdb, err := cs.PolicyV1().PodDisruptionBudgets(namespace).Get(ctx, "addon-operator", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s := pdb.Status; s.ExpectedPods != 2 || s.CurrentHealthy != 2 || s.DisruptionsAllowed != 1 {
			return fmt.Errorf("expected %d, healthy %d, disruptions allowed %d; want 2, 2, 1", s.ExpectedPods, s.CurrentHealthy, s.DisruptionsAllowed)
		}
		return nil
	})
	if err != nil {
		t.Errorf("pod disruption budget: %v", err)
	}
}

// The operator's Pod is admitted in a namespace enforcing the "restricted"
// Pod Security Standard, so it runs where cluster admins lock namespaces
// down.
func TestOperatorPodIsRestricted(t *testing.T) {
	objs := deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := testCluster.Client()

	var dep appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			if err := fromUnstructured(o, &dep); err != nil {
				t.Fatal(err)
			}
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "restricted",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator", Namespace: ns.Name, Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	if _, err := cs.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the operator's pod is refused under the restricted Pod Security Standard: %v", err)
	}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// poll calls f every 250 ms until it returns nil or ctx is done, and then
// returns f's last error.
func poll(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %v)", err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// find returns the rendered object of a kind and name.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

// fromUnstructured converts a rendered object to its typed form.
func fromUnstructured(o *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into)
}

// moduleGVR is the resource of Module objects.
var moduleGVR = schema.GroupVersionResource{Group: "addons.seedops.io", Version: "v1alpha1", Resource: "modules"}

// jsonOf is an object's JSON, for merge patches in tests.
func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
