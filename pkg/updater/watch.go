package updater

import (
	"context"
	"fmt"
	"time"

	"github.com/seedops/addon-operator/pkg/module"
)

// ConvergeError says why a release did not converge.
type ConvergeError struct {
	// Module is the failing module, "" for the global steps (global hooks,
	// discovery).
	Module string
	// Message is its last error.
	Message string
	// Failures counts its failed runs; Timeout is set when the rollback
	// timeout passed first.
	Failures int
	Timeout  time.Duration
}

func (e *ConvergeError) Error() string {
	what := "global hooks"
	if e.Module != "" {
		what = "module " + e.Module
	}
	if e.Timeout > 0 {
		if e.Message == "" {
			return fmt.Sprintf("not converged within %s (%s)", e.Timeout, what)
		}
		return fmt.Sprintf("not converged within %s: %s: %s", e.Timeout, what, e.Message)
	}
	return fmt.Sprintf("%s still failing after %d attempts: %s", what, e.Failures, e.Message)
}

// watch follows the converge of a swapped-in bundle: nil once the global
// steps and every enabled module are Ready; a *ConvergeError when the
// global steps or a module failed more than retries+1 times, or timeout
// passed first; ctx.Err() when ctx is done. It looks at the converge state
// again after each change the converger signals.
func (u *Updater) watch(ctx context.Context, retries int, timeout time.Duration) error {
	changes, cancel := u.deps.Convergence.Subscribe()
	defer cancel()
	deadline := u.deps.Clock.NewTimer(timeout)
	defer deadline.Stop()
	for {
		g, statuses := u.deps.Convergence.GlobalStatus(), u.deps.Convergence.Statuses()
		if err := failing(g, statuses, retries); err != nil {
			return err
		}
		if converged(g, statuses) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C():
			err := &ConvergeError{Timeout: timeout}
			if g.Phase != module.PhaseReady {
				err.Message = g.Message
			} else if s, ok := firstNotReady(statuses); ok {
				err.Module, err.Message = s.Module, s.Message
				if err.Message == "" {
					err.Message = "phase " + string(s.Phase)
				}
			}
			return err
		case <-changes:
		}
	}
}

// failing returns the first part that failed more than retries+1 times.
func failing(g module.GlobalStatus, statuses []module.Status, retries int) *ConvergeError {
	if g.Phase == module.PhaseError && g.Failures > retries {
		return &ConvergeError{Message: g.Message, Failures: g.Failures}
	}
	for _, s := range statuses {
		if s.Phase == module.PhaseError && s.Failures > retries {
			return &ConvergeError{Module: s.Module, Message: s.Message, Failures: s.Failures}
		}
	}
	return nil
}

// converged: the global steps are Ready, every enabled module is Ready and
// no module is failing or running.
func converged(g module.GlobalStatus, statuses []module.Status) bool {
	if g.Phase != module.PhaseReady {
		return false
	}
	_, notReady := firstNotReady(statuses)
	return !notReady
}

func firstNotReady(statuses []module.Status) (module.Status, bool) {
	for _, s := range statuses {
		if s.Phase == module.PhaseError || s.Phase == module.PhaseReconciling || (s.Enabled && s.Phase != module.PhaseReady) {
			return s, true
		}
	}
	return module.Status{}, false
}
