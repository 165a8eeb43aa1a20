package status

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module"
)

func TestWithDrift(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	tests := []struct {
		name        string
		st          ModuleStatus
		drifted     []string
		prev        []metav1.Condition
		wantStatus  metav1.ConditionStatus
		wantMessage string
		wantSince   metav1.Time
	}{
		{name: "in sync", st: ModuleStatus{Phase: module.PhaseReady}, wantStatus: metav1.ConditionTrue, wantSince: apiTime(now)},
		{
			name: "drifted, Ready: the message says so", st: ModuleStatus{Phase: module.PhaseReady},
			drifted:    []string{"Deployment ns/x: /spec/replicas"},
			wantStatus: metav1.ConditionFalse, wantMessage: "drifted from the deployed revision: Deployment ns/x: /spec/replicas", wantSince: apiTime(now),
		},
		{
			name: "drifted, Error: the error stays the message", st: ModuleStatus{Phase: module.PhaseError, Message: "hook failed"},
			drifted:    []string{"Deployment ns/x: /spec/replicas"},
			wantStatus: metav1.ConditionFalse, wantMessage: "hook failed", wantSince: apiTime(now),
		},
		{
			name: "still drifted: transition time kept", st: ModuleStatus{Phase: module.PhaseReady},
			drifted:    []string{"Deployment ns/x: /spec/replicas"},
			prev:       []metav1.Condition{{Type: ConditionInSync, Status: metav1.ConditionFalse, LastTransitionTime: earlier}},
			wantStatus: metav1.ConditionFalse, wantMessage: "drifted from the deployed revision: Deployment ns/x: /spec/replicas", wantSince: earlier,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withDrift(tt.st, tt.drifted, ModuleStatus{Conditions: tt.prev}, now)
			if got.Message != tt.wantMessage {
				t.Errorf("message %q, want %q", got.Message, tt.wantMessage)
			}
			if len(got.Conditions) != 1 {
				t.Fatalf("conditions %+v, want InSync only", got.Conditions)
			}
			c := got.Conditions[0]
			if c.Type != ConditionInSync || c.Status != tt.wantStatus || !c.LastTransitionTime.Equal(&tt.wantSince) {
				t.Errorf("condition %+v, want InSync %s since %s", c, tt.wantStatus, tt.wantSince)
			}
		})
	}
}
