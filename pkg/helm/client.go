package helm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/validation"
	"k8s.io/utils/clock"
)

// Operation names passed to Observer.HelmOperation.
const (
	OpRender    = "render"
	OpInstall   = "install"
	OpUpgrade   = "upgrade"
	OpUninstall = "uninstall"
)

// Observer receives the duration and outcome of every Helm operation, for
// metrics. It is called synchronously from the goroutine of the operation
// and must not block.
type Observer interface {
	HelmOperation(release, op string, seconds float64, err error)
}

// Option configures a Client.
type Option func(*Client)

// WithObserver reports every Helm operation to o.
func WithObserver(o Observer) Option {
	return func(c *Client) { c.observer = o }
}

// WithClock replaces the real clock (k8s.io/utils/clock.RealClock), which
// paces the wait for CRDs to be established, ages the cached server
// capabilities and times operations for the Observer. A nil c keeps the
// real clock.
func WithClock(c clock.Clock) Option {
	return func(cl *Client) {
		if c != nil {
			cl.clock = c
		}
	}
}

// WithObjectCache makes the check for missing objects (Deploy, Missing)
// look in the metadata m watches before asking the API server: an object
// that a running watch of m holds exists, and costs no request; only the
// others (kinds or namespaces m does not watch yet, objects without
// ModuleLabel, missing objects) are read from the API server, one GET
// each. So a check of a release that m tracks costs no request per object:
// m's watches cost one list and one watch per resource type and namespace,
// whatever the number of releases and objects. An object deleted moments
// ago may still be held; m reports its deletion (Events) and the Deploy
// that follows finds it missing. A nil m changes nothing.
func WithObjectCache(m *Monitor) Option {
	return func(c *Client) {
		if m != nil {
			c.cache = m
		}
	}
}

// Client manages the releases of one namespace. Its methods are safe for
// concurrent use: calls for the same release wait for each other (not
// necessarily in call order), calls for different releases run in parallel.
// A Client keeps no goroutines; dropping it is enough to release it.
type Client struct {
	cfg      Config
	log      *slog.Logger
	clock    clock.Clock
	observer Observer
	api      *apiView
	core     kubernetes.Interface
	crds     apiextensions.Interface
	meta     metadata.Interface
	dyn      dynamic.Interface
	locks    releaseLocks
	cache    objectCache // nil: every check reads the API server

	// The parsed manifests of deployed revisions, for drift checks.
	driftMu   sync.Mutex
	driftDocs map[string]*deployedManifest
}

// New returns a Client for the releases in cfg.Namespace. It does not
// contact the API server. log may be nil.
func New(restCfg *rest.Config, cfg Config, log *slog.Logger, opts ...Option) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: log, clock: clock.RealClock{}}
	for _, o := range opts {
		o(c)
	}
	restCfg = rest.CopyConfig(restCfg)
	api, err := newAPIView(restCfg, cfg.Namespace, c.clock)
	if err != nil {
		return nil, fmt.Errorf("helm client: %w", err)
	}
	core, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("helm client: %w", err)
	}
	crds, err := apiextensions.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("helm client: %w", err)
	}
	meta, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("helm client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("helm client: %w", err)
	}
	c.api, c.core, c.crds, c.meta, c.dyn = api, core, crds, meta, dyn
	return c, nil
}

// store returns Helm's release storage for the namespace.
func (c *Client) store() *storage.Storage {
	return c.storage(c.secrets())
}

// releaseStore returns Helm's release storage for one operation on the
// release name, under its lock: see releaseRecords.
func (c *Client) releaseStore(name string) *storage.Storage {
	return c.storage(newReleaseRecords(c.secrets(), name))
}

func (c *Client) secrets() *driver.Secrets {
	d := driver.NewSecrets(c.core.CoreV1().Secrets(c.cfg.Namespace))
	d.Log = c.helmLog
	return d
}

func (c *Client) storage(d driver.Driver) *storage.Storage {
	s := storage.Init(d)
	s.MaxHistory = c.cfg.HistoryMax
	s.Log = c.helmLog
	return s
}

// actionConfig returns a fresh configuration for one Helm action on the
// releases of store. It shares the client's discovery cache and
// capabilities.
func (c *Client) actionConfig(store *storage.Storage) (*action.Configuration, error) {
	caps, err := c.api.capabilities()
	if err != nil {
		return nil, err
	}
	kc := c.api.kubeClient(func() *kube.Client {
		kc := kube.New(c.api)
		kc.Factory = &validatorCache{Factory: kc.Factory, schemas: map[string]validation.Schema{}}
		kc.Namespace = c.cfg.Namespace
		kc.Log = c.helmLog
		return kc
	})
	return &action.Configuration{
		RESTClientGetter: c.api,
		Releases:         store,
		KubeClient:       kc,
		Capabilities:     caps,
		Log:              c.helmLog,
		HookOutputFunc:   func(_, _, _ string) io.Writer { return io.Discard },
	}, nil
}

// validatorCache keeps the manifest validators the SDK asks for on every
// Build. Making one reads and decodes the API server's OpenAPI documents to
// learn whether it validates fields itself, which is most of the cost of an
// upgrade; a kept validator remembers the answers. It lives as long as the
// shared kube client (see apiView.kubeClient).
type validatorCache struct {
	kube.Factory
	mu      sync.Mutex
	schemas map[string]validation.Schema
}

func (f *validatorCache) Validator(directive string) (validation.Schema, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.schemas[directive]; ok {
		return s, nil
	}
	s, err := f.Factory.Validator(directive)
	if err != nil {
		return nil, err
	}
	f.schemas[directive] = s
	return s, nil
}

// helmLog passes the SDK's debug messages on at debug level.
func (c *Client) helmLog(format string, args ...any) {
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	c.log.Debug("helm sdk", "detail", fmt.Sprintf(format, args...))
}

func (c *Client) observe(name, op string, start time.Time, err error) {
	if c.observer != nil {
		c.observer.HelmOperation(name, op, c.clock.Since(start).Seconds(), err)
	}
}

// releaseLocks serializes operations per release name.
type releaseLocks struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

// lock waits until no other operation holds name, or ctx is done.
func (l *releaseLocks) lock(ctx context.Context, name string) (unlock func(), err error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]chan struct{}{}
	}
	ch, ok := l.locks[name]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[name] = ch
	}
	l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for another operation on the release: %w", ctx.Err())
	}
}

// tryLock takes name when no other operation holds it.
func (l *releaseLocks) tryLock(name string) (unlock func(), ok bool) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]chan struct{}{}
	}
	ch, found := l.locks[name]
	if !found {
		ch = make(chan struct{}, 1)
		l.locks[name] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, true
	default:
		return nil, false
	}
}
