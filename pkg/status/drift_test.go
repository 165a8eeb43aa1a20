package status_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/status"
)

// fakeDrift is a DriftSource whose summary the test sets.
type fakeDrift struct {
	mu      sync.Mutex
	summary map[string][]string
	changes chan struct{}
}

func (f *fakeDrift) DriftSummary(mod string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.summary[mod]
}

func (f *fakeDrift) DriftChanges() <-chan struct{} { return f.changes }

func (f *fakeDrift) set(mod string, items ...string) {
	f.mu.Lock()
	f.summary[mod] = items
	f.mu.Unlock()
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

// Drift left in place reaches the Module object when the drift source
// signals it (no other change of the module): InSync turns False/Drifted
// and a Ready module's message names the drifted field; once in sync again
// InSync is True and the message is gone.
func TestDriftShownOnModule(t *testing.T) {
	t.Parallel()
	setup(t)
	drift := &fakeDrift{summary: map[string][]string{}, changes: make(chan struct{}, 1)}
	src := newSource(true, module.Status{Module: "drifty", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 1, LastRun: time.Now()})
	startWriterFor(t, status.Config{Namespace: "drifty"}, src, status.WithDrift(drift))

	_, st := waitModule(t, "drifty", func(st status.ModuleStatus) bool {
		return conditionOf(st, status.ConditionInSync).Status == metav1.ConditionTrue
	})
	if st.Phase != module.PhaseReady || st.Message != "" {
		t.Fatalf("in sync: phase %s, message %q; want Ready without a message", st.Phase, st.Message)
	}

	drift.set("drifty", "Deployment ns/web: /spec/replicas")
	_, st = waitModule(t, "drifty", func(st status.ModuleStatus) bool {
		return conditionOf(st, status.ConditionInSync).Status == metav1.ConditionFalse
	})
	if c := conditionOf(st, status.ConditionInSync); c.Reason != "Drifted" || !strings.Contains(c.Message, "Deployment ns/web: /spec/replicas") {
		t.Errorf("InSync = %s/%q, want Drifted naming the object and field", c.Reason, c.Message)
	}
	if !strings.Contains(st.Message, "drifted from the deployed revision") || st.Phase != module.PhaseReady {
		t.Errorf("phase %s, message %q; want Ready saying what drifted", st.Phase, st.Message)
	}

	drift.set("drifty")
	_, st = waitModule(t, "drifty", func(st status.ModuleStatus) bool {
		return conditionOf(st, status.ConditionInSync).Status == metav1.ConditionTrue
	})
	if st.Message != "" {
		t.Errorf("message %q after the drift went, want none", st.Message)
	}
}
