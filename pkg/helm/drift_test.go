package helm_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/test/poll"
)

// driftCounter is a DriftObserver that counts checks and keeps corrections.
type driftCounter struct {
	mu          sync.Mutex
	checks      int
	corrections []helm.DriftCorrection
}

func (d *driftCounter) DriftChecked(string) {
	d.mu.Lock()
	d.checks++
	d.mu.Unlock()
}

func (d *driftCounter) DriftCorrected(c helm.DriftCorrection) {
	d.mu.Lock()
	d.corrections = append(d.corrections, c)
	d.mu.Unlock()
}

func (d *driftCounter) counts() (checks, corrections int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checks, len(d.corrections)
}

// settled waits until no check was made for half a second and returns the
// counts then.
func (d *driftCounter) settled(t *testing.T) (checks, corrections int) {
	t.Helper()
	checks, corrections = d.counts()
	stable := time.Now()
	for time.Since(stable) < 500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
		c, n := d.counts()
		if c != checks || n != corrections {
			checks, corrections, stable = c, n, time.Now()
		}
	}
	return checks, corrections
}

// driftEnv is a deployed echo-server release watched for drift.
type driftEnv struct {
	t   *testing.T
	ns  string
	c   *helm.Client
	m   *helm.Monitor
	obs *driftCounter
}

const echoValues = "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}"

// newDriftEnv deploys echo-server, starts a Monitor with drift detection
// under policy and waits until the checks of the objects found when the
// watches began are done.
func newDriftEnv(t *testing.T, policy helm.DriftPolicy) *driftEnv {
	t.Helper()
	return newDriftEnvWith(t, policy, testCluster.Config)
}

