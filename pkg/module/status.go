package module

import (
	"time"

	"github.com/seedops/addon-operator/pkg/helm"
)

// Phase is the phase of a module (Status.Phase) or of the global steps
// (GlobalStatus.Phase, never Disabled). The values are wire strings: the
// Module resource's status.phase, the module_phase metric's label and the
// CLI show them as they are.
type Phase string

// The phases, the only values a Phase takes.
const (
	PhaseDisabled    Phase = "Disabled"
	PhaseReconciling Phase = "Reconciling"
	PhaseReady       Phase = "Ready"
	PhaseError       Phase = "Error"
)

// Phases lists every phase, in the order metrics and docs show them.
func Phases() []Phase {
	return []Phase{PhaseReady, PhaseReconciling, PhaseError, PhaseDisabled}
}

// Steps of a module run that can fail (Status.FailedStep).
const (
	StepEnabled = "enabled"
	StepHooks   = "hooks"
	StepHelm    = "helm"
	StepDelete  = "delete"
)

// Status is what the converger knows about a module.
type Status struct {
	Module string
	// Enabled is the outcome of discovery; EnabledByConfig the `*Enabled`
	// flag (or the bundle default) before the `enabled` script;
	// EnabledByScript the script's verdict, nil without a script or when it
	// did not run.
	Enabled         bool
	EnabledByConfig bool
	EnabledByScript *bool
	// EnabledReason is the `enabled` script's reason, if it gave one, or
	// the module.yaml requirement that is not met (then Enabled is false,
	// EnabledByConfig true and EnabledByScript nil: the script did not run).
	EnabledReason string
	Phase         Phase
	// FailedStep is the step of the last failure (Step*), "" when none.
	FailedStep string
	// Message is the last error, empty when Ready.
	Message  string
	LastRun  time.Time
	Failures int
	Revision int
	// Objects are the objects of the module's release.
	Objects []helm.ObjectRef
	// Readiness is the module's workload gate (Module.Readiness of the
	// bundle in force).
	Readiness Readiness
}

// Health is how the workloads of a module's release are doing, as judged
// for the objects of the module's Status with Revision. Empty Waiting and
// Failed: every workload is ready, or the module has none or is ungated.
type Health struct {
	Revision int
	// Waiting are the workloads not ready yet, within their timeout
	// ("Deployment ns/x: 0/1 ready").
	Waiting []string
	// Failed are the workloads that timed out or failed, with the reason
	// ("Deployment ns/x not ready after 2m0s: 0/1 ready; pod x-1: ...").
	Failed []string
}

// GlobalStatus is the state of the global steps (global hooks, discovery):
// the startup and converge tasks. A failing global step is retried by its
// queue and holds the main queue.
type GlobalStatus struct {
	// Phase is Ready after the last global step succeeded, Error after it
	// failed, Reconciling before the first one finished.
	Phase    Phase
	Message  string
	Failures int
	// Since is when the current run of failures began (zero when Ready).
	Since time.Time
}
