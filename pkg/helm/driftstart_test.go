package helm_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/test/poll"
)

// driftStartReleases is how many spread releases the start-up tests deploy.
const driftStartReleases = 6

// spreadWatches are the watches of spread releases: configmaps in ns and
// other, secrets, serviceaccounts, clusterroles.
const spreadWatches = 5

// deploySpread deploys driftStartReleases spread releases in a namespace of
// their own and returns the namespace and the objects of each release.
func deploySpread(t *testing.T) (ns string, names []string, objects map[string][]helm.ObjectRef) {
	t.Helper()
	ctx := testContext(t)
	ns, other := newNamespace(t), newNamespace(t)
	dir := spreadChart(t)
	vals := testValues(t, fmt.Sprintf("spread: {other: %s, prefix: %s}", other, ns))
	setup := newClient(t, ns)
	objects = map[string][]helm.ObjectRef{}
	for i := range driftStartReleases {
		name := fmt.Sprintf("spread-%d", i+1)
		res, err := setup.Deploy(ctx, name, dir, vals)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		objects[name] = res.Objects
		t.Cleanup(func() {
			_ = kube().RbacV1().ClusterRoles().Delete(context.Background(), ns+"-"+name, metav1.DeleteOptions{})
		})
	}
	return ns, names, objects
}

// startDriftMonitor starts a Monitor checking drift through a Client whose
// requests log records (a warm restart: the releases are deployed
// already), tracks the releases and waits until the checks of the objects
// found when the watches began are done: every watch synced and no request
// made for a second.
// watched is the number of watches (resource types and namespaces) the
// objects need.
func startDriftMonitor(t *testing.T, ns string, log *requestLog, objects map[string][]helm.ObjectRef, watched int) (*helm.Monitor, *driftCounter) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := helm.New(log.config(), helm.Config{Namespace: ns, Timeout: time.Minute}, logger)
	if err != nil {
		t.Fatal(err)
	}
	m, obs := startDriftWatch(t, c, helm.DriftPolicy{}, logger)
	for name, objs := range objects {
		m.Track(name, objs)
	}
	poll.Until(t, 50*time.Millisecond, 10*time.Second, "the monitor's watches synced", func() error {
		if n := m.SyncedWatches(); n != watched {
			return fmt.Errorf("%d of %d watches synced", n, watched)
		}
		return nil
	})
	n, quiet := log.count(), time.Now()
	poll.True(t, 100*time.Millisecond, 30*time.Second, "the initial checks done", func() bool {
		if cur := log.count(); cur != n {
			n, quiet = cur, time.Now()
		}
		return time.Since(quiet) > time.Second
	})
	return m, obs
}

// count is the number of requests recorded.
func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// take returns "VERB path?query" of the recorded requests and forgets
// them; dry runs are "DRYRUN path".
func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		verb := r.Method
		if r.URL.Query().Get("dryRun") != "" {
			verb = "DRYRUN"
		}
		out = append(out, verb+" "+r.URL.Path+"?"+r.URL.RawQuery)
	}
	l.reqs = nil
	return out
}

// At a warm restart, the objects found when the watches begin are checked
// for changes made while no operator ran; untouched objects cost no
// request of their own: the release's deployed revision is read once (a
// few requests per release), and no object is read or compared in the
// API server.
func TestDriftStartCost(t *testing.T) {
	ns, names, objects := deploySpread(t)
	var log requestLog
	_, obs := startDriftMonitor(t, ns, &log, objects, spreadWatches)
	reqs := log.take()
	dryRuns := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, "DRYRUN ") {
			dryRuns++
		}
	}
	// A list of the release's records and a read of its latest one, then a
	// read of the next and the latest record for each later batch (at most
	// one per watch).
	const perRelease = 2 * 5
	t.Logf("%d requests (%d dry runs) for %d releases of %d objects", len(reqs), dryRuns, len(names), len(objects[names[0]]))
	if dryRuns != 0 {
		t.Errorf("%d dry runs of untouched objects, want none", dryRuns)
	}
	if len(reqs) > perRelease*len(names) {
		t.Errorf("%d requests for %d releases, want at most %d per release:\n%s", len(reqs), len(names), perRelease, strings.Join(reqs, "\n"))
	}
	if _, n := obs.counts(); n != 0 {
		t.Errorf("%d corrections of untouched objects, want none", n)
	}
}

