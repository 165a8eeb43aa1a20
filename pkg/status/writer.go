package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/module"
)

// Source is the state of the modules (*converge.Converger).
type Source interface {
	// Statuses returns every module of the bundle in force.
	Statuses() []module.Status
	// Changes signals (coalesced) that Statuses may have changed.
	Changes() <-chan struct{}
	// Ready is closed once every module was discovered and run once.
	Ready() <-chan struct{}
}

// PhaseObserver receives the phase of every module of the Source after each
// sync, for metrics (*metrics.Metrics), and an empty map when Start returns
// (a replica that stopped leading publishes no stale phases). It is called
// from the Writer's goroutine and must not block.
type PhaseObserver interface {
	ModulePhases(phases map[string]module.Phase)
}

// Masker hides secret values in text (*mask.Masker). Mask must be safe
// for concurrent use and must not block.
type Masker interface {
	Mask(s string) string
}

// Option configures a Writer.
type Option func(*Writer)

// WithMasker has every message of a Module status, conditions included,
// passed through m before it is written: hook output and Helm errors may
// quote secret values, and Module objects are readable cluster-wide.
func WithMasker(m Masker) Option {
	return func(w *Writer) { w.masker = m }
}

// WithPhaseObserver reports the modules' phases to o.
func WithPhaseObserver(o PhaseObserver) Option {
	return func(w *Writer) { w.phases = o }
}

// WithClock replaces the real clock (k8s.io/utils/clock.RealClock), which
// spaces syncs out, times retries and resyncs, and measures the workload
// ready timeout. A nil c keeps the real clock.
func WithClock(c clock.WithDelayedExecution) Option {
	return func(w *Writer) {
		if c != nil {
			w.clock = c
		}
	}
}

// minSyncInterval spaces syncs out during bursts of changes (rollouts,
// many modules running): one List of Module objects per interval at most.
const minSyncInterval = time.Second

// Retry of failed syncs (API errors, the CRD missing): doubling from
// retryMin up to Config.Resync.
const retryMin = time.Second

// errNoCRD: the Module CRD is not installed.
var errNoCRD = errors.New("module CRD not installed")

// Writer keeps one Module object per module of the Source up to date. It
// is the only reader of the Source's Changes channel.
type Writer struct {
	cfg       Config
	modules   dynamic.ResourceInterface
	src       Source
	log       *slog.Logger
	workloads *workloads
	health    *healthBoard
	wake      chan struct{}
	phases    PhaseObserver
	clock     clock.WithDelayedExecution
	drift     DriftSource
	masker    Masker

	// Used by Start's goroutine only.
	conflicts map[string]string // module -> namespace of the owning operator
}

