package status

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Event fields of a drift correction.
const (
	ReasonDriftCorrected = "DriftCorrected"
	driftAction          = "CorrectDrift"
	// maxPendingDrift bounds the corrections waiting for their Events;
	// more are dropped (and logged).
	maxPendingDrift = 64
)

// DriftCorrection is one corrected object of a module's release.
type DriftCorrection struct {
	Module     string
	APIVersion string
	Kind       string
	// Namespace is empty for a cluster-scoped object.
	Namespace string
	Name      string
	UID       string
	Revision  int
	// Paths are the JSON pointers of the corrected fields.
	Paths []string
	At    time.Time
}

// DriftEvents records a Normal Event with reason DriftCorrected on every
// corrected object and on its module's Module object, naming the corrected
// fields. Corrected never blocks; Start writes the Events, each tried a few
// times, then dropped and logged.
type DriftEvents struct {
	client   kubernetes.Interface
	modules  dynamic.ResourceInterface
	instance string
	log      *slog.Logger
	pending  chan DriftCorrection
}

// NewDriftEvents returns a recorder. Events on cluster-scoped objects, Module
// objects included, go to the namespace "default", as the API server
// requires. It does not contact the API server. log may be nil.
func NewDriftEvents(client kubernetes.Interface, dyn dynamic.Interface, log *slog.Logger) *DriftEvents {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &DriftEvents{
		client: client, modules: dyn.Resource(ModuleResource),
		instance: truncate(fmt.Sprintf("%s-%d", host, os.Getpid()), 128),
		log:      log, pending: make(chan DriftCorrection, maxPendingDrift),
	}
}

// Corrected queues the Events of a correction. Safe for concurrent use.
func (r *DriftEvents) Corrected(c DriftCorrection) {
	select {
	case r.pending <- c:
	default:
		r.log.Warn("too many drift corrections at once, event dropped", "module", c.Module, "kind", c.Kind, "name", c.Name)
	}
}

// Start writes the queued Events until ctx is done, then returns nil.
func (r *DriftEvents) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-r.pending:
			r.record(ctx, c)
		}
	}
}

func (r *DriftEvents) record(ctx context.Context, c DriftCorrection) {
	note := truncate(fmt.Sprintf("%s %s corrected to revision %d of release %s: %s",
		c.Kind, qualified(c.Namespace, c.Name), c.Revision, c.Module, strings.Join(c.Paths, ", ")), maxEventNote)
	obj := corev1.ObjectReference{APIVersion: c.APIVersion, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, UID: types.UID(c.UID)}
	// The API server keeps the Events of cluster-scoped objects in
	// "default" (or no namespace).
	ns := cmp.Or(c.Namespace, metav1.NamespaceDefault)
	mod := corev1.ObjectReference{APIVersion: ModuleKind.GroupVersion().String(), Kind: ModuleKind.Kind, Name: c.Module}
	// The UID lets `kubectl describe module` find the Event.
	if m, err := r.modules.Get(ctx, c.Module, metav1.GetOptions{}); err == nil {
		mod.UID, mod.ResourceVersion = m.GetUID(), m.GetResourceVersion()
	}
	for i, ev := range []struct {
		ns  string
		ref corev1.ObjectReference
	}{{ns, obj}, {metav1.NamespaceDefault, mod}} {
		if err := r.create(ctx, ev.ns, ev.ref, fmt.Sprintf("%s.%x%d", ev.ref.Name, c.At.UnixNano(), i), c.At, note); err != nil && ctx.Err() == nil {
			r.log.Error("record drift corrected event failed", "module", c.Module, "kind", ev.ref.Kind, "name", ev.ref.Name, "error", err)
		}
	}
}

func (r *DriftEvents) create(ctx context.Context, ns string, ref corev1.ObjectReference, name string, at time.Time, note string) error {
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: ns},
		EventTime:           metav1.NewMicroTime(at),
		ReportingController: reportingController,
		ReportingInstance:   r.instance,
		Action:              driftAction,
		Reason:              ReasonDriftCorrected,
		Regarding:           ref,
		Note:                note,
		Type:                corev1.EventTypeNormal,
	}
	var err error
	wait := retryMin
	for attempt := 1; ; attempt++ {
		_, err = r.client.EventsV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if attempt == eventAttempts {
			return fmt.Errorf("create event on %s %s: %w", ref.Kind, qualified(ref.Namespace, ref.Name), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
