package updater

import (
	"context"
	"fmt"
	"strings"
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
	// Workloads: the module converged but a workload of its release timed
	// out or failed; Message names them and why.
	Workloads bool
}

func (e *ConvergeError) Error() string {
	what := "global hooks"
	if e.Module != "" {
		what = "module " + e.Module
	}
	if e.Workloads {
		return what + ": " + e.Message
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
// steps and every enabled module are Ready and, with Deps.Health, the
// workloads of every enabled module are ready; a *ConvergeError when the
// global steps or a module failed more than retries+1 times, a workload of
// a Ready module timed out or failed (Workloads set), or timeout passed
// first; ctx.Err() when ctx is done. It looks again after each change the
// converger or the health signals. While the converge is done and
// workloads are still awaited, progress is told what (for the release's
// message).
func (u *Updater) watch(ctx context.Context, retries int, timeout time.Duration, progress func(msg string)) error {
	changes, cancel := u.deps.Convergence.Subscribe()
	defer cancel()
	var healthChanges <-chan struct{}
	if u.deps.Health != nil {
		var cancelHealth func()
		healthChanges, cancelHealth = u.deps.Health.HealthChanges()
		defer cancelHealth()
	}
	deadline := u.deps.Clock.NewTimer(timeout)
	defer deadline.Stop()
	for {
		g, statuses := u.deps.Convergence.GlobalStatus(), u.deps.Convergence.Statuses()
		if err := failing(g, statuses, retries); err != nil {
			return err
		}
		health := u.health()
		if err := unhealthy(statuses, health); err != nil {
			return err
		}
		if converged(g, statuses) {
			s, waiting := firstUnhealthy(statuses, health)
			if !waiting {
				return nil
			}
			progress("converged, waiting for workloads: module " + s.Module + ": " + awaited(s, health))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C():
			return notConverged(g, statuses, health, timeout)
		case <-changes:
		case <-healthChanges:
		}
	}
}

// health is the workloads' health, nil without Deps.Health (not gated).
func (u *Updater) health() map[string]module.Health {
	if u.deps.Health == nil {
		return nil
	}
	if h := u.deps.Health.Health(); h != nil {
		return h
	}
	return map[string]module.Health{}
}

// notConverged says what kept the release from converging within timeout:
// the global steps, the first module not Ready, or the first whose
// workloads are not ready.
func notConverged(g module.GlobalStatus, statuses []module.Status, health map[string]module.Health, timeout time.Duration) *ConvergeError {
	err := &ConvergeError{Timeout: timeout}
	if g.Phase != module.PhaseReady {
		err.Message = g.Message
	} else if s, ok := firstNotReady(statuses); ok {
		err.Module, err.Message = s.Module, s.Message
		if err.Message == "" {
			err.Message = "phase " + string(s.Phase)
		}
	} else if s, ok := firstUnhealthy(statuses, health); ok {
		err.Module, err.Message = s.Module, awaited(s, health)
	}
	return err
}

// awaited says what the workloads of s are awaited for: the ones not
// ready yet, or a judgement for its current revision.
func awaited(s module.Status, health map[string]module.Health) string {
	if h, ok := health[s.Module]; ok && h.Revision == s.Revision && len(h.Waiting) > 0 {
		return "waiting for " + strings.Join(h.Waiting, "; ")
	}
	return "workloads not judged yet"
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

// unhealthy returns the first Ready module with a workload that timed out
// or failed, judged for the module's current revision.
func unhealthy(statuses []module.Status, health map[string]module.Health) *ConvergeError {
	for _, s := range statuses {
		if s.Phase != module.PhaseReady || s.Readiness.Ungated {
			continue
		}
		if h, ok := health[s.Module]; ok && h.Revision == s.Revision && len(h.Failed) > 0 {
			return &ConvergeError{Module: s.Module, Message: strings.Join(h.Failed, "; "), Workloads: true}
		}
	}
	return nil
}

// firstUnhealthy returns the first enabled module whose workloads are not
// known ready for its current revision: waiting, failed, or not judged yet
// (a health judged for another revision is of a release no longer in
// force). health nil: nothing is gated; a module whose chart opts out is
// not either.
func firstUnhealthy(statuses []module.Status, health map[string]module.Health) (module.Status, bool) {
	if health == nil {
		return module.Status{}, false
	}
	for _, s := range statuses {
		if !s.Enabled || s.Readiness.Ungated {
			continue
		}
		h, ok := health[s.Module]
		if !ok || h.Revision != s.Revision || len(h.Waiting) > 0 || len(h.Failed) > 0 {
			return s, true
		}
	}
	return module.Status{}, false
}

func firstNotReady(statuses []module.Status) (module.Status, bool) {
	for _, s := range statuses {
		if s.Phase == module.PhaseError || s.Phase == module.PhaseReconciling || (s.Enabled && s.Phase != module.PhaseReady) {
			return s, true
		}
	}
	return module.Status{}, false
}
