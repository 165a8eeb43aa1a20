package helm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/seedops/addon-operator/pkg/helm"
)

// upstreamCRD is the CRD 110-cert-manager renders behind installCRDs.
var upstreamCRD = helm.ObjectRef{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: "certificates.cert-manager-like.helm-test.example"}

// An upstream-style chart given its values at the top level of .Values, as
// the converger passes an unwrapped module's: .Chart.Name in container
// names and kubeVersion pass, Helm checks values.schema.json against the
// top-level values (with the operator's keys under the open global), a
// value that breaks it names the key and leaves the release as it was,
// and the CRD annotated helm.sh/resource-policy: keep outlives both an
// upgrade that stops rendering it and the uninstall, and is taken back by
// the next install.
func TestUnwrappedUpstreamChart(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	t.Cleanup(func() { deleteCRD(t, upstreamCRD.Name) })
	const name = "cert-manager"
	dir := moduleDir("110-cert-manager")
	c := newClient(t, ns)

	// testValues adds the bundle's global values (discovery,
	// modulesImages), keys the chart's schema does not declare.
	res, err := c.Deploy(ctx, name, dir, testValues(t, "installCRDs: true\nreplicaCount: 2\nglobal: {logLevel: 4}\n"))
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	if res.Reason != helm.ReasonInstalled {
		t.Fatalf("install: reason %s, want installed", res.Reason)
	}
	controller := deployment(t, ns, "cert-manager")
	if *controller.Spec.Replicas != 2 || controller.Spec.Template.Spec.Containers[0].Name != "cert-manager-controller" {
		t.Errorf("controller: %d replicas, container %q; want 2, cert-manager-controller", *controller.Spec.Replicas, controller.Spec.Template.Spec.Containers[0].Name)
	}
	cainjector := deployment(t, ns, "cert-manager-cainjector")
	if diff := cmp.Diff([]string{"--v=4"}, cainjector.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("cainjector args (-want +got):\n%s", diff)
	}
	if got := cainjector.Spec.Template.Spec.Containers[0].Name; got != "cert-manager-cainjector" {
		t.Errorf("cainjector container %q, want cert-manager-cainjector", got)
	}
	crd, err := getObject(ctx, "", upstreamCRD)
	if err != nil {
		t.Fatalf("CRD after install: %v", err)
	}
	if crd.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("CRD annotations %v, want helm.sh/resource-policy: keep", crd.Annotations)
	}

	// Bad values: Helm's schema check names the key; nothing is applied.
	_, err = c.Deploy(ctx, name, dir, testValues(t, "installCRDs: true\nreplicaCount: two\n"))
	if err == nil || !strings.Contains(err.Error(), "replicaCount") {
		t.Fatalf("deploy with replicaCount: two = %v, want an error naming replicaCount", err)
	}
	if rel := lastRevision(t, c, name); rel.Revision != res.Revision || rel.Status != "deployed" {
		t.Errorf("after the bad values: revision %d %s, want %d deployed", rel.Revision, rel.Status, res.Revision)
	}
	if got := *deployment(t, ns, "cert-manager").Spec.Replicas; got != 2 {
		t.Errorf("after the bad values: %d replicas, want 2", got)
	}

	// An upgrade that no longer renders the CRD keeps it.
	if _, err := c.Deploy(ctx, name, dir, testValues(t, "replicaCount: 1\n")); err != nil {
		t.Fatalf("upgrade without CRDs: %v", err)
	}
	if _, err := getObject(ctx, "", upstreamCRD); err != nil {
		t.Errorf("CRD after an upgrade without it: %v, want it kept", err)
	}

	if _, err := c.Deploy(ctx, name, dir, testValues(t, "crds: {enabled: true}\n")); err != nil {
		t.Fatalf("upgrade with crds.enabled: %v", err)
	}
	if err := c.Uninstall(ctx, name); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if err := gone(kube().AppsV1().Deployments(ns).Get(ctx, "cert-manager-cainjector", metav1.GetOptions{})); err != nil {
		t.Errorf("cainjector after uninstall: %v", err)
	}
	if _, err := getObject(ctx, "", upstreamCRD); err != nil {
		t.Errorf("CRD after uninstall: %v, want it kept", err)
	}

	// Installed again, the release takes the kept CRD back: it still
	// carries the release's ownership annotations.
	if _, err := c.Deploy(ctx, name, dir, testValues(t, "crds: {enabled: true}\n")); err != nil {
		t.Fatalf("install over the kept CRD: %v", err)
	}
}

func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := kube().AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("deployment %s/%s: %v", ns, name, err)
	}
	return d
}

// lastRevision returns the release's last revision.
func lastRevision(t *testing.T, c *helm.Client, name string) helm.Release {
	t.Helper()
	list, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no release %q", name)
	return helm.Release{}
}

// deleteCRD removes a CRD the test left behind on purpose.
func deleteCRD(t *testing.T, name string) {
	mc, err := metadata.NewForConfig(testCluster.Config)
	if err != nil {
		t.Error(err)
		return
	}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	_ = mc.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{})
}
