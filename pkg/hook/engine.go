package hook

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	dlog "github.com/deckhouse/deckhouse/pkg/log"
	metricsstorage "github.com/deckhouse/deckhouse/pkg/metrics-storage"
	"github.com/deckhouse/deckhouse/pkg/metrics-storage/operation"
	sdkpkg "github.com/deckhouse/module-sdk/pkg"
	klient "github.com/flant/kube-client/client"
	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"
	"github.com/flant/shell-operator/pkg/hook/controller"
	htypes "github.com/flant/shell-operator/pkg/hook/types"
	"github.com/flant/shell-operator/pkg/kube/object_patch"
	kubeeventsmanager "github.com/flant/shell-operator/pkg/kube_events_manager"
	kemtypes "github.com/flant/shell-operator/pkg/kube_events_manager/types"
	schedulemanager "github.com/flant/shell-operator/pkg/schedule_manager"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// Event asks for a hook run caused by a Kubernetes event, a schedule or a
// Synchronization.
type Event struct {
	Hook *Hook
	// Binding is the binding name; Group the binding's group ("" if none).
	Binding string
	Group   string
	// Queue is the binding's queue ("main" unless the hook names one).
	Queue        string
	AllowFailure bool
	// Sync is set for the Synchronization of a kubernetes binding; Wait and
	// Execute then carry the binding's waitForSynchronization and
	// executeHookOnSynchronization.
	Sync    bool
	Wait    bool
	Execute bool
	// Contexts are the binding contexts, without snapshots: call
	// Engine.Snapshots right before the run so they are current.
	Contexts []bctx.BindingContext
}

// Engine connects hooks to shell-operator's kube events manager and
// schedule manager, and applies what hooks ask of the cluster. Hooks are
// registered with Enable and removed with Disable; events of enabled hooks
// are sent on Events by Start, one at a time and in order: Start waits for
// each to be received, so the reader must not block (queue the work).
type Engine struct {
	client  *klient.Client
	kem     kubeeventsmanager.KubeEventsManager
	sm      schedulemanager.ScheduleManager
	patcher *object_patch.ObjectPatcher
	metrics *metricsstorage.MetricStorage
	events  chan Event
	log     *slog.Logger
	libLog  *dlog.Logger

	mu          sync.RWMutex
	controllers map[*Hook]*controller.HookController
}

// EngineOption configures an Engine.
type EngineOption func(*engineOptions)

type engineOptions struct {
	monitorMetrics func(metricsstorage.Storage) metricsstorage.Storage
}

// WithMonitorMetrics makes the kubernetes monitors (kube events manager,
// informers, binding controllers) report to wrap(s) rather than to s, a
// storage of their own that is not served (*metrics.Metrics.KubeStorage).
// The monitors' MetricLabels are module, hook, binding, queue and kind.
func WithMonitorMetrics(wrap func(s metricsstorage.Storage) metricsstorage.Storage) EngineOption {
	return func(o *engineOptions) { o.monitorMetrics = wrap }
}

// NewEngine connects to the API server. Metrics hooks write to
// METRICS_PATH are registered on hookMetrics; libLog receives
// shell-operator's own logs.
func NewEngine(cfg *rest.Config, hookMetrics *prometheus.Registry, log *slog.Logger, libLog *dlog.Logger, opts ...EngineOption) (*Engine, error) {
	var o engineOptions
	for _, opt := range opts {
		opt(&o)
	}
	client := klient.New(klient.WithLogger(libLog))
	client.WithRestConfig(rest.CopyConfig(cfg))
	client.WithRateLimiterSettings(cfg.QPS, cfg.Burst)
	client.WithMetricStorage(unregisteredMetrics{})
	if err := client.Init(); err != nil {
		return nil, fmt.Errorf("kubernetes client for hooks: %w", err)
	}
	var libMetrics metricsstorage.Storage = metricsstorage.NewMetricStorage(metricsstorage.WithNewRegistry(), metricsstorage.WithLogger(libLog))
	if o.monitorMetrics != nil {
		libMetrics = o.monitorMetrics(libMetrics)
	}
	hookStorage := metricsstorage.NewMetricStorage(metricsstorage.WithRegistry(hookMetrics), metricsstorage.WithLogger(libLog))
	// The kube events manager and the schedule manager keep the context
	// they are built with; Start cancels them through Stop.
	shellKem := kubeeventsmanager.NewKubeEventsManager(context.Background(), client, libLog)
	shellKem.WithMetricStorage(libMetrics)
	kem := newEventsManager(shellKem, client, libMetrics, log)
	sm := schedulemanager.NewScheduleManager(context.Background(), libLog)
	return &Engine{
		client:      client,
		kem:         kem,
		sm:          sm,
		patcher:     object_patch.NewObjectPatcher(client, libLog),
		metrics:     hookStorage,
		events:      make(chan Event),
		log:         log,
		libLog:      libLog,
		controllers: map[*Hook]*controller.HookController{},
	}, nil
}

