package hook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dlog "github.com/deckhouse/deckhouse/pkg/log"
	metricsstorage "github.com/deckhouse/deckhouse/pkg/metrics-storage"
	sometrics "github.com/flant/shell-operator/pkg/metrics"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/poll"
)

var testCluster *cluster.Cluster

// The controller-manager runs so that the garbage collector finishes foreground deletes.
func TestMain(m *testing.M) {
	os.Exit(cluster.Main(m, cluster.Options{ControllerManager: true}, &testCluster))
}

// recorder collects engine events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) handle(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	poll.True(t, 20*time.Millisecond, d, what, cond)
}

// eventOf reports whether events hold one of h whose contexts contain
// every part of want.
func eventOf(e *Engine, events []Event, h *Hook, want ...string) bool {
	for _, ev := range events {
		if ev.Hook != h {
			continue
		}
		data, _ := ContextsJSON(e.Snapshots(h, ev.Contexts))
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(string(data), w) }) {
			return true
		}
	}
	return false
}

func startEngine(t testing.TB, rec *recorder, opts ...EngineOption) *Engine {
	t.Helper()
	e, err := NewEngine(testCluster.Config, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(os.Stderr, nil)), dlog.NewNop(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Start(ctx) }()
	go func() {
		for {
			select {
			case ev := <-e.Events():
				rec.handle(ev)
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	return e
}

func createNamespace(t testing.TB, name string) {
	t.Helper()
	_, err := testCluster.Client().CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// A kubernetes binding with a jqFilter: Synchronization lists what exists,
// then an event fires only when the filtered result changes. With
// keepFullObjectsInMemory: false the engine keeps only the filter results
// (its own monitor) and the hook sees no objects, otherwise shell-operator's
// monitor keeps and passes them; events are the same.
func TestEngineKubernetesBindingJqFilter(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run("keepFullObjectsInMemory="+strconv.FormatBool(keep), func(t *testing.T) { testJqFilterBinding(t, keep) })
	}
}

func testJqFilterBinding(t *testing.T, keep bool) {
	ctx := context.Background()
	ns := "engine-jq-" + strconv.FormatBool(keep)
	createNamespace(t, ns)
	cms := testCluster.Client().CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first", Labels: map[string]string{"watch": "me"}}, Data: map[string]string{"size": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig([]byte(`configVersion: v1
kubernetes:
- name: sized
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [`+ns+`]}}
  labelSelector: {matchLabels: {watch: me}}
  jqFilter: .data.size
  keepFullObjectsInMemory: `+strconv.FormatBool(keep)+`
  queue: sizes
`), true)
	if err != nil {
		t.Fatal(err)
	}
	h := &Hook{Name: "sizes.sh", ValuesKey: "global", Bindings: cfg}
	rec := &recorder{}
	e := startEngine(t, rec)

	syncs, err := e.Enable(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(syncs) != 1 || !syncs[0].Sync || syncs[0].Queue != "sizes" || syncs[0].Binding != "sized" || !syncs[0].Execute {
		t.Fatalf("synchronization events = %+v", syncs)
	}
	data, err := ContextsJSON(e.Snapshots(h, syncs[0].Contexts))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got[0]["type"] != "Synchronization" || len(got[0]["objects"].([]any)) != 1 {
		t.Fatalf("synchronization context = %s", data)
	}
	first := got[0]["objects"].([]any)[0].(map[string]any)
	if fr := first["filterResult"]; fr != "1" {
		t.Errorf("filterResult = %v, want \"1\"", fr)
	}
	if _, hasObject := first["object"]; hasObject != keep {
		t.Errorf("the synchronization context has the object: %v, want %v", hasObject, keep)
	}
	e.Unlock(h)

	// A change outside the filter: no event. A change inside: one event.
	cm, _ := cms.Get(ctx, "first", metav1.GetOptions{})
	cm.Annotations = map[string]string{"unrelated": "change"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, _ = cms.Get(ctx, "first", metav1.GetOptions{})
	cm.Data["size"] = "2"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The watch delivers the object's changes in order: an event wrongly
	// fired for the annotation comes before the one of the size change.
	waitFor(t, 30*time.Second, "the size change event", func() bool {
		return eventOf(e, rec.snapshot(), h, `"filterResult":"2"`)
	})
	events := rec.snapshot()
	if len(events) != 1 {
		t.Fatalf("got %d events, want exactly 1 (the annotation change must not fire): %+v", len(events), events)
	}
	data, _ = ContextsJSON(e.Snapshots(h, events[0].Contexts))
	if !strings.Contains(string(data), `"watchEvent":"Modified"`) || !strings.Contains(string(data), `"filterResult":"2"`) {
		t.Errorf("event context = %s", data)
	}

	// A new object fires Added, its deletion Deleted; the snapshot follows.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "second", Labels: map[string]string{"watch": "me"}}, Data: map[string]string{"size": "9"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the Added event", func() bool {
		return eventOf(e, rec.snapshot(), h, `"watchEvent":"Added"`, `"filterResult":"9"`)
	})
	if err := cms.Delete(ctx, "second", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the Deleted event", func() bool {
		return eventOf(e, rec.snapshot(), h, `"watchEvent":"Deleted"`, `"filterResult":"9"`)
	})
	resync, err := e.Enable(h)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = ContextsJSON(e.Snapshots(h, resync[0].Contexts))
	if !strings.Contains(string(data), `"filterResult":"2"`) || strings.Contains(string(data), `"filterResult":"9"`) {
		t.Errorf("snapshot after the delete = %s, want first (2) only", data)
	}
	before := len(rec.snapshot())

	// Disabled hooks get no more events. A sentinel hook with the same
	// binding, enabled after Disable, sees the change that the disabled one
	// must not: once its event is in, a wrongly delivered one would be too.
	e.Disable(h)
	sentinel := &Hook{Name: "sentinel.sh", ValuesKey: "global", Bindings: cfg}
	if _, err := e.Enable(sentinel); err != nil {
		t.Fatal(err)
	}
	e.Unlock(sentinel)
	t.Cleanup(func() { e.Disable(sentinel) })
	cm, _ = cms.Get(ctx, "first", metav1.GetOptions{})
	cm.Data["size"] = "3"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the sentinel's size change event", func() bool {
		return eventOf(e, rec.snapshot(), sentinel, `"filterResult":"3"`)
	})
	var late []Event
	for _, ev := range rec.snapshot()[before:] {
		if ev.Hook == h {
			late = append(late, ev)
		}
	}
	if len(late) != 0 {
		t.Errorf("disabled hook got %d events, want none after Disable: %+v", len(late), late)
	}
}

// syncBinding is a compact binding on the ConfigMaps createConfigMaps
// makes in ns, keeping their names.
func syncBinding(t testing.TB, ns string) Bindings {
	t.Helper()
	cfg, err := ParseConfig([]byte(`configVersion: v1
kubernetes:
- name: objects
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [`+ns+`]}}
  labelSelector: {matchLabels: {bench: sync}}
  jqFilter: .metadata.name
  keepFullObjectsInMemory: false
