package status

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/helm"
)

// cond is a condition without its transition time.
type cond struct{ Type, Status, Reason, Message string }

type summary struct {
	Enabled    bool
	Phase      string
	Message    string
	FailedStep string
	Revision   int64
	Conditions []cond
}

func summarize(s ModuleStatus) summary {
	out := summary{Enabled: s.Enabled, Phase: s.Phase, Message: s.Message, FailedStep: s.FailedStep, Revision: s.Revision}
	for _, c := range s.Conditions {
		out.Conditions = append(out.Conditions, cond{c.Type, string(c.Status), c.Reason, c.Message})
	}
	return out
}

func TestDesired(t *testing.T) {
	lastRun := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	deployment := []helm.ObjectRef{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "web"}}
	enabled := converge.Status{Module: "m", Enabled: true, EnabledByConfig: true, LastRun: lastRun}
	with := func(f func(*converge.Status)) converge.Status {
		s := enabled
		f(&s)
		return s
	}
	tests := []struct {
		name string
		st   converge.Status
		wl   report
		want summary
	}{
		{
			name: "ready with workloads ready",
			st:   with(func(s *converge.Status) { s.Phase, s.Revision, s.Objects = converge.PhaseReady, 3, deployment }),
			wl:   report{total: 1},
			want: summary{Enabled: true, Phase: PhaseReady, Revision: 3, Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", "revision 3"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "Ready", "1 workloads ready"},
			}},
		},
		{
			name: "ready without a release",
			st: with(func(s *converge.Status) {
				s.Phase = converge.PhaseReady
				s.EnabledByScript = ptr.To(true)
				s.EnabledReason = "ingress nodes found"
			}),
			want: summary{Enabled: true, Phase: PhaseReady, Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "Enabled", "ingress nodes found"},
				{ConditionHelmReleaseDeployed, "False", "NoRelease", "the module has no Helm release"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "converged but rolling out",
			st:   with(func(s *converge.Status) { s.Phase, s.Revision, s.Objects = converge.PhaseReady, 1, deployment }),
			wl:   report{total: 1, waiting: []string{"Deployment ns/web: 0/2 ready"}},
			want: summary{Enabled: true, Phase: PhaseReconciling, Revision: 1, Message: "waiting for Deployment ns/web: 0/2 ready", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", "revision 1"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "False", "RollingOut", "Deployment ns/web: 0/2 ready"},
			}},
		},
		{
			name: "converged but workloads failed",
			st:   with(func(s *converge.Status) { s.Phase, s.Revision, s.Objects = converge.PhaseReady, 1, deployment }),
			wl:   report{total: 5, failed: []string{"a", "b", "c", "d"}, waiting: []string{"e"}},
			want: summary{Enabled: true, Phase: PhaseError, FailedStep: StepWorkloads, Revision: 1, Message: "a; b; c; and 1 more", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", "revision 1"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "False", "WorkloadsFailed", "a; b; c; and 1 more"},
			}},
		},
		{
			name: "helm failed",
			st: with(func(s *converge.Status) {
				s.Phase, s.FailedStep, s.Message, s.Failures = converge.PhaseError, converge.StepHelm, "render: template: bad", 2
			}),
			want: summary{Enabled: true, Phase: PhaseError, FailedStep: converge.StepHelm, Message: "render: template: bad", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "False", "HelmFailed", "render: template: bad"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "hook failed after helm",
			st: with(func(s *converge.Status) {
				s.Phase, s.FailedStep, s.Message, s.Objects = converge.PhaseError, converge.StepHooks, "hook hooks/after: exit status 1", deployment
			}),
			wl: report{total: 1},
			want: summary{Enabled: true, Phase: PhaseError, FailedStep: converge.StepHooks, Message: "hook hooks/after: exit status 1", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", ""},
				{ConditionHooksOK, "False", "HookFailed", "hook hooks/after: exit status 1"},
				{ConditionWorkloadsReady, "True", "Ready", "1 workloads ready"},
			}},
		},
		{
			name: "enabled script failed",
			st: with(func(s *converge.Status) {
				s.Phase, s.FailedStep, s.Message, s.LastRun = converge.PhaseError, converge.StepEnabled, "enabled script: exit status 3", time.Time{}
			}),
			want: summary{Enabled: true, Phase: PhaseError, FailedStep: converge.StepEnabled, Message: "enabled script: exit status 3", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "Unknown", "ScriptFailed", "enabled script: exit status 3"},
				{ConditionHelmReleaseDeployed, "Unknown", "NotRun", "Helm has not run yet"},
				{ConditionHooksOK, "Unknown", "NotRun", "the module has not run yet"},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "running",
			st:   with(func(s *converge.Status) { s.Phase, s.Message = converge.PhaseReconciling, "hook x: exit status 1" }),
			want: summary{Enabled: true, Phase: PhaseReconciling, Message: "module run in progress; last error: hook x: exit status 1", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "False", "NoRelease", "the module has no Helm release"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "disabled by configuration",
			st:   converge.Status{Module: "m", Phase: converge.PhaseDisabled},
			want: summary{Phase: PhaseDisabled, Message: "disabled by configuration", Conditions: []cond{
				{ConditionEnabledByConfig, "False", "Disabled", ""},
				{ConditionEnabledByScript, "Unknown", "NotRun", "the module is disabled by configuration"},
				{ConditionHelmReleaseDeployed, "False", "ModuleDisabled", ""},
				{ConditionHooksOK, "Unknown", "ModuleDisabled", ""},
				{ConditionWorkloadsReady, "Unknown", "ModuleDisabled", ""},
			}},
		},
		{
			name: "disabled by script",
			st: converge.Status{Module: "m", Phase: converge.PhaseDisabled, EnabledByConfig: true,
				EnabledByScript: ptr.To(false), EnabledReason: "no ingress nodes"},
			want: summary{Phase: PhaseDisabled, Message: "disabled by the enabled script: no ingress nodes", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "False", "Disabled", "no ingress nodes"},
				{ConditionHelmReleaseDeployed, "False", "ModuleDisabled", ""},
				{ConditionHooksOK, "Unknown", "ModuleDisabled", ""},
				{ConditionWorkloadsReady, "Unknown", "ModuleDisabled", ""},
			}},
		},
		{
			name: "delete failed",
			st: converge.Status{Module: "m", Phase: converge.PhaseError, FailedStep: converge.StepDelete, Message: "delete: uninstall: timeout",
				Revision: 4, LastRun: lastRun},
			want: summary{Phase: PhaseError, FailedStep: converge.StepDelete, Revision: 4, Message: "delete: uninstall: timeout", Conditions: []cond{
				{ConditionEnabledByConfig, "False", "Disabled", ""},
				{ConditionEnabledByScript, "Unknown", "NotRun", "the module is disabled by configuration"},
				{ConditionHelmReleaseDeployed, "Unknown", "DeleteFailed", "delete: uninstall: timeout"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := desired(tt.st, tt.wl, ModuleStatus{}, time.Now())
			if diff := cmp.Diff(tt.want, summarize(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A condition keeps its transition time while its status stays; the
// status as a whole compares equal when nothing changed.
func TestDesiredTransitions(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	st := converge.Status{Module: "m", Enabled: true, EnabledByConfig: true, Phase: converge.PhaseReady, Revision: 2, LastRun: t0.Add(500 * time.Millisecond)}
	first := desired(st, report{}, ModuleStatus{}, t0)
	again := desired(st, report{}, first, t0.Add(time.Hour))
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("unchanged status differs (-first +again):\n%s", diff)
	}
	if got, want := first.LastRun.Time, t0; !got.Equal(want) {
		t.Errorf("lastRun = %s, want %s (cut to seconds)", got, want)
	}

	st.Phase, st.FailedStep, st.Message = converge.PhaseError, converge.StepHooks, "boom"
	later := t0.Add(2 * time.Hour)
	failed := desired(st, report{}, again, later)
	got := map[string]time.Time{}
	for _, c := range failed.Conditions {
		got[c.Type] = c.LastTransitionTime.Time
	}
	want := map[string]time.Time{
		ConditionEnabledByConfig: t0, ConditionEnabledByScript: t0, ConditionHelmReleaseDeployed: t0,
		ConditionHooksOK: later, ConditionWorkloadsReady: t0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transition times (-want +got):\n%s", diff)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {7, time.Minute}, {100, time.Minute}}
	for _, tt := range tests {
		if got := backoff(tt.n, time.Minute); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

func TestUntouched(t *testing.T) {
	tests := []struct {
		name string
		st   converge.Status
		want bool
	}{
		{"fresh", converge.Status{Module: "m", Phase: converge.PhaseDisabled}, true},
		{"enabled by config", converge.Status{Module: "m", Phase: converge.PhaseDisabled, EnabledByConfig: true, EnabledByScript: ptr.To(false)}, false},
		{"deleted after a run", converge.Status{Module: "m", Phase: converge.PhaseDisabled, LastRun: time.Now()}, false},
		{"running", converge.Status{Module: "m", Phase: converge.PhaseReconciling, Enabled: true, EnabledByConfig: true}, false},
	}
	for _, tt := range tests {
		if got := untouched(tt.st); got != tt.want {
			t.Errorf("%s: untouched = %v, want %v", tt.name, got, tt.want)
		}
	}
}
