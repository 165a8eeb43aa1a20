package helm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// monitorRetry is how soon the Monitor tries again to watch a kind it could
// not resolve (for example a CRD not yet established).
const monitorRetry = 30 * time.Second

// Monitor reports releases whose objects were deleted from the cluster.
//
// It watches object metadata only, one watch per resource type and
// namespace in use by the tracked releases (one cluster-wide watch for a
// cluster-scoped type), selecting objects that carry ModuleLabel. So it needs
// no right to list a namespaced type, Secrets say, in every namespace. At idle
// it holds those watches open and the metadata of the labelled objects in
// memory; nothing is polled. A type no tracked release uses any more is no
// longer watched.
//
// A deletion is reported when the deleted object belongs to the objects
// last tracked for its release; a type that starts being watched also
// reports tracked objects it does not find. Deletions made by Helm itself
// (an upgrade dropping an object) may be reported too; Deploy then finds
// nothing missing and applies nothing.
//
// With WatchDrift it also finds and corrects changes to the tracked
// objects (see WatchDrift), from the same watches; a Client made
// WithObjectCache checks for missing objects in them.
type Monitor struct {
	log    *slog.Logger
	clock  clock.WithDelayedExecution
	meta   metadata.Interface
	api    *apiView
	events chan string
	wake   chan struct{}

	mu       sync.Mutex
	running  bool
	releases map[string][]ObjectRef        // tracked objects per release
	keys     map[string]map[objectKey]bool // the same, for lookups
	watches  map[watchKey]*typeWatch
	queue    []string // releases to report, in order
	queued   map[string]bool

	// Set by WatchPending before Start.
	pendingNamespace string
	pendingGrace     time.Duration
	// Set by WatchDrift before Start; nil without drift detection.
	detector *driftWatch
}

// WatchPending makes the Monitor also report a tracked release whose
// latest revision in namespace stays in a pending state (pending-install,
// pending-upgrade, pending-rollback, uninstalling) for grace: left so by a
// process that died, or by someone else's helm. Deploy then recovers it.
// The operator's own operations are pending for a moment too; one still
// pending after grace is reported as well, and the Deploy that follows it
// finds nothing to do. Call it before Start.
func (m *Monitor) WatchPending(namespace string, grace time.Duration) {
	m.pendingNamespace, m.pendingGrace = namespace, grace
}

// objectKey identifies an object across API versions of its kind.
type objectKey struct {
	Group, Kind, Namespace, Name string
}

func keyOf(o ObjectRef) objectKey {
	gv, _ := schema.ParseGroupVersion(o.APIVersion)
	return objectKey{Group: gv.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// watchKey is a resource type and, for a namespaced type, the namespace
// watched ("" for a cluster-scoped type).
type watchKey struct {
	gvr       schema.GroupVersionResource
	namespace string
}

// typeWatch is the running informer of one resource type in one namespace.
type typeWatch struct {
	stop chan struct{}
	done chan struct{}
	// store holds the labelled objects' metadata once synced reports true.
	store  cache.Store
	synced cache.InformerSynced
	// handled reports true once the event handlers have had the objects
	// of the first list.
	handled cache.InformerSynced
}

// MonitorOption configures a Monitor.
type MonitorOption func(*Monitor)

// WithMonitorClock replaces the real clock (k8s.io/utils/clock.RealClock),
// which times the retries of failed watch setups and the pending grace of
// WatchPending. A nil c keeps the real clock.
func WithMonitorClock(c clock.WithDelayedExecution) MonitorOption {
	return func(m *Monitor) {
		if c != nil {
			m.clock = c
		}
	}
}

// NewMonitor returns a Monitor that watches nothing until releases are
// tracked. It does not contact the API server. log may be nil.
func NewMonitor(restCfg *rest.Config, log *slog.Logger, opts ...MonitorOption) (*Monitor, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	restCfg = rest.CopyConfig(restCfg)
	api, err := newAPIView(restCfg, "", clock.RealClock{})
	if err != nil {
		return nil, fmt.Errorf("helm monitor: %w", err)
	}
	mc, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("helm monitor: %w", err)
	}
	m := &Monitor{
		log:      log,
		clock:    clock.RealClock{},
		meta:     mc,
		api:      api,
		events:   make(chan string),
		wake:     make(chan struct{}, 1),
		releases: map[string][]ObjectRef{},
		keys:     map[string]map[objectKey]bool{},
		watches:  map[watchKey]*typeWatch{},
		queued:   map[string]bool{},
	}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

// Events delivers the names of releases that lost an object, each name once
// until it has been received (bursts are merged). The channel is never
// closed; stop receiving when Start's ctx is done.
func (m *Monitor) Events() <-chan string { return m.events }

// Track sets the objects watched for a release, replacing what was tracked
// before; call it after every Deploy with Result.Objects (and at startup
// with Release.Objects). Safe to call before Start and concurrently.
func (m *Monitor) Track(release string, objects []ObjectRef) {
	keys := make(map[objectKey]bool, len(objects))
	for _, o := range objects {
		keys[keyOf(o)] = true
	}
	m.mu.Lock()
	m.releases[release] = append([]ObjectRef(nil), objects...)
	m.keys[release] = keys
	m.mu.Unlock()
	m.signal()
}

// Untrack stops watching a release's objects and drops a pending report of
// it; call it before Uninstall. Safe to call before Start and concurrently.
func (m *Monitor) Untrack(release string) {
	m.mu.Lock()
	delete(m.releases, release)
	delete(m.keys, release)
	if m.queued[release] {
		delete(m.queued, release)
		for i, r := range m.queue {
			if r == release {
				m.queue = append(m.queue[:i], m.queue[i+1:]...)
				break
			}
		}
	}
	m.mu.Unlock()
	m.forgetRelease(release)
	m.signal()
}

// Start watches until ctx is done, then stops every watch and returns nil.
// It may run once at a time.
func (m *Monitor) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("helm monitor: already started")
	}
	m.running = true
	m.mu.Unlock()
	defer m.stopAll()
	if m.detector != nil {
		var checks sync.WaitGroup
		dctx, stop := context.WithCancel(ctx)
		checks.Go(func() { m.runDrift(dctx) })
		defer checks.Wait()
		defer stop()
	}
	if m.pendingNamespace != "" {
		stop := m.watchPending()
		defer stop()
	}

	var retry <-chan time.Time
	if !m.sync() {
		retry = m.clock.After(monitorRetry)
	}
	for {
		m.mu.Lock()
		var out chan string
		var next string
		if len(m.queue) > 0 {
			out, next = m.events, m.queue[0]
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
			if !m.sync() && retry == nil {
				retry = m.clock.After(monitorRetry)
			}
		case <-retry:
			retry = nil
			if !m.sync() {
				retry = m.clock.After(monitorRetry)
			}
		case out <- next:
			m.mu.Lock()
			if len(m.queue) > 0 && m.queue[0] == next {
				m.queue = m.queue[1:]
				delete(m.queued, next)
			}
			m.mu.Unlock()
		}
	}
}