`), true)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A Synchronization of more objects than one list page (the compact
// monitor reads pages of listPage) has every object once, sorted, and the
// binding's events start after it.
func TestEngineCompactSynchronizationPages(t *testing.T) {
	ns := "engine-pages"
	n := listPage*2 + 7
	createNamespace(t, ns)
	createConfigMaps(t, ns, n)
	h := &Hook{Name: "pages.sh", ValuesKey: "global", Bindings: syncBinding(t, ns)}
	rec := &recorder{}
	e := startEngine(t, rec)
	syncs, err := e.Enable(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Disable(h) })
	data, err := ContextsJSON(e.Snapshots(h, syncs[0].Contexts))
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Objects []struct {
			FilterResult string `json:"filterResult"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Objects) != n {
		t.Fatalf("synchronization has %d contexts, want 1 with %d objects", len(got), n)
	}
	for i, o := range got[0].Objects {
		if want := fmt.Sprintf("sync-%05d", i); o.FilterResult != want {
			t.Fatalf("object %d is %q, want %q (each object once, sorted)", i, o.FilterResult, want)
		}
	}
	e.Unlock(h)
	if len(rec.snapshot()) != 0 {
		t.Fatalf("events for objects of the Synchronization: %+v", rec.snapshot())
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late", Labels: map[string]string{"bench": "sync"}}}
	if _, err := testCluster.Client().CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the Added event of a later object", func() bool {
		return eventOf(e, rec.snapshot(), h, `"watchEvent":"Added"`, `"filterResult":"late"`)
	})
}

