package helm_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/test/poll"
)

// requestLog records the requests of the clients made from its config.
type requestLog struct {
	mu   sync.Mutex
	reqs []*http.Request
}

// config returns a copy of the test cluster's config whose requests l
// records.
func (l *requestLog) config() *rest.Config {
	cfg := rest.CopyConfig(testCluster.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			l.mu.Lock()
			l.reqs = append(l.reqs, r)
			l.mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// objectReads returns "VERB path" (GET, LIST or WATCH) of the recorded requests for the
// resources given (plural names), leaving out Helm's reads of its release
// records, and forgets every recorded request.
func (l *requestLog) objectReads(resources ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		if strings.Contains(r.URL.Query().Get("labelSelector"), "owner=helm") {
			continue
		}
		parts := strings.Split(r.URL.Path, "/")
		for i, p := range parts {
			if i > 0 && parts[i-1] != "namespaces" && contains(resources, p) {
				verb := r.Method
				switch {
				case r.URL.Query().Get("watch") == "true":
					verb = "WATCH"
				case verb == http.MethodGet && i == len(parts)-1:
					verb = "LIST"
				}
				out = append(out, verb+" "+r.URL.Path)
				break
			}
		}
	}
	l.reqs = nil
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// spreadChart writes a chart whose objects are named after the release and
// lie in three scopes: the release namespace (a ConfigMap, a Secret, a
// ServiceAccount), the namespace .Values.spread.other (a ConfigMap) and
// the cluster (a ClusterRole named <.Values.spread.prefix>-<release>).
func spreadChart(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "spread")
	files := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: spread\nversion: 0.1.0\n",
		"templates/objects.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}
stringData:
  key: value
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Values.spread.other }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Values.spread.prefix }}-{{ .Release.Name }}
rules: []
`,
	}
	writeChart(t, dir, files)
	return dir
}

// writeChart writes a chart's files (path in the chart: text) to dir.
func writeChart(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runMonitor runs m until the test ends and fails the test if it
// stopped with an error.
func runMonitor(t testing.TB, m *helm.Monitor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("monitor: %v", err)
		}
	})
}

// startTrackingMonitor runs a Monitor made from cfg until the test ends.
func startTrackingMonitor(t testing.TB, cfg *rest.Config) *helm.Monitor {
	t.Helper()
	m, err := helm.NewMonitor(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	runMonitor(t, m)
	return m
}

// waitReported reports whether the Monitor reports release within timeout.
func waitReported(m *helm.Monitor, release string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case got := <-m.Events():
			if got == release {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// With the Monitor's watches as its cache, the check for missing objects
// of unchanged releases costs one list and one watch per resource type and
// namespace, however many releases and objects there are: no request per
// object. Objects deleted in the release namespace, in another namespace
// and cluster-wide are still found missing, and re-created.
func TestMissingCostsPerKind(t *testing.T) {
	const releases = 8
	ctx := testContext(t)
	ns, other := newNamespace(t), newNamespace(t)
	dir := spreadChart(t)
	vals := testValues(t, fmt.Sprintf("spread: {other: %s, prefix: %s}", other, ns))
	setup := newClient(t, ns)
	names := make([]string, releases)
	objects := map[string][]helm.ObjectRef{}
	for i := range names {
		names[i] = fmt.Sprintf("spread-%d", i+1)
		res, err := setup.Deploy(ctx, names[i], dir, vals)
		if err != nil {
			t.Fatal(err)
		}
		objects[names[i]] = res.Objects
		t.Cleanup(func() {
			_ = kube().RbacV1().ClusterRoles().Delete(context.Background(), ns+"-"+names[i], metav1.DeleteOptions{})
		})
	}

	var log requestLog
	m := startTrackingMonitor(t, log.config())
	c, err := helm.New(log.config(), helm.Config{Namespace: ns, Timeout: time.Minute}, nil, helm.WithObjectCache(m))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		m.Track(name, objects[name])
	}
	// configmaps in ns and other, secrets, serviceaccounts, clusterroles.
	const watched = 5
	poll.Until(t, 50*time.Millisecond, 10*time.Second, "the monitor's watches synced", func() error {
		if n := m.SyncedWatches(); n != watched {
			return fmt.Errorf("%d of %d watches synced", n, watched)
		}
		return nil
	})

	for _, name := range names {
		res, err := c.Deploy(ctx, name, dir, vals)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != helm.ReasonUnchanged || res.Applied {
			t.Fatalf("deploy %s: reason %s applied %v, want unchanged", name, res.Reason, res.Applied)
		}
	}
	reads := log.objectReads("configmaps", "secrets", "serviceaccounts", "clusterroles")
	for _, r := range reads {
		if strings.HasPrefix(r, "GET ") {
			t.Errorf("read of one object: %s", r)
		}
	}
	if len(reads) > 2*watched {
		t.Errorf("%d object reads for %d releases of %d objects, want at most a list and a watch for each of %d types and namespaces:\n%s",
			len(reads), releases, len(objects[names[0]]), watched, strings.Join(reads, "\n"))
	}

	unlabel := func(t testing.TB, o helm.ObjectRef) {
		cms := kube().CoreV1().ConfigMaps(o.Namespace)
		cm, err := cms.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		delete(cm.Labels, helm.ModuleLabel)
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		release string
		lost    helm.ObjectRef
		lose    func(testing.TB, helm.ObjectRef)
	}{
		{"in the release namespace", names[0], helm.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: names[0]}, deleteObject},
		{"in another namespace", names[1], helm.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: other, Name: names[1]}, deleteObject},
		{"cluster-scoped", names[2], helm.ObjectRef{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: ns + "-" + names[2]}, deleteObject},
		// The watches select by the module label: without it the object
		// is as good as gone to them, and only an upgrade puts it back.
		{"module label removed", names[3], helm.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: names[3]}, unlabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.lose(t, tc.lost)
			// The release is reported once the watch has seen the deletion
			// (an earlier release may be reported again before it).
			if !waitReported(m, tc.release, 10*time.Second) {
				t.Fatalf("monitor did not report %s", tc.release)
			}
			missing, err := c.Missing(ctx, tc.release)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]helm.ObjectRef{tc.lost}, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			res, err := c.Deploy(ctx, tc.release, dir, vals)
			if err != nil {
				t.Fatal(err)
			}
			if res.Reason != helm.ReasonResourcesMissing || !res.Applied || res.Revision != 2 {
				t.Errorf("deploy: revision %d reason %s applied %v, want revision 2 resources-missing", res.Revision, res.Reason, res.Applied)
			}
			if got := objectLabels(t, ns, tc.lost)[helm.ModuleLabel]; got != tc.release {
				t.Errorf("%s not re-created with its module label: %q", tc.lost, got)
			}
		})
	}
}
