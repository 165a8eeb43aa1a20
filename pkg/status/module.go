package status

import (
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/seedops/addon-operator/pkg/module"
)

// The Module resource (deploy/crds/module.yaml).
var (
	ModuleResource = schema.GroupVersionResource{Group: "addons.seedops.io", Version: "v1alpha1", Resource: "modules"}
	ModuleKind     = ModuleResource.GroupVersion().WithKind("Module")
)

// NamespaceLabel names the namespace of the operator that owns a Module
// object. An operator creates, updates and deletes only the Module objects
// labelled with its own namespace.
const NamespaceLabel = "addons.seedops.io/operator-namespace"

// StepWorkloads is the failed step (status.failedStep) of a module whose
// last run succeeded but whose workloads did not become ready in time. The
// other steps are the converger's (module.Step*).
const StepWorkloads = "workloads"

// Condition types, in the order they appear in status.conditions.
const (
	// ConditionEnabledByConfig: the `<name>Enabled` key of the ConfigMap, or
	// the bundle's default, enables the module.
	ConditionEnabledByConfig = "EnabledByConfig"
	// ConditionEnabledByScript: the module's `enabled` script enables it;
	// True with reason NoScript when it has none, Unknown when the script
	// did not run or failed.
	ConditionEnabledByScript = "EnabledByScript"
	// ConditionHelmReleaseDeployed: the module's Helm release is deployed.
	ConditionHelmReleaseDeployed = "HelmReleaseDeployed"
	// ConditionHooksOK: no hook failed in the module's last run.
	ConditionHooksOK = "HooksOK"
	// ConditionWorkloadsReady: every Deployment, StatefulSet, DaemonSet and
	// Job of the release is rolled out and ready.
	ConditionWorkloadsReady = "WorkloadsReady"
)

// ModuleStatus is the status of a Module object.
type ModuleStatus struct {
	Enabled bool         `json:"enabled"`
	Phase   module.Phase `json:"phase"`
	// Message says what the module waits for or why it failed; empty when
	// Ready.
	Message    string       `json:"message,omitempty"`
	FailedStep string       `json:"failedStep,omitempty"`
	Failures   int64        `json:"failures,omitempty"`
	Revision   int64        `json:"revision,omitempty"`
	LastRun    *metav1.Time `json:"lastRun,omitempty"`
	// Conditions hold the five condition types, always all of them, in the
	// order of the Condition* constants.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// maxMessage is the longest status or condition message the CRD accepts
// (the limit of metav1.Condition).
const maxMessage = 32768

// truncate shortens s to at most n bytes without splitting a UTF-8
// sequence, marking the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
