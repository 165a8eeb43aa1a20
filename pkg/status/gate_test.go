package status_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/status"
)

// A module's chart sets its own ready timeout or opts out of the gate, and
// a workload annotated out does not count; Health says the same, for the
// revision it judged. The Deployments are pinned to a node label no node
// has, so they never become ready.
func TestReadinessGate(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	ns := newNamespace(t, "gate")
	cs := testCluster.Client()
	nowhere := map[string]string{"status-test": "nowhere"}
	for _, name := range []string{"gate-short", "gate-default", "gate-ungated", "gate-ignored"} {
		d := deployment(ns, name, name, 1, nowhere)
		if name == "gate-ignored" {
			d.Annotations = map[string]string{module.AnnotationIgnoreReadiness: "true"}
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mod := func(name string, r module.Readiness) module.Status {
		return module.Status{Module: name, Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 3,
			LastRun: time.Now(), Objects: []helm.ObjectRef{ref("apps/v1", "Deployment", ns, name)}, Readiness: r}
	}
	src := newSource(true,
		mod("gate-short", module.Readiness{Timeout: 2 * time.Second}),
		mod("gate-default", module.Readiness{}),
		mod("gate-ungated", module.Readiness{Ungated: true}),
		mod("gate-ignored", module.Readiness{}))
	w, _ := startWriterFor(t, status.Config{Namespace: "gate", WorkloadReadyTimeout: time.Hour}, src)
	changes, cancel := w.HealthChanges()
	defer cancel()

	_, st := waitModule(t, "gate-short", phaseIs(module.PhaseError))
	if want := "Deployment " + ns + "/gate-short not ready after 2s: 0/1 ready; pod gate-short-"; !strings.HasPrefix(st.Message, want) {
		t.Errorf("gate-short message %q, want it to start with %q", st.Message, want)
	}
	tests := []struct {
		module, reason string
		phase          module.Phase
		waiting        bool
	}{
		{"gate-default", "RollingOut", module.PhaseReconciling, true},
		{"gate-ungated", "NotGated", module.PhaseReady, false},
		{"gate-ignored", "NoWorkloads", module.PhaseReady, false},
	}
	for _, tt := range tests {
		_, st := waitModule(t, tt.module, phaseIs(tt.phase))
		if c := conditionOf(st, status.ConditionWorkloadsReady); c.Reason != tt.reason {
			t.Errorf("%s: WorkloadsReady reason %q (%s), want %q", tt.module, c.Reason, c.Message, tt.reason)
		}
		h, ok := w.Health()[tt.module]
		if !ok || h.Revision != 3 || len(h.Failed) > 0 || (len(h.Waiting) > 0) != tt.waiting {
			t.Errorf("%s: Health %+v (present %v), want revision 3, waiting %v, nothing failed", tt.module, h, ok, tt.waiting)
		}
	}
	if h := w.Health()["gate-short"]; h.Revision != 3 || len(h.Failed) != 1 || h.Failed[0] != st.Message {
		t.Errorf("gate-short: Health %+v, want revision 3 and the failure of the Module object", h)
	}

	next := mod("gate-short", module.Readiness{Timeout: 2 * time.Second})
	next.Revision = 4
	src.set(next, mod("gate-default", module.Readiness{}), mod("gate-ungated", module.Readiness{Ungated: true}), mod("gate-ignored", module.Readiness{}))
	select {
	case <-changes:
	case <-time.After(waitFor):
		t.Fatal("HealthChanges did not signal a new revision")
	}
	deadline := time.Now().Add(waitFor)
	for w.Health()["gate-short"].Revision != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("Health of gate-short still %+v, want revision 4", w.Health()["gate-short"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