// newDriftEnvWith is newDriftEnv with the Helm client's requests sent
// through cfg.
// startDriftWatch runs a Monitor checking drift through c under policy
// until the test ends. log may be nil.
func startDriftWatch(t *testing.T, c *helm.Client, policy helm.DriftPolicy, log *slog.Logger) (*helm.Monitor, *driftCounter) {
	t.Helper()
	m, err := helm.NewMonitor(testCluster.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	obs := &driftCounter{}
	m.WatchDrift(c, obs)
	m.SetDriftPolicy(policy)
	runMonitor(t, m)
	return m, obs
}

func newDriftEnvWith(t *testing.T, policy helm.DriftPolicy, cfg *rest.Config) *driftEnv {
	t.Helper()
	ctx := testContext(t)
	ns := newNamespace(t)
	c, err := helm.New(cfg, helm.Config{Namespace: ns, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Deploy(ctx, "echo-server", moduleDir("010-echo-server"), testValues(t, echoValues))
	if err != nil {
		t.Fatal(err)
	}
	m, obs := startDriftWatch(t, c, policy, nil)
	m.Track("echo-server", res.Objects)
	e := &driftEnv{t: t, ns: ns, c: c, m: m, obs: obs}
	// Every object of the release is checked once when its type's watch
	// lists it; a fresh release has no drift.
	poll.True(t, 50*time.Millisecond, 10*time.Second, "initial checks", m.DriftIdle)
	if _, n := obs.settled(t); n != 0 {
		t.Fatalf("%d corrections of a freshly deployed release, want none", n)
	}
	return e
}

func (e *driftEnv) deployment() *appsv1.Deployment {
	e.t.Helper()
	d, err := kube().AppsV1().Deployments(e.ns).Get(context.Background(), "echo-server", metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// edit changes the Deployment as kubectl edit would (an update by the
// manager "kubectl-edit").
func (e *driftEnv) edit(change func(*appsv1.Deployment)) {
	e.t.Helper()
	d := e.deployment()
	change(d)
	if _, err := kube().AppsV1().Deployments(e.ns).Update(context.Background(), d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		e.t.Fatal(err)
	}
}

// scale sets the replicas as kubectl scale does (the scale subresource).
func (e *driftEnv) scale(n int32) {
	e.t.Helper()
	s, err := kube().AppsV1().Deployments(e.ns).GetScale(context.Background(), "echo-server", metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := kube().AppsV1().Deployments(e.ns).UpdateScale(context.Background(), "echo-server", s, metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
		e.t.Fatal(err)
	}
}

func image(d *appsv1.Deployment) string { return d.Spec.Template.Spec.Containers[0].Image }

const chartImage = "registry.example.com/addons/echo-server:1.0"

// waitDeployment polls until cond holds for the Deployment.
func (e *driftEnv) waitDeployment(what string, cond func(*appsv1.Deployment) bool) {
	e.t.Helper()
	poll.True(e.t, 50*time.Millisecond, 5*time.Second, what, func() bool { return cond(e.deployment()) })
}

// Changes to fields the chart sets are corrected within seconds, each by
// one correction that names the changed paths; the correction's own write
// does not cause another one.
func TestDriftCorrected(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{})
	tests := []struct {
		name  string
		edit  func()
		path  string
		fixed func(*appsv1.Deployment) bool
	}{
		{
			name:  "image",
			edit:  func() { e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:1" }) },
			path:  "/spec/template/spec/containers/0/image",
			fixed: func(d *appsv1.Deployment) bool { return image(d) == chartImage },
		},
		{
			name:  "replicas",
			edit:  func() { e.scale(5) },
			path:  "/spec/replicas",
			fixed: func(d *appsv1.Deployment) bool { return *d.Spec.Replicas == 1 },
		},
		{
			name:  "chart-set label",
			edit:  func() { e.edit(func(d *appsv1.Deployment) { d.Labels["app"] = "evil" }) },
			path:  "/metadata/labels/app",
			fixed: func(d *appsv1.Deployment) bool { return d.Labels["app"] == "echo-server" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, before := e.obs.counts()
			tt.edit()
			e.waitDeployment(tt.name+" restored", tt.fixed)
			_, after := e.obs.settled(t)
			if after != before+1 {
				t.Fatalf("%d corrections, want 1", after-before)
			}
			e.obs.mu.Lock()
			got := e.obs.corrections[len(e.obs.corrections)-1]
			e.obs.mu.Unlock()
			if got.Release != "echo-server" || got.Object.Kind != "Deployment" || got.UID == "" || !slices.Contains(got.Paths, tt.path) {
				t.Errorf("correction %+v, want one of Deployment echo-server naming %s", got, tt.path)
			}
			if d := e.m.Drift("echo-server"); d != nil {
				t.Errorf("drift reported after a correction: %+v", d)
			}
		})
	}
}

// A write by someone else between a check's read of the object and its
// dry run is not taken for drift: the check reads the object again until
// the dry run was made on the version it read (a controller writing the
// Deployment's revision annotation right after a correction did that).
func TestDriftCheckRacedByAnotherWrite(t *testing.T) {
	var armed atomic.Bool
	cfg := rest.CopyConfig(testCluster.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Query().Get("dryRun") != "" && strings.HasSuffix(r.URL.Path, "/deployments/echo-server") && armed.CompareAndSwap(true, false) {
				ns := strings.Split(r.URL.Path, "/")[5] // /apis/apps/v1/namespaces/<ns>/deployments/echo-server
				patch := `{"metadata":{"annotations":{"example.com/between":"read-and-dry-run"}}}`
				if _, err := kube().AppsV1().Deployments(ns).Patch(r.Context(), "echo-server", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "other"}); err != nil {
					t.Errorf("the racing write: %v", err)
				}
			}
			return rt.RoundTrip(r)
		})
	})
	e := newDriftEnvWith(t, helm.DriftPolicy{}, cfg)
	_, before := e.obs.counts()
	armed.Store(true)
	e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:1" })
	e.waitDeployment("image restored", func(d *appsv1.Deployment) bool { return image(d) == chartImage })
	_, after := e.obs.settled(t)
	if armed.Load() {
		t.Fatal("no dry run was raced")
	}
	e.obs.mu.Lock()
	got := slices.Clone(e.obs.corrections[before:])
	e.obs.mu.Unlock()
	if after != before+1 || !slices.Equal(got[0].Paths, []string{"/spec/template/spec/containers/0/image"}) {
		t.Errorf("corrections %+v, want one naming only the image", got)
	}
}

// A field the chart does not set, written by another field manager, is
// not drift: it is never corrected nor reported, and stays.
func TestDriftLeavesOtherManagersFields(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{})
	checks, _ := e.obs.counts()
	patch := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"echo-server","namespace":%q,"annotations":{"example.com/owner":"other"}}}`, e.ns)
	if _, err := kube().AppsV1().Deployments(e.ns).Patch(context.Background(), "echo-server", types.ApplyPatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: "other"}); err != nil {
		t.Fatal(err)
	}
	poll.True(t, 50*time.Millisecond, 5*time.Second, "the annotation checked", func() bool {
		c, _ := e.obs.counts()
		return c > checks
	})
	if _, n := e.obs.settled(t); n != 0 {
		t.Errorf("%d corrections of another manager's annotation, want none", n)
	}
	if got := e.deployment().Annotations["example.com/owner"]; got != "other" {
		t.Errorf("annotation %q, want other", got)
	}
	if d := e.m.Drift("echo-server"); d != nil {
		t.Errorf("drift reported: %+v", d)
	}
}

// Warn reports a change and leaves it; reverting it clears the report;
// switching to Correct corrects it.
func TestDriftWarn(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{Modules: map[string]helm.ModuleDriftPolicy{"echo-server": {Mode: helm.DriftWarn}}})
	e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:1" })
	poll.True(t, 50*time.Millisecond, 5*time.Second, "drift reported", func() bool { return len(e.m.Drift("echo-server")) == 1 })
	d := e.m.Drift("echo-server")[0]
	if d.Object.Kind != "Deployment" || !slices.Equal(d.Paths, []string{"/spec/template/spec/containers/0/image"}) ||
		!strings.Contains(d.Diff, `- /spec/template/spec/containers/0/image: "evil:1"`) || !strings.Contains(d.Diff, `"`+chartImage+`"`) {
		t.Errorf("report %+v", d)
	}
	if _, n := e.obs.settled(t); n != 0 {
		t.Errorf("%d corrections under Warn, want none", n)
	}
	if got := image(e.deployment()); got != "evil:1" {
		t.Errorf("image %q under Warn, want evil:1 kept", got)
	}

	e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = chartImage })
	poll.True(t, 50*time.Millisecond, 5*time.Second, "report cleared after a revert", func() bool { return e.m.Drift("echo-server") == nil })

	e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:2" })
	poll.True(t, 50*time.Millisecond, 5*time.Second, "drift reported again", func() bool { return len(e.m.Drift("echo-server")) == 1 })
	e.m.SetDriftPolicy(helm.DriftPolicy{})
	e.waitDeployment("corrected once the policy is Correct", func(d *appsv1.Deployment) bool { return image(d) == chartImage })
	poll.True(t, 50*time.Millisecond, 5*time.Second, "report cleared after the correction", func() bool { return e.m.Drift("echo-server") == nil })
}

// An ignored pointer keeps its live value while the rest is corrected.
func TestDriftIgnorePointer(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{Modules: map[string]helm.ModuleDriftPolicy{"echo-server": {
		Ignore: []helm.DriftIgnoreRule{{Kind: "Deployment", Name: "echo-server", Paths: []string{"/spec/replicas"}}},
	}}})
	checks, _ := e.obs.counts()
	e.scale(3)
	poll.True(t, 50*time.Millisecond, 5*time.Second, "the scale checked", func() bool {
		c, _ := e.obs.counts()
		return c > checks
	})
	if _, n := e.obs.settled(t); n != 0 {
		t.Errorf("%d corrections of an ignored field, want none", n)
	}
	e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:1" })
	e.waitDeployment("image corrected", func(d *appsv1.Deployment) bool { return image(d) == chartImage })
	if got := *e.deployment().Spec.Replicas; got != 3 {
		t.Errorf("replicas %d after the correction, want the ignored live value 3", got)
	}
}

// Writes to the status subresource, as controllers make all the time,
// cause no check at all.
func TestDriftIgnoresStatusWrites(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{})
	checks, _ := e.obs.settled(t)
	for i := range 5 {
		d := e.deployment()
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.UpdatedReplicas = 1, int32(i%2)
		if _, err := kube().AppsV1().Deployments(e.ns).UpdateStatus(context.Background(), d, metav1.UpdateOptions{FieldManager: "deployment-controller"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // a bounded wait for checks that must not come
	if got, _ := e.obs.settled(t); got != checks {
		t.Errorf("%d checks after status writes, want none", got-checks)
	}
}

// A writer that keeps changing a field back is corrected fightLimit+1
// times in a minute, then only reported.
func TestDriftBacksOffFromAFight(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{})
	for i := range 6 {
		e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("evil:%d", i) })
		e.waitDeployment("corrected", func(d *appsv1.Deployment) bool { return image(d) == chartImage })
	}
	e.edit(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:last" })
	poll.True(t, 50*time.Millisecond, 5*time.Second, "drift reported while paused", func() bool {
		d := e.m.Drift("echo-server")
		return len(d) == 1 && d[0].Paused
	})
	if _, n := e.obs.settled(t); n != 6 {
		t.Errorf("%d corrections, want 6", n)
	}
	if got := image(e.deployment()); got != "evil:last" {
		t.Errorf("image %q while paused, want evil:last kept", got)
	}
}

// A Helm upgrade changes the objects too: it is not drift, whether the
// checks its writes cause run before or after the new revision is
// deployed.
func TestDriftNotCausedByUpgrade(t *testing.T) {
	e := newDriftEnv(t, helm.DriftPolicy{})
	checks, _ := e.obs.counts()
	res, err := e.c.Deploy(testContext(t), "echo-server", moduleDir("010-echo-server"),
		testValues(t, "echoServer: {replicas: 2, port: 8080, greeting: hello, tag: '2.0'}"))
	if err != nil {
		t.Fatal(err)
	}
	e.m.Track("echo-server", res.Objects)
	poll.True(t, 50*time.Millisecond, 5*time.Second, "the upgrade's writes checked", func() bool {
		c, _ := e.obs.counts()
		return c > checks
	})
	if _, n := e.obs.settled(t); n != 0 {
		t.Errorf("%d corrections after an upgrade, want none", n)
	}
	if d := e.deployment(); image(d) != "registry.example.com/addons/echo-server:2.0" || *d.Spec.Replicas != 2 {
		t.Errorf("image %s replicas %d, want the upgrade's 2.0 and 2", image(d), *d.Spec.Replicas)
	}
}