// Events delivers the kubernetes and schedule events of enabled hooks. The
// channel is unbuffered and never closed; Disable returns only after any
// event of the hook in flight was received.
func (e *Engine) Events() <-chan Event { return e.events }

// Start sends events on Events until ctx is done, then stops every monitor
// and the scheduler.
func (e *Engine) Start(ctx context.Context) error {
	e.sm.Start()
	defer func() {
		e.sm.Stop()
		e.kem.Stop()
		e.kem.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-e.kem.Ch():
			e.dispatchKube(ctx, ev)
		case crontab := <-e.sm.Ch():
			e.dispatchSchedule(ctx, crontab)
		}
	}
}

func (e *Engine) dispatchKube(ctx context.Context, ev kemtypes.KubeEvent) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for h, hc := range e.controllers {
		if !hc.CanHandleKubeEvent(ev) {
			continue
		}
		hc.HandleKubeEvent(ctx, ev, func(info controller.BindingExecutionInfo) {
			e.send(ctx, eventFrom(h, info))
		})
	}
}

func (e *Engine) dispatchSchedule(ctx context.Context, crontab string) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for h, hc := range e.controllers {
		if !hc.CanHandleScheduleEvent(crontab) {
			continue
		}
		hc.HandleScheduleEvent(ctx, crontab, func(info controller.BindingExecutionInfo) {
			e.send(ctx, eventFrom(h, info))
		})
	}
}

// send blocks until ev is received or ctx is done.
func (e *Engine) send(ctx context.Context, ev Event) {
	select {
	case e.events <- ev:
	case <-ctx.Done():
	}
}

func eventFrom(h *Hook, info controller.BindingExecutionInfo) Event {
	queue := info.QueueName
	if queue == "" {
		queue = "main"
	}
	return Event{
		Hook: h, Binding: info.Binding, Group: info.Group, Queue: queue,
		AllowFailure: info.AllowFailure, Contexts: info.BindingContext,
	}
}

// Enable starts the hook's kubernetes monitors and schedules and returns
// one Synchronization event per kubernetes binding, with the objects that
// exist now. Kubernetes events for the hook are held back until Unlock, so
// that the Synchronization runs first. Enabling an enabled hook returns
// fresh Synchronization events without restarting its monitors.
func (e *Engine) Enable(h *Hook) ([]Event, error) {
	e.mu.Lock()
	hc, ok := e.controllers[h]
	if !ok {
		hc = controller.NewHookController()
		hc.InitKubernetesBindings(h.Bindings.Kubernetes, e.kem, e.libLog)
		hc.InitScheduleBindings(h.Bindings.Schedules, e.sm)
		e.controllers[h] = hc
	}
	e.mu.Unlock()

	infos, err := hc.EnableKubernetesBindings()
	if err != nil {
		return nil, fmt.Errorf("hook %s: enable kubernetes bindings: %w", h.Name, err)
	}
	hc.EnableScheduleBindings()
	events := make([]Event, 0, len(infos))
	for _, info := range infos {
		ev := eventFrom(h, info)
		ev.Sync = true
		ev.Wait = info.KubernetesBinding.WaitForSynchronization
		ev.Execute = info.KubernetesBinding.ExecuteHookOnSynchronization
		events = append(events, ev)
	}
	return events, nil
}

// Unlock starts delivering the hook's kubernetes events.
func (e *Engine) Unlock(h *Hook) {
	e.mu.RLock()
	hc := e.controllers[h]
	e.mu.RUnlock()
	if hc != nil {
		hc.UnlockKubernetesEvents()
	}
}

