package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	metricsstorage "github.com/deckhouse/deckhouse/pkg/metrics-storage"
	klient "github.com/flant/kube-client/client"
	kubeeventsmanager "github.com/flant/shell-operator/pkg/kube_events_manager"
	kemtypes "github.com/flant/shell-operator/pkg/kube_events_manager/types"
	sometrics "github.com/flant/shell-operator/pkg/metrics"
	"github.com/flant/shell-operator/pkg/utils/checksum"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// compactEligible reports whether a binding's monitor can be a
// compactMonitor: the hook never sees its objects whole
// (keepFullObjectsInMemory: false) and its namespaces are fixed
// (nameSelector.matchNames, or every namespace). A namespace labelSelector
// needs shell-operator's namespace informer.
func compactEligible(cfg *kubeeventsmanager.MonitorConfig) bool {
	return !cfg.KeepFullObjectsInMemory && cfg.FilterFunc == nil && cfg.Kind != "" &&
		(cfg.NamespaceSelector == nil || cfg.NamespaceSelector.LabelSelector == nil)
}

// compactMonitor watches the objects of one kubernetes binding and keeps,
// for each, only what the hook can see of it: the jqFilter result (or
// nothing without a jqFilter) and its checksum. Its informers turn each
// object into that record as it is decoded, so neither the informers'
// stores nor the snapshot hold whole objects, and the informers' own
// initial list is the Synchronization snapshot: shell-operator's monitor
// lists every object once more before it starts its informer, keeps the
// whole object in the informer's store even when the binding drops it,
// and runs the jqFilter twice on every object at start.
//
// Events follow shell-operator's rules: Added for an object created after
// the initial list, Modified only when the filter result changed, Deleted
// always, each only if the binding's executeHookOnEvent has it, and all of
// them held back until EnableKubeEventCb. It implements shell-operator's
// Monitor; the methods are safe to call concurrently.
type compactMonitor struct {
	cfg    *kubeeventsmanager.MonitorConfig
	client *klient.Client
	emit   func(kemtypes.KubeEvent)
	log    *slog.Logger
	// metrics gets what shell-operator's monitor reports: the number of
	// objects, each jqFilter run and each event's handling time, with the
	// binding's metric labels.
	metrics metricsstorage.Storage
	objects atomic.Int64

	informers []cache.SharedIndexInformer
	// cancel stops the informers and done unblocks a pending send: the
	// Monitor interface has Stop, not a context of its own.
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu       sync.Mutex
	enabled  bool
	buffered []kemtypes.KubeEvent
}

// record is what a compactMonitor keeps of an object: its name and
// namespace (the informer's key) and the filter result.
type record struct {
	metav1.ObjectMeta
	res kemtypes.ObjectAndFilterResult
	err error // the filter failed: the object is left out
}

// compactSyncTimeout bounds the wait for the initial list; shell-operator's
// monitor fails a binding whose first list fails rather than wait.
const compactSyncTimeout = 2 * time.Minute

func newCompactMonitor(client *klient.Client, cfg *kubeeventsmanager.MonitorConfig, emit func(kemtypes.KubeEvent), metrics metricsstorage.Storage, log *slog.Logger) *compactMonitor {
	log = log.With("hook", cfg.Metadata.LogLabels["hook"], "binding", cfg.Metadata.LogLabels["binding"])
	return &compactMonitor{cfg: cfg, client: client, emit: emit, metrics: metrics, done: make(chan struct{}), log: log}
}

// countObjects moves the object count by delta and reports it.
func (m *compactMonitor) countObjects(delta int64) {
	n := m.objects.Add(delta)
	m.metrics.GaugeSet(sometrics.KubeSnapshotObjects, float64(n), m.cfg.Metadata.MetricLabels)
}

// timeEvent reports how long the handling of one event took.
func (m *compactMonitor) timeEvent(start time.Time) {
	m.metrics.HistogramObserve(sometrics.KubeEventDurationSeconds, time.Since(start).Seconds(), m.cfg.Metadata.MetricLabels, nil)
}

