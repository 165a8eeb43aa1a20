package bundle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/test/cluster"
)

// The API server (etcd + kube-apiserver from bin/, `make tools`) starts on
// the first test that needs it and stops after the package's tests; the
// other tests of the package run without it.
var (
	apiOnce    sync.Once
	apiCluster *cluster.Cluster
	apiErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeHookTools()
	if apiCluster != nil {
		if err := apiCluster.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "stop test cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func apiServer(t *testing.T) *cluster.Cluster {
	t.Helper()
	apiOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		apiCluster, apiErr = cluster.Start(ctx, cluster.Options{})
	})
	if apiErr != nil {
		t.Fatalf("start the API server: %v", apiErr)
	}
	return apiCluster
}

// TestServerSideDryRun sends every rendered object of every module, for
// each representative value set, to a real API server as a server-side
// dry-run create with strict field validation: what the API server would
// refuse (validation, defaulting, unknown fields) fails here.
func TestServerSideDryRun(t *testing.T) {
	c := apiServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client().Discovery()))

	for name, cases := range renderCases(t) {
		for i, rc := range cases {
			for _, o := range mustRender(t, name, rc.global, rc.section) {
				u := &unstructured.Unstructured{Object: o.raw}
				gvk := u.GroupVersionKind()
				mapping, err := mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
				if err != nil {
					t.Errorf("%s case %d: %s %s: %v", name, i, gvk.Kind, u.GetName(), err)
					continue
				}
				var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
				if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
					client = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
				}
				_, err = client.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
				if err != nil {
					t.Errorf("%s case %d: %s %s refused by the API server: %v", name, i, gvk.Kind, u.GetName(), err)
				}
			}
		}
	}
}

// TestKubernetesVersionHookOnAPIServer runs the version hook against the
// real API server with kubectl from bin/ or PATH.
func TestKubernetesVersionHookOnAPIServer(t *testing.T) {
	c := apiServer(t)
	info, err := c.Client().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	want := info.Major + "." + info.Minor
	out := runHook(t, globalHook(t, "kubernetes_version.sh"), hookInput{
		contexts:   encodeContexts(t, lifecycleContext("beforeAll", nil)),
		env:        []string{"KUBECONFIG=" + c.Kubeconfig},
		pathPrefix: filepath.Join(root(t), "bin"),
	})
	if out.exitCode != 0 {
		t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
	}
	wantPatch := []map[string]any{{"op": "add", "path": "/global/discovery/kubernetesVersion", "value": want}}
	if diff := cmp.Diff(wantPatch, ops(t, out.valuesPatch)); diff != "" {
		t.Errorf("values patch (-want +got):\n%s", diff)
	}
}