// Disable stops the hook's monitors and schedules; no event of the hook is
// delivered after it returns.
func (e *Engine) Disable(h *Hook) {
	e.mu.Lock()
	hc := e.controllers[h]
	delete(e.controllers, h)
	e.mu.Unlock()
	if hc != nil {
		hc.DisableKubernetesBindings()
		hc.DisableScheduleBindings()
	}
}

// Snapshots fills the contexts' snapshots (and a Synchronization's objects)
// from the hook's monitors as they are now.
func (e *Engine) Snapshots(h *Hook, contexts []bctx.BindingContext) []bctx.BindingContext {
	e.mu.RLock()
	hc := e.controllers[h]
	e.mu.RUnlock()
	if hc == nil {
		return contexts
	}
	return hc.UpdateSnapshots(contexts)
}

// LifecycleContexts returns the binding context of a lifecycle binding
// (onStartup, beforeHelm, …): onStartup carries only the binding name, the
// others also the snapshots of all the hook's kubernetes bindings.
func (e *Engine) LifecycleContexts(h *Hook, b Binding) []bctx.BindingContext {
	bc := bctx.BindingContext{Binding: string(b)}
	bc.Metadata.BindingType = htypes.BindingType(b)
	if b != OnStartup && len(h.Bindings.Kubernetes) > 0 {
		bc.Metadata.IncludeAllSnapshots = true
		e.mu.RLock()
		hc := e.controllers[h]
		e.mu.RUnlock()
		if hc != nil {
			bc.Snapshots = hc.KubernetesSnapshots()
		}
	}
	return []bctx.BindingContext{bc}
}

// ApplyKubernetes executes KUBERNETES_PATCH_PATH operations with
// shell-operator's object patcher. All operations are attempted; the
// errors of those that failed are returned together.
func (e *Engine) ApplyKubernetes(ops []sdkpkg.PatchCollectorOperation) error {
	if len(ops) == 0 {
		return nil
	}
	if err := e.patcher.ExecuteOperations(ops); err != nil {
		return fmt.Errorf("kubernetes patch: %s", flatten(err))
	}
	return nil
}

// ApplyMetrics records METRICS_PATH operations of a hook, labelled with the
// hook (and module), for /metrics/hooks.
func (e *Engine) ApplyMetrics(h *Hook, ops []operation.MetricOperation) error {
	if len(ops) == 0 {
		return nil
	}
	labels := map[string]string{"hook": h.Name}
	if h.Module != "" {
		labels["module"] = h.Module
	}
	if err := e.metrics.ApplyBatchOperations(ops, labels); err != nil {
		return fmt.Errorf("hook metrics: %s", flatten(err))
	}
	return nil
}

// ContextsJSON encodes binding contexts in the v1 format hooks read from
// BINDING_CONTEXT_PATH.
func ContextsJSON(contexts []bctx.BindingContext) ([]byte, error) {
	data, err := bctx.ConvertBindingContextList("v1", contexts).Json()
	if err != nil {
		return nil, fmt.Errorf("encode binding contexts: %w", err)
	}
	return data, nil
}

// MergeContexts appends incoming contexts to waiting ones for a combined
// run, keeping only the last context of each group (a group's context
// carries no event data, only snapshots).
func MergeContexts(waiting, incoming []bctx.BindingContext) []bctx.BindingContext {
	all := append(append([]bctx.BindingContext(nil), waiting...), incoming...)
	last := map[string]int{}
	for i, bc := range all {
		if bc.Metadata.Group != "" {
			last[bc.Metadata.Group] = i
		}
	}
	out := make([]bctx.BindingContext, 0, len(all))
	for i, bc := range all {
		if g := bc.Metadata.Group; g != "" && last[g] != i {
			continue
		}
		out = append(out, bc)
	}
	return out
}

// unregisteredMetrics satisfies kube-client's metric storage without
// registering anything globally (its default registers on the process-wide
// registry and panics on a second client).
type unregisteredMetrics struct{}

func (unregisteredMetrics) RegisterCounter(metric string, labels map[string]string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "unused"}, labelNames(labels))
}

func (unregisteredMetrics) CounterAdd(string, float64, map[string]string) {}

func (unregisteredMetrics) RegisterHistogram(metric string, labels map[string]string, buckets []float64) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "unused", Buckets: buckets}, labelNames(labels))
}

func (unregisteredMetrics) HistogramObserve(string, float64, map[string]string, []float64) {}

func labelNames(labels map[string]string) []string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	return names
}