// New returns a Writer; it does not contact the API server. kube reads
// workloads and pods, dyn writes Module objects. log may be nil.
func New(cfg Config, kube kubernetes.Interface, dyn dynamic.Interface, src Source, log *slog.Logger, opts ...Option) (*Writer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		cfg:       cfg,
		modules:   dyn.Resource(ModuleResource),
		src:       src,
		log:       log,
		health:    newHealthBoard(),
		wake:      make(chan struct{}, 1),
		clock:     clock.RealClock{},
		conflicts: map[string]string{},
	}
	for _, o := range opts {
		o(w)
	}
	w.workloads = newWorkloads(kube, cfg.WorkloadReadyTimeout, w.clock, log, w.signal)
	return w, nil
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Start watches the workloads of the releases and writes Module objects on
// every change of the Source or of a workload, when a workload reaches the
// ready timeout, and every Config.Resync, until ctx is done. Until the
// Source is Ready, modules it has not touched yet (Disabled, never run) keep
// their Module objects as they are and none is deleted, so that a restart
// does not flap every module through Disabled.
//
// Errors (API unavailable, the CRD missing) are logged and retried with
// backoff; Start returns nil when ctx is done and never fails otherwise.
// Call it once.
func (w *Writer) Start(ctx context.Context) error {
	defer w.workloads.shutdown()
	if w.phases != nil {
		defer w.phases.ModulePhases(map[string]module.Phase{})
	}
	if !w.workloads.start(ctx) {
		return nil
	}
	timer := w.clock.NewTimer(0)
	defer timer.Stop()
	ready := w.src.Ready()
	var driftChanges <-chan struct{}
	if w.drift != nil {
		driftChanges = w.drift.DriftChanges()
	}
	var last time.Time
	failures, crdMissing := 0, false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.src.Changes():
		case <-w.wake:
		case <-driftChanges:
		case <-timer.C():
		case <-ready:
			ready = nil
		}
		if wait := minSyncInterval - w.clock.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-w.clock.After(wait):
			}
		}
		w.drain()
		last = w.clock.Now()
		deadline, err := w.sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		next := w.cfg.Resync
		noCRD := errors.Is(err, errNoCRD)
		switch {
		case err == nil:
			if failures > 0 {
				w.log.Info("module status written again")
			}
			failures = 0
		case noCRD:
			if !crdMissing {
				w.log.Warn("module CRD not installed, module status is not published; retrying", "error", err)
			}
			failures++
			next = backoff(failures, w.cfg.Resync)
		default:
			failures++
			next = backoff(failures, w.cfg.Resync)
			w.log.Error("write module status failed, retrying", "error", err, "attempt", failures, "retry_in", next.String())
		}
		crdMissing = noCRD
		if !deadline.IsZero() {
			next = min(next, max(deadline.Sub(w.clock.Now()), 0))
		}
		timer.Reset(next)
	}
}

