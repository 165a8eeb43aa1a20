package status

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
)

// cond is a condition without its transition time.
type cond struct{ Type, Status, Reason, Message string }

type summary struct {
	Enabled    bool
	Phase      module.Phase
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
	enabled := module.Status{Module: "m", Enabled: true, EnabledByConfig: true, LastRun: lastRun}
	with := func(f func(*module.Status)) module.Status {
		s := enabled
		f(&s)
		return s
	}
	tests := []struct {
		name string
		st   module.Status
		wl   report
		want summary
	}{
		{
			name: "ready with workloads ready",
			st:   with(func(s *module.Status) { s.Phase, s.Revision, s.Objects = module.PhaseReady, 3, deployment }),
			wl:   report{total: 1},
			want: summary{Enabled: true, Phase: module.PhaseReady, Revision: 3, Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", "revision 3"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "Ready", "1 workloads ready"},
			}},
		},
		{
			name: "ready without a release",
			st: with(func(s *module.Status) {
				s.Phase = module.PhaseReady
				s.EnabledByScript = ptr.To(true)
				s.EnabledReason = "ingress nodes found"
			}),
			want: summary{Enabled: true, Phase: module.PhaseReady, Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "Enabled", "ingress nodes found"},
				{ConditionHelmReleaseDeployed, "False", "NoRelease", "the module has no Helm release"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "converged but rolling out",
			st:   with(func(s *module.Status) { s.Phase, s.Revision, s.Objects = module.PhaseReady, 1, deployment }),
			wl:   report{total: 1, waiting: []string{"Deployment ns/web: 0/2 ready"}},
			want: summary{Enabled: true, Phase: module.PhaseReconciling, Revision: 1, Message: "waiting for Deployment ns/web: 0/2 ready", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", "revision 1"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "False", "RollingOut", "Deployment ns/web: 0/2 ready"},
			}},
		},
		{
			name: "converged but workloads failed",
			st:   with(func(s *module.Status) { s.Phase, s.Revision, s.Objects = module.PhaseReady, 1, deployment }),
			wl:   report{total: 5, failed: []string{"a", "b", "c", "d"}, waiting: []string{"e"}},
			want: summary{Enabled: true, Phase: module.PhaseError, FailedStep: StepWorkloads, Revision: 1, Message: "a; b; c; and 1 more", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", "revision 1"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "False", "WorkloadsFailed", "a; b; c; and 1 more"},
			}},
		},
		{
			name: "helm failed",
			st: with(func(s *module.Status) {
				s.Phase, s.FailedStep, s.Message, s.Failures = module.PhaseError, module.StepHelm, "render: template: bad", 2
			}),
			want: summary{Enabled: true, Phase: module.PhaseError, FailedStep: module.StepHelm, Message: "render: template: bad", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "False", "HelmFailed", "render: template: bad"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "hook failed after helm",
			st: with(func(s *module.Status) {
				s.Phase, s.FailedStep, s.Message, s.Objects = module.PhaseError, module.StepHooks, "hook hooks/after: exit status 1", deployment
			}),
			wl: report{total: 1},
			want: summary{Enabled: true, Phase: module.PhaseError, FailedStep: module.StepHooks, Message: "hook hooks/after: exit status 1", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "True", "Deployed", ""},
				{ConditionHooksOK, "False", "HookFailed", "hook hooks/after: exit status 1"},
				{ConditionWorkloadsReady, "True", "Ready", "1 workloads ready"},
			}},
		},
		{
			name: "enabled script failed",
			st: with(func(s *module.Status) {
				s.Phase, s.FailedStep, s.Message, s.LastRun = module.PhaseError, module.StepEnabled, "enabled script: exit status 3", time.Time{}
			}),
			want: summary{Enabled: true, Phase: module.PhaseError, FailedStep: module.StepEnabled, Message: "enabled script: exit status 3", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "Unknown", "ScriptFailed", "enabled script: exit status 3"},
				{ConditionHelmReleaseDeployed, "Unknown", "NotRun", "Helm has not run yet"},
				{ConditionHooksOK, "Unknown", "NotRun", "the module has not run yet"},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "running",
			st:   with(func(s *module.Status) { s.Phase, s.Message = module.PhaseReconciling, "hook x: exit status 1" }),
			want: summary{Enabled: true, Phase: module.PhaseReconciling, Message: "module run in progress; last error: hook x: exit status 1", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "True", "NoScript", "the module has no enabled script"},
				{ConditionHelmReleaseDeployed, "False", "NoRelease", "the module has no Helm release"},
				{ConditionHooksOK, "True", "Succeeded", ""},
				{ConditionWorkloadsReady, "True", "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"},
			}},
		},
		{
			name: "disabled by configuration",
			st:   module.Status{Module: "m", Phase: module.PhaseDisabled},
			want: summary{Phase: module.PhaseDisabled, Message: "disabled by configuration", Conditions: []cond{
				{ConditionEnabledByConfig, "False", "Disabled", ""},
				{ConditionEnabledByScript, "Unknown", "NotRun", "the module is disabled by configuration"},
				{ConditionHelmReleaseDeployed, "False", "ModuleDisabled", ""},
				{ConditionHooksOK, "Unknown", "ModuleDisabled", ""},
				{ConditionWorkloadsReady, "Unknown", "ModuleDisabled", ""},
			}},
		},
		{
			name: "disabled by script",
			st: module.Status{Module: "m", Phase: module.PhaseDisabled, EnabledByConfig: true,
				EnabledByScript: ptr.To(false), EnabledReason: "no ingress nodes"},
			want: summary{Phase: module.PhaseDisabled, Message: "disabled by the enabled script: no ingress nodes", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "False", "Disabled", "no ingress nodes"},
				{ConditionHelmReleaseDeployed, "False", "ModuleDisabled", ""},
				{ConditionHooksOK, "Unknown", "ModuleDisabled", ""},
				{ConditionWorkloadsReady, "Unknown", "ModuleDisabled", ""},
			}},
		},
		{
			name: "requirement not met",
			st: module.Status{Module: "m", Phase: module.PhaseDisabled, EnabledByConfig: true,
				EnabledReason: "requirements.modules: module cert-manager is not enabled"},
			want: summary{Phase: module.PhaseDisabled, Message: "disabled: requirements.modules: module cert-manager is not enabled", Conditions: []cond{
				{ConditionEnabledByConfig, "True", "Enabled", ""},
				{ConditionEnabledByScript, "Unknown", "NotRun", "requirements.modules: module cert-manager is not enabled"},
				{ConditionHelmReleaseDeployed, "False", "ModuleDisabled", ""},
				{ConditionHooksOK, "Unknown", "ModuleDisabled", ""},
				{ConditionWorkloadsReady, "Unknown", "ModuleDisabled", ""},
			}},
		},
		{
			name: "delete failed",
			st: module.Status{Module: "m", Phase: module.PhaseError, FailedStep: module.StepDelete, Message: "delete: uninstall: timeout",
				Revision: 4, LastRun: lastRun},
			want: summary{Phase: module.PhaseError, FailedStep: module.StepDelete, Revision: 4, Message: "delete: uninstall: timeout", Conditions: []cond{
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
	st := module.Status{Module: "m", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 2, LastRun: t0.Add(500 * time.Millisecond)}
	first := desired(st, report{}, ModuleStatus{}, t0)
	again := desired(st, report{}, first, t0.Add(time.Hour))
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("unchanged status differs (-first +again):\n%s", diff)
	}
	if got, want := first.LastRun.Time, t0; !got.Equal(want) {
		t.Errorf("lastRun = %s, want %s (cut to seconds)", got, want)
	}

	st.Phase, st.FailedStep, st.Message = module.PhaseError, module.StepHooks, "boom"
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
		st   module.Status
		want bool
	}{
		{"fresh", module.Status{Module: "m", Phase: module.PhaseDisabled}, true},
		{"enabled by config", module.Status{Module: "m", Phase: module.PhaseDisabled, EnabledByConfig: true, EnabledByScript: ptr.To(false)}, false},
		{"deleted after a run", module.Status{Module: "m", Phase: module.PhaseDisabled, LastRun: time.Now()}, false},
		{"running", module.Status{Module: "m", Phase: module.PhaseReconciling, Enabled: true, EnabledByConfig: true}, false},
	}
	for _, tt := range tests {
		if got := untouched(tt.st); got != tt.want {
			t.Errorf("%s: untouched = %v, want %v", tt.name, got, tt.want)
		}
	}
}
