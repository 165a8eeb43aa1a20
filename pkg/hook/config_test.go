package hook

import (
	"errors"
	"strings"
	"testing"
	"time"

	htypes "github.com/flant/shell-operator/pkg/hook/types"
	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name       string
		global     bool
		in         string
		wantTypes  []Binding
		wantOrders map[Binding]float64
		wantErr    string
	}{
		{
			name:       "module lifecycle bindings, yaml",
			in:         "configVersion: v1\nonStartup: 10\nbeforeHelm: 5\nafterHelm: 1\nbeforeDeleteHelm: 1\nafterDeleteHelm: 2\n",
			wantTypes:  []Binding{OnStartup, BeforeHelm, AfterHelm, BeforeDeleteHelm, AfterDeleteHelm},
			wantOrders: map[Binding]float64{OnStartup: 10, BeforeHelm: 5, AfterHelm: 1, BeforeDeleteHelm: 1, AfterDeleteHelm: 2},
		},
		{
			name:       "global bindings, json",
			global:     true,
			in:         `{"configVersion":"v1","beforeAll":1,"afterAll":2,"onStartup":3}`,
			wantTypes:  []Binding{OnStartup, BeforeAll, AfterAll},
			wantOrders: map[Binding]float64{OnStartup: 3, BeforeAll: 1, AfterAll: 2},
		},
		{
			name: "kubernetes and schedule",
			in: `configVersion: v1
kubernetes:
- name: nodes
  apiVersion: v1
  kind: Node
  labelSelector: {matchLabels: {dedicated: ingress}}
  jqFilter: .metadata.name
  executeHookOnEvent: [Added, Deleted]
  executeHookOnSynchronization: false
  keepFullObjectsInMemory: false
  group: g
  queue: q
  waitForSynchronization: false
  allowFailure: true
- name: cms
  apiVersion: v1
  kind: ConfigMap
  namespace: {nameSelector: {matchNames: [default]}}
  nameSelector: {matchNames: [a]}
  fieldSelector: {matchExpressions: [{field: metadata.namespace, operator: Equals, value: default}]}
  includeSnapshotsFrom: [nodes]
schedule:
- name: every-minute
  crontab: "* * * * *"
  includeSnapshotsFrom: [nodes]
`,
			wantTypes:  []Binding{Schedule, Kubernetes},
			wantOrders: map[Binding]float64{},
		},
		{name: "beforeAll in a module hook", in: "configVersion: v1\nbeforeAll: 1\n", wantErr: `binding "beforeAll" is not allowed for a module hook`},
		{name: "beforeHelm in a global hook", global: true, in: "configVersion: v1\nbeforeHelm: 1\n", wantErr: `binding "beforeHelm" is not allowed for a global hook`},
		{name: "unknown binding", in: "configVersion: v1\nonShutdown: 1\n", wantErr: `unknown binding "onShutdown"`},
		{name: "missing configVersion", in: "beforeHelm: 1\n", wantErr: "configVersion v0 is not supported (a config without configVersion is v0): print configVersion: v1"},
		{name: "v0 config", in: "configVersion: v0\nonKubernetesEvent:\n- {kind: Pod, event: [add]}\n", wantErr: "rename onKubernetesEvent to kubernetes"},
		{name: "unknown configVersion", in: "configVersion: v2\n", wantErr: `configVersion is v2, want "v1"`},
		{name: "not yaml", in: "configVersion: [v1\n", wantErr: "not YAML or JSON"},
		{name: "empty", in: "", wantErr: "empty output"},
		{name: "order not a number", in: "configVersion: v1\nbeforeHelm: soon\n", wantErr: `binding "beforeHelm": want an order number`},
		{name: "bad crontab", in: "configVersion: v1\nschedule:\n- crontab: \"every day\"\n", wantErr: "crontab is invalid"},
		{name: "kubernetes without kind", in: "configVersion: v1\nkubernetes:\n- apiVersion: v1\n", wantErr: "kind"},
		{name: "snapshot of unknown binding", in: "configVersion: v1\nkubernetes:\n- kind: Pod\n  includeSnapshotsFrom: [nope]\n", wantErr: "'nope' binding name not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.in), tt.global)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantTypes, got.Types()); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOrders, got.Orders); diff != "" {
				t.Errorf("orders (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigKubernetesFields(t *testing.T) {
	in := `configVersion: v1
kubernetes:
- name: nodes
  kind: Node
  jqFilter: .metadata.labels
  executeHookOnSynchronization: false
  keepFullObjectsInMemory: false
  waitForSynchronization: false
  queue: nodes
  group: g
  allowFailure: true
schedule:
- crontab: "*/5 * * * * *"
  queue: cron
`
	got, err := ParseConfig([]byte(in), true)
	if err != nil {
		t.Fatal(err)
	}
	k := got.Kubernetes[0]
	if k.BindingName != "nodes" || k.Queue != "nodes" || k.Group != "g" || !k.AllowFailure {
		t.Errorf("binding = %+v", k)
	}
	if k.ExecuteHookOnSynchronization || k.KeepFullObjectsInMemory || k.WaitForSynchronization {
		t.Errorf("flags: execOnSync=%v keep=%v wait=%v, want all false", k.ExecuteHookOnSynchronization, k.KeepFullObjectsInMemory, k.WaitForSynchronization)
	}
	if k.Monitor.JqFilter != ".metadata.labels" || k.Monitor.Kind != "Node" {
		t.Errorf("monitor = %+v", k.Monitor)
	}
	// The group's binding names are added to the binding's snapshots.
	if diff := cmp.Diff([]string{"nodes"}, k.IncludeSnapshotsFrom); diff != "" {
		t.Errorf("includeSnapshotsFrom (-want +got):\n%s", diff)
	}
	s := got.Schedules[0]
	if s.BindingName != "schedule" || s.Queue != "cron" || s.ScheduleEntry.Crontab != "*/5 * * * * *" {
		t.Errorf("schedule = %+v", s)
	}
}

func TestParseConfigSettings(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    htypes.Settings
		wantErr string
	}{
		{name: "none", in: "configVersion: v1\nonStartup: 1\n"},
		{
			name: "interval and burst",
			in:   "configVersion: v1\nsettings: {executionMinInterval: 3s, executionBurst: 2}\n",
			want: htypes.Settings{ExecutionMinInterval: 3 * time.Second, ExecutionBurst: 2},
		},
		// shell-operator wants both keys once settings is there.
		{name: "burst without interval", in: "configVersion: v1\nsettings: {executionBurst: 2}\n", wantErr: "invalid duration"},
		{name: "unknown key", in: "configVersion: v1\nsettings: {maxRuns: 2}\n", wantErr: "maxRuns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.in), true)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrInvalidConfig containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Settings != tt.want {
				t.Errorf("settings = %+v, want %+v", got.Settings, tt.want)
			}
		})
	}
}

func TestParseConfigV0IsRefused(t *testing.T) {
	for _, in := range []string{"onStartup: 1\n", "configVersion: v0\nschedule:\n- crontab: '* * * * *'\n"} {
		if _, err := ParseConfig([]byte(in), true); !errors.Is(err, ErrConfigV0) {
			t.Errorf("ParseConfig(%q) error = %v, want ErrConfigV0", in, err)
		}
	}
}