func backoff(n int, limit time.Duration) time.Duration {
	d := retryMin
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// drain drops pending signals; the sync that follows reads the latest
// state.
func (w *Writer) drain() {
	for {
		select {
		case <-w.src.Changes():
		case <-w.wake:
		default:
			return
		}
	}
}

// sync writes the Module objects whose status differs from the desired
// one, creates missing ones and (once the Source is Ready) deletes those of
// modules the bundle no longer has. It returns the earliest time a
// workload reaches the ready timeout.
func (w *Writer) sync(ctx context.Context) (time.Time, error) {
	statuses := w.src.Statuses()
	started := closed(w.src.Ready())
	now := w.clock.Now()
	reports, deadline := w.workloads.evaluate(ctx, statuses, now)
	w.health.publish(statuses, reports)

	list, err := w.modules.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return deadline, fmt.Errorf("list modules: %w: %w", errNoCRD, err)
	}
	if err != nil {
		return deadline, fmt.Errorf("list modules: %w", err)
	}
	existing := make(map[string]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		existing[list.Items[i].GetName()] = &list.Items[i]
	}

	var errs []error
	want := make(map[string]bool, len(statuses))
	phases := make(map[string]module.Phase, len(statuses))
	for _, st := range statuses {
		want[st.Module] = true
		obj := existing[st.Module]
		foreign := obj != nil && !w.owned(obj)
		var prev ModuleStatus
		if obj != nil && !foreign {
			prev = decodeStatus(obj)
		}
		if !started && untouched(st) {
			if prev.Phase != "" {
				phases[st.Module] = prev.Phase
			}
			if foreign {
				w.conflict(st.Module, obj)
			}
			continue
		}
		next := desired(w.maskInput(st), reports[st.Module], prev, now)
		if w.drift != nil {
			next = withDrift(next, w.drift.DriftSummary(st.Module), prev, now)
		}
		next = w.maskStatus(next)
		phases[st.Module] = next.Phase
		if foreign {
			w.conflict(st.Module, obj)
			continue
		}
		delete(w.conflicts, st.Module)
		if obj != nil && equality.Semantic.DeepEqual(prev, next) {
			continue
		}
		if err := w.write(ctx, st.Module, obj, next); err != nil {
			errs = append(errs, err)
			continue
		}
		if prev.Phase != next.Phase {
			w.log.Info("module phase changed", "module", st.Module, "phase", next.Phase, "message", next.Message)
		}
	}
	for name := range w.conflicts {
		if !want[name] {
			delete(w.conflicts, name)
		}
	}
	if w.phases != nil {
		w.phases.ModulePhases(phases)
	}
	if started {
		for name, obj := range existing {
			if want[name] || !w.owned(obj) {
				continue
			}
			if err := w.delete(ctx, obj); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return deadline, errors.Join(errs...)
}

func (w *Writer) owned(obj *unstructured.Unstructured) bool {
	return obj.GetLabels()[NamespaceLabel] == w.cfg.Namespace
}

// conflict logs, once, that another operator (or someone else) owns the
// Module object of one of our modules.
func (w *Writer) conflict(module string, obj *unstructured.Unstructured) {
	owner := obj.GetLabels()[NamespaceLabel]
	if prev, ok := w.conflicts[module]; ok && prev == owner {
		return
	}
	w.conflicts[module] = owner
	w.log.Warn("module object belongs to another operator, leaving it", "module", module, "owner_namespace", owner)
}

// untouched reports a module the converger has not discovered or run yet
// (or that is disabled and never ran).
func untouched(st module.Status) bool {
	return st.Phase == module.PhaseDisabled && !st.Enabled && !st.EnabledByConfig && st.EnabledByScript == nil &&
		st.LastRun.IsZero() && st.Revision == 0 && st.Message == ""
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// decodeStatus reads a Module object's status; a status that does not
// decode counts as empty (and is overwritten).
func decodeStatus(obj *unstructured.Unstructured) ModuleStatus {
	var st ModuleStatus
	m, ok := obj.Object["status"].(map[string]any)
	if !ok {
		return st
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &st); err != nil {
		return ModuleStatus{}
	}
	return st
}

// maskInput masks the converger's texts before desired cuts them to
// length, which could leave the start of a secret visible.
func (w *Writer) maskInput(st module.Status) module.Status {
	if w.masker == nil {
		return st
	}
	st.Message, st.EnabledReason = w.masker.Mask(st.Message), w.masker.Mask(st.EnabledReason)
	return st
}

// maskStatus masks every message of st, including the texts of workloads
// and drift; st's conditions are not shared with the caller's.
func (w *Writer) maskStatus(st ModuleStatus) ModuleStatus {
	if w.masker == nil {
		return st
	}
	st.Message = w.masker.Mask(st.Message)
	conds := slices.Clone(st.Conditions)
	for i := range conds {
		conds[i].Message = w.masker.Mask(conds[i].Message)
	}
	st.Conditions = conds
	return st
}

// write creates the Module object when obj is nil, then writes its status
// (against obj's resourceVersion: a concurrent change fails with a
// conflict and the next sync retries).
func (w *Writer) write(ctx context.Context, module string, obj *unstructured.Unstructured, st ModuleStatus) error {
	if obj == nil {
		obj = &unstructured.Unstructured{}
		obj.SetGroupVersionKind(ModuleKind)
		obj.SetName(module)
		obj.SetLabels(map[string]string{NamespaceLabel: w.cfg.Namespace})
		created, err := w.modules.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create module object %q: %w", module, err)
		}
		obj = created
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return fmt.Errorf("encode status of module %q: %w", module, err)
	}
	obj = obj.DeepCopy()
	obj.Object["status"] = m
	if _, err := w.modules.UpdateStatus(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of module %q: %w", module, err)
	}
	w.log.Debug("module status written", "module", module, "phase", st.Phase)
	return nil
}

// delete removes the Module object of a module the bundle no longer has
// (only that very object: a re-created one has another UID).
func (w *Writer) delete(ctx context.Context, obj *unstructured.Unstructured) error {
	uid := obj.GetUID()
	err := w.modules.Delete(ctx, obj.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete module object %q: %w", obj.GetName(), err)
	}
	w.log.Info("module object deleted, the bundle has no such module", "module", obj.GetName())
	return nil
}
