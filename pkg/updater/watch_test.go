package updater

import (
	"testing"

	"github.com/seedops/addon-operator/pkg/converge"
)

func TestConvergeVerdict(t *testing.T) {
	ready := converge.GlobalStatus{Phase: converge.PhaseReady}
	mod := func(name, phase string, enabled bool, failures int) converge.Status {
		return converge.Status{Module: name, Phase: phase, Enabled: enabled, Failures: failures, Message: name + " failed"}
	}
	tests := []struct {
		name      string
		global    converge.GlobalStatus
		modules   []converge.Status
		converged bool
		failing   string
	}{
		{"all ready", ready, []converge.Status{mod("a", converge.PhaseReady, true, 0), mod("b", converge.PhaseDisabled, false, 0)}, true, ""},
		{"global steps still running", converge.GlobalStatus{Phase: converge.PhaseReconciling}, nil, false, ""},
		{"a module running", ready, []converge.Status{mod("a", converge.PhaseReconciling, true, 0)}, false, ""},
		{"a module failed, retries left", ready, []converge.Status{mod("a", converge.PhaseError, true, 2)}, false, ""},
		{"a module out of retries", ready, []converge.Status{mod("a", converge.PhaseReady, true, 0), mod("b", converge.PhaseError, true, 3)}, false, "module b still failing after 3 attempts: b failed"},
		{"a disabled module failing to delete", ready, []converge.Status{mod("a", converge.PhaseError, false, 3)}, false, "module a still failing after 3 attempts: a failed"},
		{"a global hook out of retries", converge.GlobalStatus{Phase: converge.PhaseError, Failures: 3, Message: "hook global-hooks/startup.sh: exit 1"}, nil, false, "global hooks still failing after 3 attempts: hook global-hooks/startup.sh: exit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := converged(tt.global, tt.modules); got != tt.converged {
				t.Errorf("converged = %v, want %v", got, tt.converged)
			}
			got := ""
			if err := failing(tt.global, tt.modules, 2); err != nil {
				got = err.Error()
			}
			if got != tt.failing {
				t.Errorf("failing = %q, want %q", got, tt.failing)
			}
		})
	}
}
