package deploy

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The release-cache component keeps the release cache on a
// PersistentVolumeClaim mounted by both replicas: --release-cache-dir
// points into the claim's mount, and the API server accepts the claim and
// the patched Deployment (server-side dry run).
func TestReleaseCacheComponent(t *testing.T) {
	deployBase(t)
	objs := renderPath(t, filepath.Join("testdata", "release-cache"))
	var pvc corev1.PersistentVolumeClaim
	if err := fromUnstructured(find(t, objs, "PersistentVolumeClaim", "addon-operator-release-cache"), &pvc); err != nil {
		t.Fatal(err)
	}
	if pvc.Namespace != namespace || !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}) ||
		pvc.Spec.Resources.Requests.Storage().Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("claim %s/%s: access %v, size %v", pvc.Namespace, pvc.Name, pvc.Spec.AccessModes, pvc.Spec.Resources.Requests.Storage())
	}
	var dep appsv1.Deployment
	if err := fromUnstructured(find(t, objs, "Deployment", "addon-operator"), &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--release-cache-dir=/var/cache/addon-operator/releases") {
		t.Errorf("container args %v lack --release-cache-dir in the claim", c.Args)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || (m.Name == "release-cache" && m.MountPath == "/var/cache/addon-operator" && !m.ReadOnly)
	}
	claimed := false
	for _, v := range dep.Spec.Template.Spec.Volumes {
		claimed = claimed || (v.Name == "release-cache" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name)
	}
	if !mounted || !claimed {
		t.Errorf("the claim is not mounted at /var/cache/addon-operator: mounts %v, volumes %v", c.VolumeMounts, dep.Spec.Template.Spec.Volumes)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := testCluster.Client()
	dryRun := []string{metav1.DryRunAll}
	if _, err := client.CoreV1().PersistentVolumeClaims(namespace).Create(ctx, &pvc, metav1.CreateOptions{DryRun: dryRun}); err != nil {
		t.Errorf("the API server refuses the claim: %v", err)
	}
	live, err := client.AppsV1().Deployments(namespace).Get(ctx, "addon-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Spec.Template = dep.Spec.Template
	if _, err := client.AppsV1().Deployments(namespace).Update(ctx, live, metav1.UpdateOptions{DryRun: dryRun}); err != nil {
		t.Errorf("the API server refuses the patched Deployment: %v", err)
	}
}