// CreateInformers builds one informer per namespace and object name of the
// binding, runs them and waits for their initial list. The first list
// error, or an object the jqFilter fails on, fails it as shell-operator's
// initial list does.
func (m *compactMonitor) CreateInformers() error {
	gvr, err := m.client.GroupVersionResource(m.cfg.ApiVersion, m.cfg.Kind)
	if err != nil {
		return fmt.Errorf("%s: resource of apiVersion %q kind %q: %w", m.cfg.Metadata.DebugName, m.cfg.ApiVersion, m.cfg.Kind, err)
	}
	labels, err := kubeeventsmanager.FormatLabelSelector(m.cfg.LabelSelector)
	if err != nil {
		return fmt.Errorf("%s: label selector: %w", m.cfg.Metadata.DebugName, err)
	}
	names := []string{""}
	if m.cfg.NameSelector != nil && len(m.cfg.NameSelector.MatchNames) > 0 {
		names = m.cfg.NameSelector.MatchNames
	}
	namespaces := []string{""}
	if s := m.cfg.NamespaceSelector; s != nil && s.NameSelector != nil && len(s.NameSelector.MatchNames) > 0 {
		namespaces = s.NameSelector.MatchNames
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	listErr := make(chan error, len(names)*len(namespaces))
	for _, ns := range namespaces {
		for _, name := range names {
			fields, err := kubeeventsmanager.FormatFieldSelector(withName(m.cfg.FieldSelector, name))
			if err != nil {
				cancel()
				return fmt.Errorf("%s: field selector: %w", m.cfg.Metadata.DebugName, err)
			}
			ri := m.client.Dynamic().Resource(gvr).Namespace(ns)
			tweak := func(o *metav1.ListOptions) { o.LabelSelector, o.FieldSelector = labels, fields }
			lw := &cache.ListWatch{
				ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					tweak(&o)
					return m.list(ctx, ri, o)
				},
				WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					tweak(&o)
					return ri.Watch(ctx, o)
				},
			}
			inf := cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
			if err := inf.SetTransform(m.transform); err != nil {
				cancel()
				return err
			}
			if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
				m.log.Warn("kubernetes watch failed, retrying", "kind", m.cfg.Kind, "error", err)
				select {
				case listErr <- err:
				default:
				}
			}); err != nil {
				cancel()
				return err
			}
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
				AddFunc:    m.onAdd,
				UpdateFunc: m.onUpdate,
				DeleteFunc: m.onDelete,
			}); err != nil {
				cancel()
				return err
			}
			m.informers = append(m.informers, inf)
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				inf.RunWithContext(ctx)
			}()
		}
	}
	if err := m.waitSynced(listErr); err != nil {
		cancel()
		m.wg.Wait()
		return fmt.Errorf("%s: initial list of %s: %w", m.cfg.Metadata.DebugName, m.cfg.Kind, err)
	}
	return nil
}

func (m *compactMonitor) waitSynced(listErr <-chan error) error {
	deadline := time.After(compactSyncTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		synced := true
		for _, inf := range m.informers {
			synced = synced && inf.HasSynced()
		}
		if synced {
			for _, inf := range m.informers {
				for _, obj := range inf.GetStore().List() {
					if r := obj.(*record); r.err != nil {
						return r.err
					}
				}
			}
			return nil
		}
		select {
		case err := <-listErr:
			return err
		case <-deadline:
			return errors.New("not synced after " + compactSyncTimeout.String())
		case <-tick.C:
		}
	}
}

// withName adds metadata.name=name to a copy of sel (name "" adds nothing).
func withName(sel *kemtypes.FieldSelector, name string) *kemtypes.FieldSelector {
	var out *kemtypes.FieldSelector
	if sel != nil {
		out = &kemtypes.FieldSelector{MatchExpressions: slices.Clone(sel.MatchExpressions)}
	}
	if name == "" {
		return out
	}
	if out == nil {
		out = &kemtypes.FieldSelector{}
	}
	out.MatchExpressions = append(out.MatchExpressions, kemtypes.FieldSelectorRequirement{Field: "metadata.name", Operator: "=", Value: name})
	return out
}

// listPage is the number of objects a compactMonitor's list asks for at a
// time.
const listPage = 500

// recordKey holds, in the stand-in objects list returns, the record the
// object was turned into.
const recordKey = "\x00record"

// list reads the objects page by page and turns each page's objects into
// records before it reads the next, so that the whole list is never
// decoded at once: the informer's own list would hold every whole object
// until it stores them. The reflector's first list asks for
// resourceVersion "0", which the API server answers from its watch cache
// in one piece whatever the limit; list reads pages from etcd instead.
// The returned list holds stand-ins that carry their record for transform.
func (m *compactMonitor) list(ctx context.Context, ri dynamic.ResourceInterface, o metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	// The first list is read in pages from etcd; a relist keeps the
	// reflector's options (a resourceVersion it may be served at from the
	// API server's cache), as shell-operator's informers do.
	if o.ResourceVersion == "" || o.ResourceVersion == "0" {
		o.ResourceVersion, o.ResourceVersionMatch, o.Limit = "", "", listPage
	}
	out := &unstructured.UnstructuredList{}
	for {
		page, err := ri.List(ctx, o)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			r := m.record(&page.Items[i])
			stand := unstructured.Unstructured{Object: map[string]any{recordKey: r}}
			stand.SetName(r.Name)
			stand.SetNamespace(r.Namespace)
			out.Items = append(out.Items, stand)
		}
		if page.GetContinue() == "" {
			out.SetResourceVersion(page.GetResourceVersion())
			return out, nil
		}
		// A continued list takes its snapshot from the token; the API
		// server refuses a resourceVersion beside it.
		o.Continue, o.ResourceVersion = page.GetContinue(), ""
	}
}