// Objects changed while no operator ran are corrected when the watches
// begin: a changed value (its writer owns the field now), one forced by
// another server-side apply, a Secret's stringData forced by another apply
// (the API server writes it to data but records it as stringData), and a
// removed label (a removal leaves its writer owning nothing, so not listed
// among the field managers); the other objects cost no dry run.
func TestDriftStartCorrectsEditsMadeBefore(t *testing.T) {
	ns, names, objects := deploySpread(t)
	ctx := testContext(t)
	secrets := kube().CoreV1().Secrets(ns)
	roles := kube().RbacV1().ClusterRoles()
	edits := []struct {
		name     string
		edit     func() error
		restored func() (bool, error)
	}{
		{
			name: "secret value changed by an update",
			edit: func() error {
				s, err := secrets.Get(ctx, names[0], metav1.GetOptions{})
				if err != nil {
					return err
				}
				s.Data["key"] = []byte("edited")
				_, err = secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: func() (bool, error) {
				s, err := secrets.Get(ctx, names[0], metav1.GetOptions{})
				return err == nil && string(s.Data["key"]) == "value", err
			},
		},
		{
			name: "rules forced by another apply",
			edit: func() error {
				patch := fmt.Sprintf(`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":%q},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`, ns+"-"+names[1])
				_, err := roles.Patch(ctx, ns+"-"+names[1], types.ApplyPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "other", Force: ptr.To(true)})
				return err
			},
			restored: func() (bool, error) {
				r, err := roles.Get(ctx, ns+"-"+names[1], metav1.GetOptions{})
				return err == nil && len(r.Rules) == 0, err
			},
		},
		{
			name: "secret stringData forced by another apply (written to data, owned as stringData)",
			edit: func() error {
				patch := fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":%q},"stringData":{"key":"edited"}}`, names[3])
				_, err := secrets.Patch(ctx, names[3], types.ApplyPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "other", Force: ptr.To(true)})
				return err
			},
			restored: func() (bool, error) {
				s, err := secrets.Get(ctx, names[3], metav1.GetOptions{})
				return err == nil && string(s.Data["key"]) == "value", err
			},
		},
		{
			name: "chart-set label removed",
			edit: func() error {
				r, err := roles.Get(ctx, ns+"-"+names[2], metav1.GetOptions{})
				if err != nil {
					return err
				}
				delete(r.Labels, helm.HeritageLabel)
				_, err = roles.Update(ctx, r, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
				return err
			},
			restored: func() (bool, error) {
				r, err := roles.Get(ctx, ns+"-"+names[2], metav1.GetOptions{})
				return err == nil && r.Labels[helm.HeritageLabel] != "", err
			},
		},
	}
	for _, e := range edits {
		if err := e.edit(); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
	}

	var log requestLog
	_, obs := startDriftMonitor(t, ns, &log, objects, spreadWatches)
	for _, e := range edits {
		ok, err := e.restored()
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if !ok {
			t.Errorf("%s: not corrected", e.name)
		}
	}
	dryRuns := 0
	for _, r := range log.take() {
		if strings.HasPrefix(r, "DRYRUN ") {
			dryRuns++
		}
	}
	// Each edited object is compared twice: when the watch lists it, and
	// when the watch sees the correction's own write.
	if checks, n := obs.counts(); n != len(edits) || checks > 2*len(edits) || dryRuns != checks {
		t.Errorf("%d corrections, %d checks, %d dry runs; want %d corrections and at most %d checks, each a dry run (the edited objects only)",
			n, checks, dryRuns, len(edits), 2*len(edits))
	}
}

// selectorChart is a Deployment and a Service, whose selectors are atomic
// (and so are a container's args and envFrom): the API server records them
// owned whole, without children.
func selectorChart(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "selectors")
	writeChart(t, dir, map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: selectors\nversion: 0.1.0\n",
		"templates/objects.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app: {{ .Release.Name }}
spec:
  replicas: 0
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
      - name: main
        image: example.com/main:1
        args: [--port=80]
        envFrom:
        - configMapRef:
            name: {{ .Release.Name }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels:
    app: {{ .Release.Name }}
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
  - name: http
    port: 80
`,
	})
	return dir
}

// At a warm restart, an object whose fields are all the operator's costs
// no dry run even when some are recorded without children (a selector, a
// container's args, owned whole): the live object is read and holds the
// manifest's values there. Objects changed meanwhile are still corrected:
// a selector and a container's args taken by another writer.
func TestDriftStartAtomicFields(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	dir := selectorChart(t)
	setup := newClient(t, ns)
	objects := map[string][]helm.ObjectRef{}
	var names []string
	for i := range 3 {
		name := fmt.Sprintf("sel-%d", i+1)
		res, err := setup.Deploy(ctx, name, dir, testValues(t, "{}"))
		if err != nil {
			t.Fatal(err)
		}
		names, objects[name] = append(names, name), res.Objects
	}
	services := kube().CoreV1().Services(ns)
	// Another writer's selector: it owns the field now.
	svc, err := services.Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Selector = map[string]string{"app": "other"}
	if _, err := services.Update(ctx, svc, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}

	deployments := kube().AppsV1().Deployments(ns)
	d, err := deployments.Get(ctx, names[1], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Args = []string{"--port=81"}
	if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	var log requestLog
	_, obs := startDriftMonitor(t, ns, &log, objects, 2) // deployments, services
	dryRuns := 0
	for _, r := range log.take() {
		if strings.HasPrefix(r, "DRYRUN ") {
			dryRuns++
		}
	}
	got, err := services.Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Selector["app"] != names[0] {
		t.Errorf("service %s not corrected: selector %v", names[0], got.Spec.Selector)
	}
	if d, err = deployments.Get(ctx, names[1], metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if args := d.Spec.Template.Spec.Containers[0].Args; len(args) != 1 || args[0] != "--port=80" {
		t.Errorf("deployment %s not corrected: args %v", names[1], args)
	}
	// The two edited objects are compared (a dry run each, again when the
	// watch sees the correction); the other four are not. The
	// controller-manager writing the corrected Deployment may make a check
	// read it again: up to 3 dry runs a check.
	if checks, n := obs.counts(); n != 2 || dryRuns < checks || dryRuns > 3*checks || checks > 4 {
		t.Errorf("%d corrections, %d checks, %d dry runs; want 2 corrections and at most 4 checks, each 1 to 3 dry runs (the edited objects only)", n, checks, dryRuns)
	}
}
