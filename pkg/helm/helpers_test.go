package helm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/cluster"
)

var testCluster *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, cluster.Options{}, &testCluster)) }

// bundleValues are the bundle's global values, as the operator passes them.
const bundleValues = `
global:
  discovery:
    clusterDomain: cluster.local
  modulesImages:
    registry: registry.example.com/addons
`

// moduleDir is the chart directory of a test module ("010-echo-server").
func moduleDir(dir string) string {
	return filepath.Join("testdata", "bundle", "modules", dir)
}

// testValues merges the bundle's global values with a module section given
// as YAML.
func testValues(t testing.TB, module string) values.Values {
	t.Helper()
	global, err := values.FromYAML([]byte(bundleValues))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := values.FromYAML([]byte(module))
	if err != nil {
		t.Fatal(err)
	}
	return values.Merge(global, mod)
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newNamespace creates a namespace of its own for a test's releases.
func newNamespace(t testing.TB) string {
	t.Helper()
	cs := testCluster.Client()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "helm-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func newClient(t testing.TB, ns string, opts ...helm.Option) *helm.Client {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := helm.New(testCluster.Config, helm.Config{Namespace: ns, Timeout: time.Minute}, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testWriter sends log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func kube() kubernetes.Interface { return testCluster.Client() }

func configMap(t testing.TB, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := kube().CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("configmap %s/%s: %v", ns, name, err)
	}
	return cm
}

// gone is nil when a Get returned NotFound, and says why not otherwise.
func gone(_ any, err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		return errors.New("still exists")
	}
	return err
}

// recorder is an Observer that keeps the operations it saw.
type recorder struct {
	mu  sync.Mutex
	ops []string
}

func (r *recorder) HelmOperation(_, op string, _ float64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		op += " (error)"
	}
	r.ops = append(r.ops, op)
}

// take returns the operations seen since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := r.ops
	r.ops = nil
	return ops
}

// resources maps the kinds the tests deploy to their resources.
var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":                {Version: "v1", Resource: "configmaps"},
	"Secret":                   {Version: "v1", Resource: "secrets"},
	"Service":                  {Version: "v1", Resource: "services"},
	"ServiceAccount":           {Version: "v1", Resource: "serviceaccounts"},
	"Deployment":               {Group: "apps", Version: "v1", Resource: "deployments"},
	"ClusterRole":              {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"CustomResourceDefinition": {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
	"BackupSchedule":           {Group: "backup.seedops.io", Version: "v1alpha1", Resource: "backupschedules"},
	"BackupStore":              {Group: "backup.seedops.io", Version: "v1alpha1", Resource: "backupstores"},
}

// getObject reads an object's metadata.
func getObject(ctx context.Context, ns string, o helm.ObjectRef) (*metav1.PartialObjectMetadata, error) {
	mc, err := metadata.NewForConfig(testCluster.Config)
	if err != nil {
		return nil, err
	}
	gvr, ok := resources[o.Kind]
	if !ok {
		return nil, fmt.Errorf("test does not know kind %s", o.Kind)
	}
	if o.Namespace == "" {
		return mc.Resource(gvr).Get(ctx, o.Name, metav1.GetOptions{})
	}
	return mc.Resource(gvr).Namespace(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
}

func objectLabels(t testing.TB, ns string, o helm.ObjectRef) map[string]string {
	t.Helper()
	obj, err := getObject(context.Background(), ns, o)
	if err != nil {
		t.Fatalf("%s: %v", o, err)
	}
	return obj.Labels
}

// deleteObject deletes an object as a user would.
func deleteObject(t testing.TB, o helm.ObjectRef) {
	t.Helper()
	mc, err := metadata.NewForConfig(testCluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	gvr := resources[o.Kind]
	if o.Namespace == "" {
		err = mc.Resource(gvr).Delete(context.Background(), o.Name, metav1.DeleteOptions{})
	} else {
		err = mc.Resource(gvr).Namespace(o.Namespace).Delete(context.Background(), o.Name, metav1.DeleteOptions{})
	}
	if err != nil {
		t.Fatalf("delete %s: %v", o, err)
	}
}
