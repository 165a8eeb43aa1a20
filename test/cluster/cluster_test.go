package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

var testCluster *Cluster

func TestMain(m *testing.M) { os.Exit(Main(m, Full, &testCluster)) }

// A Deployment is scheduled onto fake nodes and its pods become Ready: the
// control plane and kwok work together.
func TestDeploymentBecomesReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, n := range []Node{
		{Name: "node-a", Labels: map[string]string{"dedicated": "ingress"}, ProviderID: "aws:///eu-central-1a/i-0123"},
		{Name: "node-b"},
	} {
		if err := testCluster.AddNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	cs := testCluster.Client()
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err == nil && got.Status.ReadyReplicas == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deployment did not become 2/2 ready: %+v", got.Status)
		case <-time.After(200 * time.Millisecond):
		}
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Spec.ProviderID != "aws:///eu-central-1a/i-0123" || node.Labels["dedicated"] != "ingress" {
		t.Errorf("node-a: providerID %q labels %v", node.Spec.ProviderID, node.Labels)
	}
}

// The API server comes back after a restart on the same address, with its data.
func TestAPIServerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cs := testCluster.Client()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor", Namespace: "default"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testCluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if testCluster.Running("kube-apiserver") {
		t.Fatal("kube-apiserver still running after StopAPIServer")
	}
	if err := testCluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Fatalf("configmap after restart: %v", err)
	}
}

// A client behind the proxy reaches the API server, loses it while the
// proxy is cut, and reaches it again after Restore; a component that
// exited is started again by Heal.
func TestProxyAndHeal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := testCluster.StartProxy()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testCluster.ProxyKubeconfig(kubeconfig, p); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 2 * time.Second
	cs := kubernetes.NewForConfigOrDie(cfg)
	get := func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if err := get(); err == nil {
		t.Fatal("the API answered through a cut proxy")
	}
	p.Restore()
	if err := get(); err != nil {
		t.Fatalf("after Restore: %v", err)
	}

	if err := testCluster.stop("kube-scheduler"); err != nil {
		t.Fatal(err)
	}
	restarted, err := testCluster.Heal()
	if err != nil || len(restarted) != 1 || restarted[0] != "kube-scheduler" || !testCluster.Running("kube-scheduler") {
		t.Errorf("Heal restarted %v (%v), want kube-scheduler running again", restarted, err)
	}
}
