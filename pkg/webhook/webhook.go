package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/configstore"
)

// retryAfterFailure is the pause before a failed check is repeated (at
// most CheckInterval).
const retryAfterFailure = 5 * time.Second

// Deps are the webhook's collaborators.
type Deps struct {
	Client kubernetes.Interface
	// Schemas are the config store's: the bundle in force. The webhook asks
	// them on every review and keeps no answer.
	Schemas configstore.Schemas
	// Store names the namespace, the ConfigMap and the Secret to validate.
	Store configstore.Config
	Log   *slog.Logger
	// Clock tells the time of certificate checks and runs the timer between
	// them; nil means clock.RealClock.
	Clock clock.WithTicker
}

// Webhook serves the admission webhook and keeps its certificate and
// ValidatingWebhookConfiguration. Build it with New and run Start once.
type Webhook struct {
	cfg     Config
	client  kubernetes.Interface
	certs   *certs
	handler *handler
	target  target
	clock   clock.WithTicker
	log     *slog.Logger
}

// New checks cfg and returns a Webhook for the ConfigMap and Secret that
// deps.Store names. It does not touch the cluster.
func New(cfg Config, deps Deps) (*Webhook, error) {
	ns := deps.Store.Namespace
	if ns == "" {
		return nil, configstore.ErrNoNamespace
	}
	if err := cfg.check(ns); err != nil {
		return nil, err
	}
	clk := deps.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	cm := deps.Store.ConfigMap
	if cm == "" {
		cm = configstore.DefaultConfigMap
	}
	secret := deps.Store.SecretName()
	return &Webhook{
		cfg:    cfg,
		client: deps.Client,
		certs: &certs{
			client: deps.Client, namespace: ns, secret: cfg.TLSSecret, hosts: cfg.hosts(ns),
			validity: cfg.CertValidity, rotateBefore: cfg.RotateBefore, now: clk.Now, log: deps.Log,
		},
		handler: &handler{client: deps.Client, namespace: ns, configMap: cm, secret: secret, schemas: deps.Schemas, log: deps.Log},
		target:  target{name: cfg.Configuration, namespace: ns, objects: []string{cm, secret}, url: cfg.URL, service: cfg.Service},
		clock:   clk,
		log:     deps.Log,
	}, nil
}

// Start serves HTTPS on the configured address until ctx is done, and
// meanwhile checks the certificate Secret and the
// ValidatingWebhookConfiguration at once and then every CheckInterval
// (after a failure sooner), creating, renewing, reloading and patching as
// needed. Check failures are logged and retried, never returned; Start
// returns an error only when it cannot listen or the server fails. The
// configuration is left in place when Start returns: other replicas may
// still serve, and with failurePolicy Ignore an unanswered call lets the
// edit pass.
func (w *Webhook) Start(ctx context.Context) error {
	addr := net.JoinHostPort(w.cfg.Address, strconv.Itoa(w.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhook: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, w.handler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{GetCertificate: w.certs.getCertificate, MinVersion: tls.VersionTLS12},
		// Handshake errors (a client that does not trust the CA yet) are
		// not the operator's problems.
		ErrorLog: slog.NewLogLogger(w.log.Handler(), slog.LevelDebug),
	}
	w.log.Info("webhook listening", "address", ln.Addr().String())
	errCh := make(chan error, 1)
	go func() { errCh <- srv.ServeTLS(ln, "", "") }()

	checkCtx, stopChecks := context.WithCancel(ctx)
	checksDone := make(chan struct{})
	go func() {
		defer close(checksDone)
		w.checkLoop(checkCtx)
	}()
	defer func() {
		stopChecks()
		<-checksDone
	}()

	select {
	case err := <-errCh:
		return fmt.Errorf("webhook server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook server shutdown: %w", err)
	}
	return nil
}

// checkLoop checks at once, then after each delay, until ctx is done.
func (w *Webhook) checkLoop(ctx context.Context) {
	failing := false
	timer := w.clock.NewTimer(w.checkOnce(ctx, &failing))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		timer.Reset(w.checkOnce(ctx, &failing))
	}
}

// checkOnce checks, logs a failure when *failing was not set yet and the
// recovery when it was, and returns the delay before the next check:
// CheckInterval, at most retryAfterFailure after a failure.
func (w *Webhook) checkOnce(ctx context.Context, failing *bool) time.Duration {
	next := w.cfg.CheckInterval
	err := w.check(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil:
		if !*failing {
			w.log.Warn("webhook check failed, retrying", "error", err)
		}
		*failing = true
		next = min(next, retryAfterFailure)
	case *failing:
		*failing = false
		w.log.Info("webhook check ok again")
	}
	return next
}

// check brings the certificate and the configuration in line once. A new
// certificate is served only after the configuration trusts its CA, so
// that the API server can verify every certificate served.
func (w *Webhook) check(ctx context.Context) error {
	b, err := w.certs.ensure(ctx)
	if err != nil {
		return err
	}
	changed, err := ensureConfiguration(ctx, w.client, w.target.configuration(b.CA))
	if err != nil {
		return err
	}
	if changed {
		w.log.Info("webhook configuration written", "configuration", w.target.name)
	}
	return w.certs.load(b)
}