// transform turns a decoded object into its record; the object itself is
// dropped. It runs once per object version, before the informer stores it.
func (m *compactMonitor) transform(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	if r, ok := u.Object[recordKey].(*record); ok {
		return r, nil
	}
	return m.record(u), nil
}

// record is what the binding keeps of u.
func (m *compactMonitor) record(u *unstructured.Unstructured) *record {
	r := &record{ObjectMeta: metav1.ObjectMeta{Name: u.GetName(), Namespace: u.GetNamespace()}}
	r.res.Metadata.JqFilter = m.cfg.JqFilter
	r.res.Metadata.ResourceId = fmt.Sprintf("%s/%s/%s", u.GetNamespace(), u.GetKind(), u.GetName())
	r.res.Metadata.RemoveObject = true
	if m.cfg.CompiledJqFilter == nil {
		data, err := json.Marshal(u)
		if err != nil {
			r.err = fmt.Errorf("encode %s: %w", r.res.Metadata.ResourceId, err)
			return r
		}
		r.res.Metadata.Checksum = checksum.CalculateChecksumOfBytes(data)
		return r
	}
	start := time.Now()
	out, err := m.cfg.CompiledJqFilter.Apply(u.UnstructuredContent())
	m.metrics.HistogramObserve(sometrics.KubeJqFilterDurationSeconds, time.Since(start).Seconds(), m.cfg.Metadata.MetricLabels, nil)
	if err != nil {
		r.err = fmt.Errorf("jqFilter on %s: %w", r.res.Metadata.ResourceId, err)
		return r
	}
	r.res.FilterResult = string(out)
	r.res.Metadata.Checksum = checksum.CalculateChecksumOfBytes(out)
	return r
}

func (m *compactMonitor) onAdd(obj any, initial bool) {
	defer m.timeEvent(time.Now())
	m.countObjects(1)
	if initial {
		return // in the Synchronization snapshot
	}
	m.fire(kemtypes.WatchEventAdded, obj.(*record))
}

func (m *compactMonitor) onUpdate(oldObj, newObj any) {
	defer m.timeEvent(time.Now())
	o, n := oldObj.(*record), newObj.(*record)
	if o.err == nil && n.err == nil && o.res.Metadata.Checksum == n.res.Metadata.Checksum {
		return
	}
	m.fire(kemtypes.WatchEventModified, n)
}

func (m *compactMonitor) onDelete(obj any) {
	defer m.timeEvent(time.Now())
	m.countObjects(-1)
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if r, ok := obj.(*record); ok {
		m.fire(kemtypes.WatchEventDeleted, r)
	}
}

// fire sends the event, or holds it until EnableKubeEventCb. Like
// shell-operator's informer it blocks until the event is taken.
func (m *compactMonitor) fire(t kemtypes.WatchEventType, r *record) {
	if r.err != nil {
		m.log.Error("kubernetes event dropped: jqFilter failed", "error", r.err)
		return
	}
	if !slices.Contains(m.cfg.EventTypes, t) {
		return
	}
	ev := kemtypes.KubeEvent{
		Type:        kemtypes.TypeEvent,
		MonitorId:   m.cfg.Metadata.MonitorId,
		WatchEvents: []kemtypes.WatchEventType{t},
		Objects:     []kemtypes.ObjectAndFilterResult{r.res},
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.enabled {
		m.buffered = append(m.buffered, ev)
		return
	}
	m.emit(ev)
}

// Start does nothing: CreateInformers has started the informers already,
// so that the snapshot is complete when it returns.
func (m *compactMonitor) Start(context.Context) {}

// Stop stops the informers and drops events not yet taken; Wait waits for
// the informers to end.
func (m *compactMonitor) Stop() {
	m.stopOnce.Do(func() {
		close(m.done)
		if m.cancel != nil {
			m.cancel()
		}
	})
}

func (m *compactMonitor) Wait() { m.wg.Wait() }

// Snapshot returns the records of every object, sorted by namespace and
// name (by resource id, as shell-operator sorts objects it dropped).
func (m *compactMonitor) Snapshot() []kemtypes.ObjectAndFilterResult {
	var out []kemtypes.ObjectAndFilterResult
	for _, inf := range m.informers {
		for _, obj := range inf.GetStore().List() {
			if r := obj.(*record); r.err == nil {
				out = append(out, r.res)
			}
		}
	}
	sort.Sort(kemtypes.ByNamespaceAndName(out))
	return out
}

// EnableKubeEventCb sends the events held back so far, then every later
// one as it comes.
func (m *compactMonitor) EnableKubeEventCb() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.enabled {
		return
	}
	m.enabled = true
	for _, ev := range m.buffered {
		m.emit(ev)
	}
	m.buffered = nil
}