func (m *Monitor) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// report queues a release for Events.
func (m *Monitor) report(release string) {
	m.mu.Lock()
	if _, tracked := m.releases[release]; tracked && !m.queued[release] {
		m.queued[release] = true
		m.queue = append(m.queue, release)
	}
	m.mu.Unlock()
	m.signal()
}

// sync starts watches for the types the tracked releases use and stops the
// others. It reports false when a type could not be resolved.
func (m *Monitor) sync() bool {
	type kindIn struct {
		gvk       schema.GroupVersionKind
		namespace string
	}
	m.mu.Lock()
	kinds := map[kindIn]bool{}
	for _, objs := range m.releases {
		for _, o := range objs {
			kinds[kindIn{schema.FromAPIVersionAndKind(o.APIVersion, o.Kind), o.Namespace}] = true
		}
	}
	m.mu.Unlock()

	ok := true
	want := map[watchKey]schema.GroupKind{}
	for k := range kinds {
		mapping, err := m.api.mapper.RESTMapping(k.gvk.GroupKind(), k.gvk.Version)
		if err != nil {
			m.log.Warn("cannot watch a kind of a release's objects", "kind", k.gvk.String(), "error", err)
			ok = false
			continue
		}
		ns := ""
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns = k.namespace
		}
		want[watchKey{mapping.Resource, ns}] = k.gvk.GroupKind()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.watches {
		if _, keep := want[k]; !keep {
			close(w.stop)
			delete(m.watches, k)
			m.log.Debug("stopped watching a resource type", "resource", k.gvr.String(), "namespace", k.namespace)
		}
	}
	for k, gk := range want {
		if _, running := m.watches[k]; !running {
			m.watches[k] = m.watch(k, gk)
			m.log.Debug("watching a resource type", "resource", k.gvr.String(), "namespace", k.namespace)
		}
	}
	return ok
}

// watchPending starts an informer on Helm's release Secrets (their
// metadata: the labels name, status and version) and returns its stop. A
// Secret seen pending gets one timer, checking it after the grace period,
// however often it is updated meanwhile.
func (m *Monitor) watchPending() (stop func()) {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	inf := metadatainformer.NewFilteredMetadataInformer(m.meta, secrets, m.pendingNamespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = "owner=helm" }).Informer()
	var mu sync.Mutex
	timers := map[string]clock.Timer{} // by Secret key, until they fire
	check := func(obj any) {
		acc, err := meta.Accessor(obj)
		if err != nil || !pendingStatus(acc.GetLabels()["status"]) {
			return
		}
		key := acc.GetNamespace() + "/" + acc.GetName()
		mu.Lock()
		defer mu.Unlock()
		if timers == nil || timers[key] != nil {
			return
		}
		timers[key] = m.clock.AfterFunc(m.pendingGrace, func() {
			mu.Lock()
			delete(timers, key)
			mu.Unlock()
			cur, exists, _ := inf.GetStore().GetByKey(key)
			if !exists {
				return
			}
			acc, err := meta.Accessor(cur)
			if err != nil || !pendingStatus(acc.GetLabels()["status"]) {
				return
			}
			release := acc.GetLabels()["name"]
			m.log.Info("release revision still pending, recovering it", "release", release, "revision", acc.GetLabels()["version"], "status", acc.GetLabels()["status"])
			m.report(release)
		})
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    check,
		UpdateFunc: func(_, obj any) { check(obj) },
	})
	done := make(chan struct{})
	var running sync.WaitGroup
	running.Go(func() { inf.Run(done) })
	return func() {
		close(done)
		running.Wait()
		mu.Lock()
		for _, t := range timers {
			t.Stop()
		}
		timers = nil
		mu.Unlock()
	}
}

