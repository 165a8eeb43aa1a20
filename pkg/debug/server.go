package debug

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/values"
)

// Modules is the bundle in force and its modules' state
// (*converge.Converger).
type Modules interface {
	Bundle() *module.Bundle
	Statuses() []module.Status
	Hooks() []*hook.Hook
}

// ValuesReader gives the values hooks and charts see, secrets included
// (*converge.Converger). ModuleValues fails with module.ErrUnknownModule
// for a name that is not a module of the bundle in force.
type ValuesReader interface {
	ModuleValues(name string) (vals, cfgVals values.Values, err error)
	GlobalValues() (vals, cfgVals values.Values)
}

// Queues lists the queues and their tasks (*queue.Set).
type Queues interface {
	Snapshot() []queue.QueueInfo
}

// Charts renders charts without applying them and reads releases
// (*helm.Client). Status fails with helm.ErrNotFound for a missing release;
// Render with helm.ErrRender for a chart that does not render.
type Charts interface {
	Render(ctx context.Context, name, chartDir string, vals values.Values) (helm.Rendered, error)
	Status(ctx context.Context, name string) (helm.Release, error)
}

// Sources are what the server reads. They exist only on the leader.
// Every field but Releases and Drift must be set; all are called
// concurrently from request goroutines.
type Sources struct {
	Modules Modules
	Values  ValuesReader
	Queues  Queues
	Charts  Charts
	// Releases is the release channel's Release objects; nil makes the
	// release endpoints answer "release channels are not available".
	Releases Releases
	// Drift is the drift left in place; nil makes the drift endpoint
	// answer that drift is not checked.
	Drift DriftReader
}

// Server is the debug API on a unix socket. Its methods are safe for
// concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	src  atomic.Pointer[Sources]
	rule peerRule
}

// Option configures a Server.
type Option func(*Server)

// WithHookGroups makes the server refuse peers in the process group of a
// running hook (see NewServer); the operator passes its *hook.Runner.
func WithHookGroups(g HookGroups) Option {
	return func(s *Server) { s.rule.hooks = g }
}

// shutdownTimeout bounds how long Start waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// NewServer returns a server that answers "this replica is not the leader"
// until Lead is called. It answers 403 to a peer that descends from this
// process, is in a hook's process group (WithHookGroups), is in another pid
// namespace or has a uid other than this process's or root's: hooks cannot
// use the socket although they share the operator's uid.
func NewServer(cfg Config, log *slog.Logger, opts ...Option) *Server {
	s := &Server{cfg: cfg, log: log, mux: http.NewServeMux(), rule: peerRule{self: os.Getpid(), proc: "/proc"}}
	for _, o := range opts {
		o(s)
	}
	s.routes()
	return s
}

// Lead makes the server answer from src, from now on.
func (s *Server) Lead(src Sources) { s.src.Store(&src) }

// Follow makes the server answer "this replica is not the leader" again,
// for instance once the leader's parts have stopped.
func (s *Server) Follow() { s.src.Store(nil) }

// Start listens on the socket (mode 0600, in a directory of mode 0700) and
// serves the peers the server admits until ctx is done,
// then waits a few seconds for requests in flight and removes the socket
// file. A stale socket file is replaced; a socket another process serves is
// an error wrapping ErrSocketInUse. With an empty Config.Socket it serves
// nothing and only waits for ctx.
func (s *Server) Start(ctx context.Context) error {
	if s.cfg.Socket == "" {
		s.log.Info("debug socket disabled")
		<-ctx.Done()
		return nil
	}
	l, made, err := listen(s.cfg.Socket)
	if err != nil {
		return fmt.Errorf("debug socket: %w", err)
	}
	guarded := &guardedListener{UnixListener: l, rule: s.rule, log: s.log}
	defer guarded.refusing.Wait()
	srv := &http.Server{
		Handler:           s.mux,
		ConnContext:       withPeer,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(_ net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(guarded) }()
	s.log.Info("debug socket listening", "socket", s.cfg.Socket)

	var serveErr error
	select {
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := srv.Shutdown(shutCtx); err != nil {
			srv.Close()
		}
		cancel()
		<-served
	case serveErr = <-served:
		serveErr = fmt.Errorf("debug socket: %w", serveErr)
	}
	return errors.Join(serveErr, removeSocket(s.cfg.Socket, made))
}

// apiError is an answer other than 200.
type apiError struct {
	status int
	body   ErrorResponse
}

func (e *apiError) Error() string { return e.body.Error }

// errNotLeader is the answer while there are no Sources.
var errNotLeader = &apiError{status: http.StatusServiceUnavailable, body: ErrorResponse{
	Code:  CodeNotLeader,
	Error: "this replica is not the leader: only the leader runs the modules and can answer (or the operator is still starting); ask the replica that holds the lease",
}}

// endpoint serves one API call from the current Sources.
type endpoint func(r *http.Request, src *Sources) (any, error)

func (s *Server) serve(e endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		src := s.src.Load()
		var (
			body any
			err  error
		)
		if src == nil {
			err = errNotLeader
		} else {
			body, err = e(r, src)
		}
		if err == nil {
			writeJSON(w, http.StatusOK, body)
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			s.log.Error("debug request failed", "error", err)
			ae = &apiError{status: http.StatusInternalServerError, body: ErrorResponse{Code: CodeInternal, Error: err.Error()}}
		}
		writeJSON(w, ae.status, ae.body)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(ErrorResponse{Code: CodeInternal, Error: fmt.Sprintf("encode answer: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
