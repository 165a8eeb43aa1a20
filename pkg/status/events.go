package status

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/configstore"
)

// Event fields of a rejected configuration and of ignored keys.
const (
	ReasonConfigRejected    = "ConfigRejected"
	ReasonConfigUnknownKeys = "ConfigUnknownKeys"
	eventAction             = "LoadConfiguration"
	reportingController     = "addons.seedops.io/addon-operator"
	// maxEventNote is the API's limit on an Event's note (message).
	maxEventNote = 1024
	// maxPendingEvents bounds the rejections waiting to be written; older
	// ones are dropped first.
	maxPendingEvents = 16
	// eventAttempts is how often one Event is tried before it is dropped.
	eventAttempts = 4
)

// ConfigEvents records a Warning Event (reason ConfigRejected, the error
// text as message) on the operator's ConfigMap for every rejected edit. A
// rejection with the same message as the previous one, with no accepted
// configuration in between, records nothing. An accepted configuration
// with keys of no known module (configstore.Snapshot.Unknown) records a
// Warning Event with reason ConfigUnknownKeys naming them, once per
// distinct list.
//
// Observe may be called from any goroutine and never blocks; Start writes
// the Events.
type ConfigEvents struct {
	client    kubernetes.Interface
	namespace string
	configMap string
	instance  string
	log       *slog.Logger
	clock     clock.Clock
	wake      chan struct{}
	masker    Masker

	mu      sync.Mutex
	pending []observation

	// Used by Start's goroutine only.
	last        string // message of the last recorded rejection; "" after an accepted configuration
	lastUnknown string // message of the last recorded ConfigUnknownKeys; "" after a configuration without such keys
}

// observation is a rejection (msg set), an accepted configuration (msg
// empty), or the unknown keys of an accepted configuration (unknown set,
// msg lists them, empty for none).
type observation struct {
	msg     string
	unknown bool
	at      time.Time
}

// EventsOption configures a ConfigEvents.
type EventsOption func(*ConfigEvents)

// WithEventsClock replaces the real clock (k8s.io/utils/clock.RealClock),
// which stamps the Events and times the retries of failed writes. A nil c
// keeps the real clock.
func WithEventsClock(c clock.Clock) EventsOption {
	return func(r *ConfigEvents) {
		if c != nil {
			r.clock = c
		}
	}
}

// WithEventsMasker has every Event note passed through m: a rejection
// lists the problems of an edit, which may quote a value.
func WithEventsMasker(m Masker) EventsOption {
	return func(r *ConfigEvents) { r.masker = m }
}

// NewConfigEvents returns a recorder for the ConfigMap configMap in
// namespace. It does not contact the API server. log may be nil.
func NewConfigEvents(client kubernetes.Interface, namespace, configMap string, log *slog.Logger, opts ...EventsOption) *ConfigEvents {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	r := &ConfigEvents{
		client: client, namespace: namespace, configMap: configMap,
		instance: truncate(fmt.Sprintf("%s-%d", host, os.Getpid()), 128),
		log:      log, clock: clock.RealClock{}, wake: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Observe takes an event of the config store (a configstore.WithListener):
// an accepted configuration ends a run of identical rejections, a rejected
// one is recorded unless it repeats the previous rejection. An event that
// merged both (a Change and an Err) counts as an acceptance followed by the
// rejection.
func (r *ConfigEvents) Observe(ev configstore.Event) {
	now := r.clock.Now()
	r.mu.Lock()
	if ev.Err == nil || !ev.Change.Empty() {
		r.pending = append(r.pending, observation{at: now},
			observation{msg: strings.Join(ev.Snapshot.Unknown, "\n"), unknown: true, at: now})
	}
	if ev.Err != nil {
		r.pending = append(r.pending, observation{msg: ev.Err.Error(), at: now})
	}
	if n := len(r.pending) - maxPendingEvents; n > 0 {
		r.pending = append(r.pending[:0:0], r.pending[n:]...)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start writes the observed rejections as Events, in order, until ctx is
// done. A failing write is retried a few times with backoff, then dropped
// and logged. It returns nil when ctx is done.
func (r *ConfigEvents) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		}
		for {
			o, ok := r.next()
			if !ok {
				break
			}
			if o.unknown {
				if o.msg != r.lastUnknown && o.msg != "" {
					if err := r.record(ctx, o); err != nil {
						if ctx.Err() != nil {
							return nil
						}
						r.log.Error("record config unknown keys event failed", "error", err)
						continue
					}
				}
				r.lastUnknown = o.msg
				continue
			}
			if o.msg == "" {
				r.last = ""
				continue
			}
			if o.msg == r.last {
				r.log.Debug("config rejected again with the same problems, no new event")
				continue
			}
			if err := r.record(ctx, o); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.log.Error("record config rejected event failed", "error", err)
				continue
			}
			r.last = o.msg
		}
	}
}

func (r *ConfigEvents) next() (observation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return observation{}, false
	}
	o := r.pending[0]
	r.pending = r.pending[1:]
	return o, true
}

// record creates the Event, retrying with backoff.
func (r *ConfigEvents) record(ctx context.Context, o observation) error {
	var err error
	wait := retryMin
	for attempt := 1; ; attempt++ {
		if err = r.create(ctx, o); err == nil {
			return nil
		}
		if attempt == eventAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.clock.After(wait):
		}
		wait *= 2
	}
}

func (r *ConfigEvents) mask(s string) string {
	if r.masker == nil {
		return s
	}
	return r.masker.Mask(s)
}

func (r *ConfigEvents) create(ctx context.Context, o observation) error {
	reason, suffix := ReasonConfigRejected, ""
	if o.unknown {
		// A rejection observed at the same time has the other name.
		reason, suffix = ReasonConfigUnknownKeys, "u"
	}
	ref := corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: r.namespace, Name: r.configMap}
	// The UID lets `kubectl describe configmap` find the Event.
	if cm, err := r.client.CoreV1().ConfigMaps(r.namespace).Get(ctx, r.configMap, metav1.GetOptions{}); err == nil {
		ref.UID, ref.ResourceVersion = cm.UID, cm.ResourceVersion
	}
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x%s", r.configMap, o.at.UnixNano(), suffix),
			Namespace: r.namespace,
		},
		EventTime:           metav1.NewMicroTime(o.at),
		ReportingController: reportingController,
		ReportingInstance:   r.instance,
		Action:              eventAction,
		Reason:              reason,
		Regarding:           ref,
		Note:                truncate(r.mask(o.msg), maxEventNote),
		Type:                corev1.EventTypeWarning,
	}
	_, err := r.client.EventsV1().Events(r.namespace).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) { // AlreadyExists: an earlier attempt got through
		return fmt.Errorf("create event on configmap %s/%s: %w", r.namespace, r.configMap, err)
	}
	return nil
}