// pendingStatus reports whether a Helm release status label says an
// operation is under way.
func pendingStatus(s string) bool {
	switch s {
	case "pending-install", "pending-upgrade", "pending-rollback", "uninstalling":
		return true
	}
	return false
}

// watch starts an informer on the labelled objects of one resource type in
// one namespace (all, for a cluster-scoped type).
func (m *Monitor) watch(k watchKey, gk schema.GroupKind) *typeWatch {
	inf := metadatainformer.NewFilteredMetadataInformer(m.meta, k.gvr, k.namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = ModuleLabel }).Informer()
	w := &typeWatch{stop: make(chan struct{}), done: make(chan struct{}), store: inf.GetStore(), synced: inf.HasSynced}
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, initial bool) { m.observed(k, gk, obj, initial) },
		UpdateFunc: func(_, obj any) { m.observed(k, gk, obj, false) },
		DeleteFunc: func(obj any) { m.deleted(gk, obj) },
	})
	w.handled = inf.HasSynced
	if err == nil {
		w.handled = reg.HasSynced
	}
	var running sync.WaitGroup
	running.Go(func() { inf.Run(w.stop) })
	go func() {
		defer close(w.done)
		if cache.WaitForCacheSync(w.stop, inf.HasSynced) {
			m.checkListed(gk, k.namespace, inf.GetStore())
		}
		running.Wait()
	}()
	return w
}

// holds reports whether a synced watch of the resource type gvr in
// namespace ("" for a cluster-scoped type) holds the object name: it exists,
// as of the last event the watch delivered. False says nothing: the type is
// not watched there, the watch has not listed yet, or the object lacks
// ModuleLabel or does not exist. Safe to call concurrently.
func (m *Monitor) holds(gvr schema.GroupVersionResource, namespace, name string) bool {
	obj, synced := m.stored(gvr, namespace, name)
	return synced && obj != nil
}

// stored returns the metadata the watch of gvr in namespace holds of the
// object name (nil: none, or no such watch) and whether that watch has
// synced.
func (m *Monitor) stored(gvr schema.GroupVersionResource, namespace, name string) (obj metav1.Object, synced bool) {
	m.mu.Lock()
	w := m.watches[watchKey{gvr, namespace}]
	m.mu.Unlock()
	if w == nil {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	item, exists, err := w.store.GetByKey(key)
	if err != nil || !exists {
		return nil, w.synced()
	}
	acc, err := meta.Accessor(item)
	if err != nil {
		return nil, w.synced()
	}
	return acc, w.synced()
}

// deleted reports the release of a deleted object it tracks.
func (m *Monitor) deleted(gk schema.GroupKind, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	release := acc.GetLabels()[ModuleLabel]
	key := objectKey{Group: gk.Group, Kind: gk.Kind, Namespace: acc.GetNamespace(), Name: acc.GetName()}
	m.mu.Lock()
	tracked := m.keys[release][key]
	m.mu.Unlock()
	m.forgetObject(release, key)
	if tracked {
		m.log.Info("object of a release deleted", "release", release, "kind", gk.Kind, "namespace", key.Namespace, "name", key.Name)
		m.report(release)
	}
}

// checkListed reports the releases with tracked objects of kind gk (in
// namespace, unless it is "") that a freshly synced informer did not list:
// deleted before the watch began.
func (m *Monitor) checkListed(gk schema.GroupKind, namespace string, store cache.Store) {
	m.mu.Lock()
	var lost []string
	for release, objs := range m.releases {
		for _, o := range objs {
			k := keyOf(o)
			if k.Group != gk.Group || k.Kind != gk.Kind || (namespace != "" && k.Namespace != namespace) {
				continue
			}
			storeKey := o.Name
			if o.Namespace != "" {
				storeKey = o.Namespace + "/" + o.Name
			}
			if _, exists, _ := store.GetByKey(storeKey); !exists {
				lost = append(lost, release)
				break
			}
		}
	}
	m.mu.Unlock()
	for _, release := range lost {
		m.log.Info("object of a release not found when watching began", "release", release, "kind", gk.Kind)
		m.report(release)
	}
}

// stopAll stops every watch and waits for the informers to end.
func (m *Monitor) stopAll() {
	m.mu.Lock()
	watches := m.watches
	m.watches = map[watchKey]*typeWatch{}
	m.running = false
	m.mu.Unlock()
	for _, w := range watches {
		close(w.stop)
	}
	for _, w := range watches {
		<-w.done
	}
}
