package helm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/test/poll"
)

// driftStartReleases is how many spread releases the start-up tests deploy.
const driftStartReleases = 6

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
func startDriftMonitor(t *testing.T, ns string, log *requestLog, objects map[string][]helm.ObjectRef) (*helm.Monitor, *driftCounter) {
	t.Helper()
	c, err := helm.New(log.config(), helm.Config{Namespace: ns, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := helm.NewMonitor(testCluster.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs := &driftCounter{}
	m.WatchDrift(c, obs)
	m.SetDriftPolicy(helm.DriftPolicy{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("monitor: %v", err)
		}
	})
	for name, objs := range objects {
		m.Track(name, objs)
	}
	// configmaps in ns and other, secrets, serviceaccounts, clusterroles.
	const watched = 5
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
	_, obs := startDriftMonitor(t, ns, &log, objects)
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
