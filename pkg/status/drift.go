package status

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module"
)

// ConditionInSync: no object of the module's release differs from the
// release's deployed revision in a field the chart sets, or the difference
// is being corrected. False with reason Drifted while drift is left in
// place (drift policy Warn, or corrections paused because someone else
// keeps changing the object). Present only on a Writer made WithDrift.
const ConditionInSync = "InSync"

// DriftSource reports the drift left in place in modules' releases
// (*helm.Monitor, through the operator). Both methods are called from the
// Writer's goroutine and must not block.
type DriftSource interface {
	// DriftSummary lists the drifted objects of a module's release, one
	// item per object with its changed fields ("Deployment ns/name:
	// /spec/replicas"); empty when in sync.
	DriftSummary(module string) []string
	// DriftChanges signals (coalesced) that DriftSummary may have changed.
	DriftChanges() <-chan struct{}
}

// WithDrift shows the drift d reports on the Module objects: the InSync
// condition, and the message of a Ready module.
func WithDrift(d DriftSource) Option {
	return func(w *Writer) { w.drift = d }
}

// withDrift adds the InSync condition to a desired status and, when the
// module is Ready without a message, says there what drifted.
func withDrift(st ModuleStatus, drifted []string, prev ModuleStatus, now time.Time) ModuleStatus {
	c := metav1.Condition{Type: ConditionInSync, Status: metav1.ConditionTrue, Reason: "InSync"}
	if len(drifted) > 0 {
		msg := "drifted from the deployed revision: " + listMessage(drifted)
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, "Drifted", truncate(msg, maxMessage)
		if st.Phase == module.PhaseReady && st.Message == "" {
			st.Message = c.Message
		}
	}
	st.Conditions = append(st.Conditions, withTransitions([]metav1.Condition{c}, prev.Conditions, now)...)
	return st
}