func (m *compactMonitor) GetConfig() *kubeeventsmanager.MonitorConfig { return m.cfg }

// SnapshotOperations reports the object count only; shell-operator uses
// the operation counts for its debug output, which the operator does not
// serve.
func (m *compactMonitor) SnapshotOperations() (*kubeeventsmanager.CachedObjectsInfo, *kubeeventsmanager.CachedObjectsInfo) {
	n := 0
	for _, inf := range m.informers {
		n += len(inf.GetStore().ListKeys())
	}
	return &kubeeventsmanager.CachedObjectsInfo{Count: uint64(n)}, &kubeeventsmanager.CachedObjectsInfo{}
}

// eventsManager is shell-operator's kube events manager with
// compactMonitors for the bindings that allow one; other bindings get
// shell-operator's monitors. Both send events on the same channel.
type eventsManager struct {
	kubeeventsmanager.KubeEventsManager
	client  *klient.Client
	metrics metricsstorage.Storage
	log     *slog.Logger

	mu       sync.RWMutex
	monitors map[string]*compactMonitor
}

func newEventsManager(inner kubeeventsmanager.KubeEventsManager, client *klient.Client, metrics metricsstorage.Storage, log *slog.Logger) *eventsManager {
	return &eventsManager{KubeEventsManager: inner, client: client, metrics: metrics, log: log, monitors: map[string]*compactMonitor{}}
}

func (e *eventsManager) AddMonitor(cfg *kubeeventsmanager.MonitorConfig) error {
	if !compactEligible(cfg) {
		return e.KubeEventsManager.AddMonitor(cfg)
	}
	ch := e.Ch()
	var m *compactMonitor
	m = newCompactMonitor(e.client, cfg, func(ev kemtypes.KubeEvent) {
		select {
		case ch <- ev:
		case <-m.done:
		}
	}, e.metrics, e.log)
	if err := m.CreateInformers(); err != nil {
		m.Stop()
		return err
	}
	e.mu.Lock()
	e.monitors[cfg.Metadata.MonitorId] = m
	e.mu.Unlock()
	return nil
}

func (e *eventsManager) compact(id string) (*compactMonitor, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	m, ok := e.monitors[id]
	return m, ok
}

func (e *eventsManager) HasMonitor(id string) bool {
	if _, ok := e.compact(id); ok {
		return true
	}
	return e.KubeEventsManager.HasMonitor(id)
}

func (e *eventsManager) GetMonitor(id string) kubeeventsmanager.Monitor {
	if m, ok := e.compact(id); ok {
		return m
	}
	return e.KubeEventsManager.GetMonitor(id)
}

func (e *eventsManager) StartMonitor(id string) {
	if m, ok := e.compact(id); ok {
		m.Start(context.Background())
		return
	}
	e.KubeEventsManager.StartMonitor(id)
}

func (e *eventsManager) StopMonitor(id string) error {
	if m, ok := e.compact(id); ok {
		m.Stop()
		e.mu.Lock()
		delete(e.monitors, id)
		e.mu.Unlock()
		return nil
	}
	return e.KubeEventsManager.StopMonitor(id)
}

// Stop stops every monitor; Wait waits for them.
func (e *eventsManager) Stop() {
	e.mu.RLock()
	for _, m := range e.monitors {
		m.Stop()
	}
	e.mu.RUnlock()
	e.KubeEventsManager.Stop()
}

func (e *eventsManager) Wait() {
	e.mu.RLock()
	ms := make([]*compactMonitor, 0, len(e.monitors))
	for _, m := range e.monitors {
		ms = append(ms, m)
	}
	e.mu.RUnlock()
	for _, m := range ms {
		m.Wait()
	}
	e.KubeEventsManager.Wait()
}