// What the monitors of a module hook's kubernetes binding measure reaches
// the operator's metrics, labelled as flant/addon-operator labels it.
func TestEngineMonitorMetrics(t *testing.T) {
	// keepFullObjectsInMemory false with fixed namespaces gets the compact
	// monitor, the default shell-operator's: both must report.
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepFullObjectsInMemory=%v", keep), func(t *testing.T) {
			testEngineMonitorMetrics(t, keep)
		})
	}
}

func testEngineMonitorMetrics(t *testing.T, keep bool) {
	ctx := context.Background()
	ns := fmt.Sprintf("engine-metrics-%v", keep)
	createNamespace(t, ns)
	for _, name := range []string{"a", "b"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"watch": "me"}}}
		if _, err := testCluster.Client().CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`configVersion: v1
kubernetes:
- name: watched
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [%s]}}
  labelSelector: {matchLabels: {watch: me}}
  jqFilter: .metadata.name
  keepFullObjectsInMemory: %v
  queue: cms
`, ns, keep)), false)
	if err != nil {
		t.Fatal(err)
	}
	const name = "010-demo/hooks/cms.sh"
	h := newHook(Source{Name: name, Module: "demo", ValuesKey: "demo"}, name, "/unused", cfg, nil)
	rec := &monitorRecorder{}
	e := startEngine(t, &recorder{}, WithMonitorMetrics(func(rest metricsstorage.Storage) metricsstorage.Storage {
		rec.Storage = rest
		return rec
	}))
	if _, err := e.Enable(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Disable(h) })

	labels := map[string]string{"module": "demo", "hook": name, "binding": "watched", "queue": "cms", "kind": "ConfigMap"}
	waitFor(t, 30*time.Second, "a snapshot of 2 objects and two jqFilter runs", func() bool {
		objects, jqRuns := rec.seen(labels)
		return objects == 2 && jqRuns >= 2
	})
}

// monitorRecorder records the snapshot sizes and jqFilter runs the monitors
// report, by the labels they carry (package metrics serves them).
type monitorRecorder struct {
	metricsstorage.Storage

	mu      sync.Mutex
	objects map[string]float64
	jqRuns  map[string]int
}

