package module

import (
	"time"

	"github.com/seedops/addon-operator/pkg/helm"
)

// Phases of a module (Status.Phase) and of the global steps
// (GlobalStatus.Phase, never Disabled).
const (
	PhaseDisabled    = "Disabled"
	PhaseReconciling = "Reconciling"
	PhaseReady       = "Ready"
	PhaseError       = "Error"
)

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
	// EnabledReason is the `enabled` script's reason, if it gave one.
	EnabledReason string
	Phase         string
	// FailedStep is the step of the last failure (Step*), "" when none.
	FailedStep string
	// Message is the last error, empty when Ready.
	Message  string
	LastRun  time.Time
	Failures int
	Revision int
	// Objects are the objects of the module's release.
	Objects []helm.ObjectRef
}

// GlobalStatus is the state of the global steps (global hooks, discovery):
// the startup and converge tasks. A failing global step is retried by its
// queue and holds the main queue.
type GlobalStatus struct {
	// Phase is Ready after the last global step succeeded, Error after it
	// failed, Reconciling before the first one finished.
	Phase    string
	Message  string
	Failures int
	// Since is when the current run of failures began (zero when Ready).
	Since time.Time
}
