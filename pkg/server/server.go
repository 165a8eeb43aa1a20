package server

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is where the server listens.
type Config struct {
	Address string
	Port    string
}

// BindFlags registers --listen-address and --listen-port, defaulting to
// ADDON_OPERATOR_LISTEN_ADDRESS / ADDON_OPERATOR_LISTEN_PORT, then 0.0.0.0:9650.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Address, "listen-address", cmp.Or(os.Getenv("ADDON_OPERATOR_LISTEN_ADDRESS"), "0.0.0.0"), "HTTP listen address (env ADDON_OPERATOR_LISTEN_ADDRESS)")
	fs.StringVar(&c.Port, "listen-port", cmp.Or(os.Getenv("ADDON_OPERATOR_LISTEN_PORT"), "9650"), "HTTP listen port (env ADDON_OPERATOR_LISTEN_PORT)")
}

// Readiness reports whether the operator is ready; nil means ready.
type Readiness func() error

// Server serves the endpoints.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	log   *slog.Logger
	ready Readiness
}

// New builds the server. metrics and hookMetrics are gathered on each
// scrape of /metrics and /metrics/hooks.
func New(cfg Config, metrics, hookMetrics prometheus.Gatherer, ready Readiness, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, mux: http.NewServeMux(), log: log, ready: ready}
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("/readyz", s.readyz)
	s.mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	s.mux.Handle("/metrics/hooks", promhttp.HandlerFor(hookMetrics, promhttp.HandlerOpts{}))
	return s
}

// Handle adds a handler (for example the admission webhook).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := s.ready(); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Start listens and serves until ctx is done, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	addr := net.JoinHostPort(s.cfg.Address, s.cfg.Port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("http server listening", "address", ln.Addr().String())
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	select {
	case err := <-errCh:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server shutdown: %w", err)
	}
	return nil
}