func (r *monitorRecorder) GaugeSet(name string, v float64, labels map[string]string) {
	if name != sometrics.KubeSnapshotObjects {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objects == nil {
		r.objects = map[string]float64{}
	}
	r.objects[fmt.Sprint(labels)] = v
}

func (r *monitorRecorder) HistogramObserve(name string, _ float64, labels map[string]string, _ []float64) {
	if name != sometrics.KubeJqFilterDurationSeconds {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jqRuns == nil {
		r.jqRuns = map[string]int{}
	}
	r.jqRuns[fmt.Sprint(labels)]++
}

// seen returns the last snapshot size and the jqFilter runs reported with
// exactly labels (-1 for no snapshot size).
func (r *monitorRecorder) seen(labels map[string]string) (float64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	objects, ok := r.objects[fmt.Sprint(labels)]
	if !ok {
		objects = -1
	}
	return objects, r.jqRuns[fmt.Sprint(labels)]
}

func TestEngineSchedule(t *testing.T) {
	cfg, err := ParseConfig([]byte("configVersion: v1\nschedule:\n- name: tick\n  crontab: \"* * * * * *\"\n  queue: cron\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	h := &Hook{Name: "m/hooks/tick.sh", Module: "m", ValuesKey: "m", Bindings: cfg}
	rec := &recorder{}
	e := startEngine(t, rec)
	if _, err := e.Enable(h); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "two schedule events", func() bool { return len(rec.snapshot()) >= 2 })
	ev := rec.snapshot()[0]
	if ev.Binding != "tick" || ev.Queue != "cron" {
		t.Errorf("event = %+v", ev)
	}
	data, _ := ContextsJSON(ev.Contexts)
	if string(data) != `[{"binding":"tick","type":"Schedule"}]`+"\n" && string(data) != `[{"binding":"tick","type":"Schedule"}]` {
		t.Errorf("schedule context = %s", data)
	}
}

// KUBERNETES_PATCH_PATH operations, as a hook writes them, reach the cluster.
func TestEngineApplyKubernetes(t *testing.T) {
	ctx := context.Background()
	ns := "engine-patch"
	createNamespace(t, ns)
	e := startEngine(t, &recorder{})
	cms := testCluster.Client().CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := strings.ReplaceAll(`
{"operation":"Create","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"created","namespace":"NS"},"data":{"a":"1"}}}
{"operation":"CreateIfNotExists","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"created","namespace":"NS"},"data":{"a":"ignored"}}}
{"operation":"CreateOrUpdate","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"upserted","namespace":"NS"},"data":{"b":"2"}}}
{"operation":"MergePatch","apiVersion":"v1","kind":"ConfigMap","namespace":"NS","name":"created","mergePatch":{"data":{"merged":"yes"}}}
{"operation":"JSONPatch","apiVersion":"v1","kind":"ConfigMap","namespace":"NS","name":"upserted","jsonPatch":[{"op":"add","path":"/data/json","value":"yes"}]}
{"operation":"JQPatch","apiVersion":"v1","kind":"ConfigMap","namespace":"NS","name":"upserted","jqFilter":".data.jq = \"yes\""}
{"operation":"Delete","apiVersion":"v1","kind":"ConfigMap","namespace":"NS","name":"doomed"}
{"operation":"DeleteInBackground","apiVersion":"v1","kind":"ConfigMap","namespace":"NS","name":"absent"}
{"operation":"DeleteNonCascading","apiVersion":"v1","kind":"ConfigMap","namespace":"NS","name":"absent-too"}
`, "NS", ns)
	dir := t.TempDir()
	path := script(t, dir, "patcher.sh", "cat > \"$KUBERNETES_PATCH_PATH\" <<'EOP'\n"+spec+"EOP\n")
	out, err := newTestRunner(t, time.Minute, nil).Run(ctx, &Hook{Name: "patcher.sh", Path: path, ValuesKey: "global"}, Input{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.KubernetesOperations) != 9 {
		t.Fatalf("parsed %d operations, want 9", len(out.KubernetesOperations))
	}
	if err := e.ApplyKubernetes(out.KubernetesOperations); err != nil {
		t.Fatal(err)
	}
	created, err := cms.Get(ctx, "created", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Data["a"] != "1" || created.Data["merged"] != "yes" {
		t.Errorf("created.data = %v", created.Data)
	}
	upserted, err := cms.Get(ctx, "upserted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if upserted.Data["b"] != "2" || upserted.Data["json"] != "yes" || upserted.Data["jq"] != "yes" {
		t.Errorf("upserted.data = %v", upserted.Data)
	}
	if _, err := cms.Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("doomed: err = %v, want NotFound", err)
	}

	// A patch of a missing object is an error naming the object.
	missing, _ := ParseOperationsForTest(`{"operation":"MergePatch","apiVersion":"v1","kind":"ConfigMap","namespace":"` + ns + `","name":"ghost","mergePatch":{"data":{"x":"y"}}}`)
	err = e.ApplyKubernetes(missing)
	if err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("patch of a missing object: error = %v, want one naming ghost", err)
	}
}
