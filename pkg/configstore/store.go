package configstore

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/values"
)

// Object kinds, also the log keys naming them.
const (
	kindConfigMap = "configmap"
	kindSecret    = "secret"
)

const (
	// echoTimeout bounds how long the Store waits for the informer to show
	// its own write before it reads the cache regardless.
	echoTimeout = 10 * time.Second
	// recreateRetry is the pause before re-creating deleted objects again
	// after a failure.
	recreateRetry = 5 * time.Second
)

// Store loads, watches and saves the configuration. Build it with New, run
// Start once, read Events. Current, Patch, Resync and Events are safe for
// concurrent use, also before and after Start.
type Store struct {
	client  kubernetes.Interface
	cfg     Config
	schemas Schemas
	log     *slog.Logger
	clock   clock.WithDelayedExecution

	events    chan Event
	listeners []func(Event)
	kick      chan struct{}

	// writeMu serialises everything that decides on or writes the
	// configuration: the Start loop's syncs and Patch. It is held across API
	// calls; informer handlers never take it.
	writeMu     sync.Mutex
	initialSent bool
	cmSeen      bool
	secretSeen  bool
	goneWarned  bool
	lastErr     string

	// mu guards current and echo; it is never held across I/O.
	mu      sync.Mutex
	current Snapshot
	echo    echoTracker
}

// Option configures a Store.
type Option func(*Store)

// WithListener has listen called with every event, in order, before it is
// sent on Events: listeners see each event as emitted, also those later
// merged into an unread one. listen runs while the Store decides on the
// configuration, on the goroutine of Start or of Patch: it must not block
// nor call the Store. Several listeners are called in the order given.
func WithListener(listen func(Event)) Option {
	return func(s *Store) { s.listeners = append(s.listeners, listen) }
}

// WithClock replaces the real clock (k8s.io/utils/clock.RealClock), which
// bounds the wait for the echo of an own write, spaces out retries of
// re-creating deleted objects and of conflicting patches. A nil c keeps the
// real clock.
func WithClock(c clock.WithDelayedExecution) Option {
	return func(s *Store) {
		if c != nil {
			s.clock = c
		}
	}
}

// New returns a Store for the ConfigMap and Secret that cfg names. schemas
// is consulted on every parse, so it may change its answers over time.
func New(client kubernetes.Interface, cfg Config, schemas Schemas, log *slog.Logger, opts ...Option) *Store {
	cfg.ConfigMap = cfg.configMapName()
	s := &Store{
		client:  client,
		cfg:     cfg,
		schemas: schemas,
		log:     log,
		clock:   clock.RealClock{},
		events:  make(chan Event, 1),
		kick:    make(chan struct{}, 1),
		current: emptySnapshot(),
		echo:    newEchoTracker(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Events delivers configuration changes and rejected edits; see Event.
//
// The channel holds one event and is never closed. The Store never blocks
// on it: when the consumer has not read the pending event yet, the next one
// is merged into it (newest Snapshot, union of Changes), so a slow consumer
// always gets the latest state in one event and misses no changed key. The
// first accepted configuration after Start comes with Change.Initial. A
// Patch made before the Initial event sends no event of its own; its result
// is part of the Initial one.
func (s *Store) Events() <-chan Event {
	return s.events
}

// Current returns a copy of the configuration in force: the last accepted
// one, or an empty Snapshot before any was accepted.
func (s *Store) Current() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.DeepCopy()
}

// Resync asks the running Store to parse the cached ConfigMap and Secret
// again, for example after Schemas started answering differently (a new
// bundle). It does not block; the outcome arrives on Events like any edit.
func (s *Store) Resync() {
	s.trigger()
}

// Start watches the ConfigMap and the Secret (informers restricted to the
// namespace and the two names) and blocks until ctx is done, then returns
// nil. After the first sync of both caches it sends the Initial event, also
// when neither object exists (an empty configuration). It returns an error
// only for an unusable Config. Call it once.
func (s *Store) Start(ctx context.Context) error {
	if s.cfg.Namespace == "" {
		return ErrNoNamespace
	}
	cmFactory := informers.NewSharedInformerFactoryWithOptions(s.client, 0,
		informers.WithNamespace(s.cfg.Namespace), informers.WithTweakListOptions(byName(s.cfg.ConfigMap)))
	secretFactory := informers.NewSharedInformerFactoryWithOptions(s.client, 0,
		informers.WithNamespace(s.cfg.Namespace), informers.WithTweakListOptions(byName(s.cfg.SecretName())))
	cmInformer := cmFactory.Core().V1().ConfigMaps()
	secretInformer := secretFactory.Core().V1().Secrets()
	if _, err := cmInformer.Informer().AddEventHandler(s.handler(kindConfigMap)); err != nil {
		return fmt.Errorf("watch configmap %s: %w", s.ref(), err)
	}
	if _, err := secretInformer.Informer().AddEventHandler(s.handler(kindSecret)); err != nil {
		return fmt.Errorf("watch secret %s/%s: %w", s.cfg.Namespace, s.cfg.SecretName(), err)
	}
	cmFactory.Start(ctx.Done())
	secretFactory.Start(ctx.Done())
	defer secretFactory.Shutdown()
	defer cmFactory.Shutdown()

	if !allSynced(cmFactory.WaitForCacheSync(ctx.Done())) || !allSynced(secretFactory.WaitForCacheSync(ctx.Done())) {
		return nil // ctx is done
	}
	caches := caches{
		cm:     cmInformer.Lister().ConfigMaps(s.cfg.Namespace),
		secret: secretInformer.Lister().Secrets(s.cfg.Namespace),
	}
	s.sync(ctx, caches)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			s.sync(ctx, caches)
		}
	}
}

