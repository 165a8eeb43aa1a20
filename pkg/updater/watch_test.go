package updater

import (
	"testing"

	"github.com/seedops/addon-operator/pkg/module"
)

func TestConvergeVerdict(t *testing.T) {
	ready := module.GlobalStatus{Phase: module.PhaseReady}
	mod := func(name string, phase module.Phase, enabled bool, failures int) module.Status {
		return module.Status{Module: name, Phase: phase, Enabled: enabled, Failures: failures, Message: name + " failed"}
	}
	tests := []struct {
		name      string
		global    module.GlobalStatus
		modules   []module.Status
		converged bool
		failing   string
	}{
		{"all ready", ready, []module.Status{mod("a", module.PhaseReady, true, 0), mod("b", module.PhaseDisabled, false, 0)}, true, ""},
		{"global steps still running", module.GlobalStatus{Phase: module.PhaseReconciling}, nil, false, ""},
		{"a module running", ready, []module.Status{mod("a", module.PhaseReconciling, true, 0)}, false, ""},
		{"a module failed, retries left", ready, []module.Status{mod("a", module.PhaseError, true, 2)}, false, ""},
		{"a module out of retries", ready, []module.Status{mod("a", module.PhaseReady, true, 0), mod("b", module.PhaseError, true, 3)}, false, "module b still failing after 3 attempts: b failed"},
		{"a disabled module failing to delete", ready, []module.Status{mod("a", module.PhaseError, false, 3)}, false, "module a still failing after 3 attempts: a failed"},
		{"a global hook out of retries", module.GlobalStatus{Phase: module.PhaseError, Failures: 3, Message: "hook global-hooks/startup.sh: exit 1"}, nil, false, "global hooks still failing after 3 attempts: hook global-hooks/startup.sh: exit 1"},
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
