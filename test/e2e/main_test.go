// Package e2e runs the addon-operator binary against the real local control
// plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) with the
// test bundle in testdata/bundle, and checks what a user would see in the
// cluster.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/process"
)

var (
	testCluster *cluster.Cluster
	binary      string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "addon-operator-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = process.Build("../..", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := cluster.Main(m, cluster.Full, &testCluster)
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one operator under test: its namespace, trace file and process.
type env struct {
	t      *testing.T
	ns     string
	dir    string
	trace  string
	client kubernetes.Interface
	op     *process.Operator
	bundle string
	args   []string
}

// newEnv creates a namespace for an operator and the shared e2e-watch
// namespace, without starting the operator. The namespace is named after
// the test, with a numeric suffix when a previous run of the test (-count)
// left it behind.
func newEnv(t *testing.T, bundle string, args ...string) *env {
	t.Helper()
	base := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(base) > 46 {
		base = base[:46]
	}
	e := &env{t: t, ns: base, dir: t.TempDir(), client: testCluster.Client(), bundle: bundle, args: args}
	e.trace = filepath.Join(e.dir, "trace")
	installCRDs(t)
	for i := 2; ; i++ {
		_, err := e.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		e.ns = fmt.Sprintf("%s-%d", base, i)
	}
	_, err := e.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-watch"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return e
}

// start launches the operator and waits until it is ready.
func (e *env) start() {
	e.t.Helper()
	e.launch(testCluster.Kubeconfig)
	e.op.WaitReady(e.t, 60*time.Second)
}

// launch starts the operator against the API server of kubeconfig without
// waiting for readiness.
func (e *env) launch(kubeconfig string) {
	e.t.Helper()
	e.op = process.Start(e.t, process.Options{
		Binary: binary, Kubeconfig: kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
		Env:  []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir},
		Args: e.args,
	})
}

// traceLines returns the trace file's lines.
func (e *env) traceLines() []string {
	f, err := os.Open(e.trace)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, s.Text())
	}
	return out
}

func (e *env) count(line string) int {
	n := 0
	for _, l := range e.traceLines() {
		if l == line {
			n++
		}
	}
	return n
}

// eventually polls cond until it returns "" (satisfied) or the timeout
// passes; the last message explains the failure.
func (e *env) eventually(timeout time.Duration, cond func() string) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setConfig merges keys into the operator's ConfigMap (a "" value removes a key).
func (e *env) setConfig(kv map[string]string) {
	e.t.Helper()
	ctx := context.Background()
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	for range 10 {
		cm, err := cms.Get(ctx, "addon-operator", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "addon-operator", Namespace: e.ns}}
			applyKV(cm, kv)
			if _, err = cms.Create(ctx, cm, metav1.CreateOptions{}); err == nil {
				return
			}
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		applyKV(cm, kv)
		if _, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			e.t.Fatal(err)
		}
	}
	e.t.Fatal("could not update the ConfigMap")
}

func applyKV(cm *corev1.ConfigMap, kv map[string]string) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	for k, v := range kv {
		if v == "" {
			delete(cm.Data, k)
		} else {
			cm.Data[k] = v
		}
	}
}

// configMapData returns a ConfigMap's data, nil when it does not exist.
func (e *env) configMapData(ns, name string) map[string]string {
	cm, err := e.client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if cm.Data == nil {
		return map[string]string{}
	}
	return cm.Data
}

// revision returns the release's last revision and status (0, "" when there
// is no release), from Helm's release Secrets.
func (e *env) revision(release string) (int, string) {
	list, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + release})
	if err != nil {
		e.t.Fatal(err)
	}
	rev, status := 0, ""
	for _, s := range list.Items {
		var v int
		fmt.Sscanf(s.Labels["version"], "%d", &v)
		if v > rev {
			rev, status = v, s.Labels["status"]
		}
	}
	return rev, status
}

// installCRDs creates the operator's CRDs (deploy/crds: Module, Release),
// as `kubectl apply -k deploy/` does, and waits until they are served.
func installCRDs(t *testing.T) {
	t.Helper()
	files, err := filepath.Glob("../../deploy/crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in deploy/crds: %v", err)
	}
	client := apiextensions.NewForConfigOrDie(testCluster.Config).ApiextensionsV1().CustomResourceDefinitions()
	ctx := context.Background()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := client.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !established(ctx, client, crd.Name) {
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not established", crd.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func established(ctx context.Context, client apiextensionsclient.CustomResourceDefinitionInterface, name string) bool {
	got, err := client.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, c := range got.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