func allSynced(synced map[reflect.Type]bool) bool {
	for _, ok := range synced {
		if !ok {
			return false
		}
	}
	return true
}

func byName(name string) func(*metav1.ListOptions) {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	return func(o *metav1.ListOptions) { o.FieldSelector = selector }
}

// caches are the informers' views of the two objects.
type caches struct {
	cm     listersv1.ConfigMapNamespaceLister
	secret listersv1.SecretNamespaceLister
}

func (c caches) get(cmName, secretName string) (*corev1.ConfigMap, *corev1.Secret) {
	cm, err := c.cm.Get(cmName)
	if err != nil {
		cm = nil // the lister fails only with NotFound
	}
	secret, err := c.secret.Get(secretName)
	if err != nil {
		secret = nil
	}
	return cm, secret
}

func (s *Store) handler(kind string) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.observed(kind, obj, false) },
		UpdateFunc: func(_, obj any) { s.observed(kind, obj, false) },
		DeleteFunc: func(obj any) { s.observed(kind, obj, true) },
	}
}

// observed runs on the informer's goroutine: it records the version and
// wakes the Start loop, never blocking.
func (s *Store) observed(kind string, obj any, deleted bool) {
	rv := ""
	if m, err := meta.Accessor(obj); err == nil {
		rv = m.GetResourceVersion()
	}
	s.mu.Lock()
	s.echo.observe(kind, rv, deleted)
	s.mu.Unlock()
	s.trigger()
}

func (s *Store) trigger() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// sync brings the configuration in force up to date with the caches.
func (s *Store) sync(ctx context.Context, c caches) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.initialSent {
		s.mu.Lock()
		waiting := s.echo.waiting(s.clock.Now())
		s.mu.Unlock()
		if waiting {
			return // the rest of an own write is on its way; echoTimeout kicks again
		}
	}
	cm, secret := c.get(s.cfg.ConfigMap, s.cfg.SecretName())
	if s.handleDeleted(ctx, cm, secret) {
		return
	}
	if cm != nil {
		s.cmSeen, s.goneWarned = true, false
	}
	if secret != nil {
		s.secretSeen = true
	}
	p, err := parse(configMapData(cm), secretData(secret), s.schemas)
	if err != nil {
		s.reject(fmt.Errorf("configmap %s: %w", s.ref(), err))
		return
	}
	s.accept(p.snap, false)
}

// accept puts snap in force and sends the event for it. Called with writeMu
// held. Before the Initial event, a Patch (byPatch) only updates Current.
func (s *Store) accept(snap Snapshot, byPatch bool) {
	s.mu.Lock()
	if byPatch && !s.initialSent {
		s.current = snap
		s.mu.Unlock()
		return
	}
	var change Change
	if s.initialSent {
		change = diff(s.current, snap)
	} else {
		change = diff(emptySnapshot(), snap)
		change.Initial = true
	}
	unknownChanged := !slices.Equal(s.current.Unknown, snap.Unknown)
	s.current = snap
	s.mu.Unlock()

	recovered := s.lastErr != ""
	s.lastErr = ""
	if unknownChanged && len(snap.Unknown) > 0 {
		s.log.Warn("config keys of no known module ignored", "configmap", s.ref(), "keys", strings.Join(snap.Unknown, "; "))
	}
	if change.Empty() && !recovered && !unknownChanged {
		return
	}
	s.initialSent = true
	s.log.Info("config accepted", "configmap", s.ref(), "section", strings.Join(changedKeys(change), ","))
	s.emit(Event{Snapshot: snap.DeepCopy(), Change: change})
}

// reject reports a configuration that is not accepted, once per distinct
// problem. Called with writeMu held.
func (s *Store) reject(err error) {
	msg := err.Error()
	if msg == s.lastErr {
		return
	}
	s.lastErr = msg
	s.log.Error("config rejected, keeping the last accepted config", "configmap", s.ref(), "error", err)
	s.emit(Event{Snapshot: s.Current(), Err: err})
}

// emit shows ev to the listeners, then hands it to the consumer without
// blocking, merging it into an event still unread. Called with writeMu held, which makes the Store the only
// sender: after the receive below the buffer has room.
func (s *Store) emit(ev Event) {
	for _, listen := range s.listeners {
		listen(ev)
	}
	select {
	case s.events <- ev:
		return
	default:
	}
	select {
	case older := <-s.events:
		ev = coalesce(older, ev)
	default:
	}
	s.events <- ev
}

// expectEcho records the object versions an own write left, so the caches'
// older versions in between are not taken for edits. Called with writeMu
// held.
func (s *Store) expectEcho(rvs map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.echo.expect(rvs, s.clock.Now().Add(echoTimeout)) {
		s.clock.AfterFunc(echoTimeout, s.trigger)
	}
}

func (s *Store) ref() string {
	return s.cfg.Namespace + "/" + s.cfg.ConfigMap
}

func configMapData(cm *corev1.ConfigMap) map[string]string {
	if cm == nil {
		return nil
	}
	return cm.Data
}

func secretData(secret *corev1.Secret) map[string][]byte {
	if secret == nil {
		return nil
	}
	return secret.Data
}

func changedKeys(c Change) []string {
	var keys []string
	if c.Global {
		keys = append(keys, values.GlobalKey)
	}
	if c.Operator {
		keys = append(keys, values.OperatorKey)
	}
	keys = append(keys, c.Modules...)
	for _, k := range c.Enabled {
		keys = append(keys, k+enabledSuffix)
	}
	return keys
}
