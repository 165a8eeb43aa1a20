package converge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
)

// lifecycleBundle has a hook for every step of the lifecycle: global
// onStartup, a global kubernetes hook with three bindings (waiting for its
// Synchronization, not waiting, not executing on it), beforeAll, afterAll;
// module alpha with onStartup, a kubernetes hook, beforeHelm and afterHelm;
// module beta with beforeHelm only.
func lifecycleBundle(t *testing.T) *harness {
	h := newHarness(t, files(
		[]moduletest.File{
			moduletest.Text("values.yaml", "alphaEnabled: true\nbetaEnabled: true\n"),
			moduletest.Hook("global-hooks/startup.sh"),
			moduletest.Hook("global-hooks/sync.sh"),
			moduletest.Hook("global-hooks/before.sh"),
			moduletest.Hook("global-hooks/after.sh"),
		},
		chart("010-alpha",
			moduletest.Hook("modules/010-alpha/hooks/startup.sh"),
			moduletest.Hook("modules/010-alpha/hooks/sync.sh"),
			moduletest.Hook("modules/010-alpha/hooks/before.sh"),
			moduletest.Hook("modules/010-alpha/hooks/after.sh"),
		),
		chart("020-beta", moduletest.Hook("modules/020-beta/hooks/before.sh")),
	), map[string]string{
		"startup.sh": "configVersion: v1\nonStartup: 1\n",
		"sync.sh": `configVersion: v1
kubernetes:
- {name: wait, apiVersion: v1, kind: Node}
- {name: nowait, apiVersion: v1, kind: Node, queue: sync-q, waitForSynchronization: false}
- {name: noexec, apiVersion: v1, kind: Node, executeHookOnSynchronization: false}
`,
		"before.sh":                  "configVersion: v1\nbeforeAll: 1\n",
		"after.sh":                   "configVersion: v1\nafterAll: 1\n",
		"010-alpha/hooks/startup.sh": "configVersion: v1\nonStartup: 1\n",
		"010-alpha/hooks/sync.sh":    "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod}\n",
		"010-alpha/hooks/before.sh":  "configVersion: v1\nbeforeHelm: 1\n",
		"010-alpha/hooks/after.sh":   "configVersion: v1\nafterHelm: 1\n",
		"020-beta/hooks/before.sh":   "configVersion: v1\nbeforeHelm: 1\n",
	})
	h.eng.syncs["sync.sh"] = []hook.Event{
		{Binding: "wait", Wait: true, Execute: true},
		{Binding: "nowait", Queue: "sync-q", Execute: true},
		{Binding: "noexec", Wait: true, Execute: false},
	}
	h.eng.syncs["010-alpha/hooks/sync.sh"] = []hook.Event{{Binding: "pods", Wait: true, Execute: true}}
	return h
}

func TestStartupRunsTheLifecycleInOrder(t *testing.T) {
	h := lifecycleBundle(t)
	h.start(snapshot(t, ""))
	h.waitReady()
	h.eventually("the Synchronization queued on sync-q to run", func() bool {
		return len(h.obs.runsOfHook("sync.sh")) == 2
	})

	// The Synchronization that does not wait runs on its own queue, at a
	// time of its own: it is checked apart.
	var got []string
	for _, e := range h.j.with("run ", "deploy ", "unlock ") {
		if e != "run sync.sh nowait" {
			got = append(got, e)
		}
	}
	want := []string{
		"run startup.sh onStartup",
		"run sync.sh wait",
		"unlock sync.sh",
		"run before.sh beforeAll",
		"run 010-alpha/hooks/startup.sh onStartup",
		"run 010-alpha/hooks/sync.sh pods",
		"unlock 010-alpha/hooks/sync.sh",
		"run 010-alpha/hooks/before.sh beforeHelm",
		"deploy alpha",
		"run 010-alpha/hooks/after.sh afterHelm",
		"run 020-beta/hooks/before.sh beforeHelm",
		"deploy beta",
		"run after.sh afterAll",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("startup steps (-want +got):\n%s", diff)
	}

	wantSync := []hookRun{
		{Hook: "sync.sh", Binding: "wait", Activation: "Synchronization", Queue: "main"},
		{Hook: "sync.sh", Binding: "nowait", Activation: "Synchronization", Queue: "sync-q"},
	}
	if diff := cmp.Diff(wantSync, h.obs.runsOfHook("sync.sh")); diff != "" {
		t.Errorf("global Synchronization runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"OnStartup"}, h.obs.converges()); diff != "" {
		t.Errorf("convergences (-want +got):\n%s", diff)
	}
}

func TestConvergeAfterStartupSkipsOnStartup(t *testing.T) {
	h := lifecycleBundle(t)
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")
	h.waitIdle("sync-q")
	before := len(h.j.all())

	h.configure(snapshot(t, "global: {a: 1}"), configstore.Change{Global: true})
	h.eventually("a second converge", func() bool { return len(h.obs.modules()) == 4 })
	h.waitIdle("main")

	var got []string
	for _, e := range h.j.all()[before:] {
		if strings.HasPrefix(e, "run ") || strings.HasPrefix(e, "deploy ") || strings.HasPrefix(e, "enable ") {
			got = append(got, e)
		}
	}
	want := []string{
		"run before.sh beforeAll",
		"run 010-alpha/hooks/before.sh beforeHelm",
		"deploy alpha",
		"run 010-alpha/hooks/after.sh afterHelm",
		"run 020-beta/hooks/before.sh beforeHelm",
		"deploy beta",
		"run after.sh afterAll",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps of a converge after startup (-want +got):\n%s", diff)
	}
}

func TestModulesOfOneOrderRunConcurrently(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\ncEnabled: true\n")},
		chart("010-a"), chart("010-b"), chart("020-c"),
	), nil)
	var arrived atomic.Int32
	both := make(chan struct{})
	h.rel.deploy = func(ctx context.Context, name string, _ values.Values) (helm.Result, error) {
		if name != "c" {
			// a and b each wait here until the other has entered too.
			if arrived.Add(1) == 2 {
				close(both)
			}
			select {
			case <-both:
			case <-time.After(2 * time.Second):
				return helm.Result{}, errors.New("the other module of the same order did not run meanwhile")
			case <-ctx.Done():
				return helm.Result{}, ctx.Err()
			}
		}
		h.j.add("deployed %s", name)
		return helm.Result{Revision: 1, Applied: true, Reason: helm.ReasonInstalled}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()

	got := h.j.with("deploy ", "deployed ")
	// a and b enter and finish in any order; c comes after both.
	first, last := slices.Clone(got[:4]), got[4:]
	slices.Sort(first)
	want := []string{"deploy a", "deploy b", "deployed a", "deployed b"}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("deploys of order 10 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"deploy c", "deployed c"}, last); diff != "" {
		t.Errorf("deploys of order 20 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]module.Phase{module.PhaseReady, module.PhaseReady, module.PhaseReady}, phases(h.conv.Statuses())); diff != "" {
		t.Errorf("phases (-want +got):\n%s", diff)
	}
}

func phases(st []module.Status) []module.Phase {
	var out []module.Phase
	for _, s := range st {
		out = append(out, s.Phase)
	}
	return out
}

func TestReadyAfterFirstConvergeEvenWhenAModuleFails(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\n")},
		chart("010-a"), chart("020-b"),
	), nil)
	h.backoff = func(int) time.Duration { return time.Hour }
	h.rel.deploy = func(_ context.Context, name string, _ values.Values) (helm.Result, error) {
		if name == "a" {
			return helm.Result{}, errors.New("chart a is broken")
		}
		return helm.Result{Revision: 3, Applied: true, Reason: helm.ReasonUpgraded}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()

	got := brief(h.conv.Statuses())
	want := []briefStatus{
		{Module: "a", Enabled: true, Phase: module.PhaseError, FailedStep: module.StepHelm, Message: "chart a is broken", Failures: 1},
		{Module: "b", Enabled: true, Phase: module.PhaseReady, Revision: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	h.eventually("the global status Ready: a module failure is not a global one", func() bool {
		return h.conv.GlobalStatus().Phase == module.PhaseReady
	})
}

// briefStatus is the part of a Status a user reads in `kubectl get modules`.
type briefStatus struct {
	Module     string
	Enabled    bool
	Phase      module.Phase
	FailedStep string
	Message    string
	Failures   int
	Revision   int
}

func brief(st []module.Status) []briefStatus {
	var out []briefStatus
	for _, s := range st {
		out = append(out, briefStatus{s.Module, s.Enabled, s.Phase, s.FailedStep, s.Message, s.Failures, s.Revision})
	}
	return out
}

func TestNotReadyWhileAGlobalStepFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failing string // hook that fails until the fix
		binding string
	}{
		{"global onStartup", "startup.sh", "onStartup"},
		{"global Synchronization", "sync.sh", "wait"},
		{"beforeAll", "before.sh", "beforeAll"},
		{"afterAll", "after.sh", "afterAll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := lifecycleBundle(t)
			var fixed atomic.Bool
			h.run.run = func(_ context.Context, hk *hook.Hook, in hook.Input) (hook.Output, error) {
				if hk.Name == tc.failing && in.Binding == tc.binding && !fixed.Load() {
					return hook.Output{}, errors.New("exit status 1")
				}
				return hook.Output{}, nil
			}
			h.start(snapshot(t, ""))
			h.eventually("the global step to fail twice", func() bool {
				return h.conv.GlobalStatus().Failures >= 2
			})
			select {
			case <-h.conv.Ready():
				t.Fatal("ready although a global step fails")
			case <-time.After(50 * time.Millisecond):
			}
			gs := h.conv.GlobalStatus()
			if gs.Phase != module.PhaseError || !strings.Contains(gs.Message, tc.failing) || gs.Since.IsZero() {
				t.Errorf("global status = %+v, want phase Error naming %s, with Since", gs, tc.failing)
			}

			fixed.Store(true)
			h.waitReady()
			// Ready closes at the end of the converge, the global status
			// is recorded right after it.
			h.eventually("the global status to recover", func() bool { return h.conv.GlobalStatus().Phase == module.PhaseReady })
			if diff := cmp.Diff(module.GlobalStatus{Phase: module.PhaseReady}, h.conv.GlobalStatus()); diff != "" {
				t.Errorf("global status after the fix (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartupWaitsForAnAcceptedConfiguration(t *testing.T) {
	// alpha is enabled only in the ConfigMap, and has a release from before
	// the operator restarted; the ConfigMap has a bad edit at restart.
	h := newHarness(t, chart("010-alpha"), nil)
	h.rel.list = []helm.Release{{Name: "alpha", Revision: 3, Checksum: "sum"}}
	h.startWith(configstore.Event{
		Snapshot: snapshot(t, ""),
		Err:      fmt.Errorf("%w: alpha.replicas must be of type integer", configstore.ErrInvalidConfig),
	})
	// Once the rejection is reported the converger has handled the event,
	// and queued the startup if it ever will.
	h.eventually("the rejected configuration to be reported", func() bool {
		configErrors, _ := h.obs.counts()
		return configErrors == 1
	})
	if got := h.q.since(0); len(got) != 0 {
		t.Errorf("queued %+v before any configuration was accepted, want nothing", got)
	}
	select {
	case <-h.conv.Ready():
		t.Error("ready before any configuration was accepted")
	default:
	}

	// The admin fixes the edit.
	h.configure(snapshot(t, "alphaEnabled: true\nalpha: {replicas: 2}"), configstore.Change{Initial: true, Enabled: []string{"alpha"}, Modules: []string{"alpha"}})
	h.waitReady()
	h.waitIdle("main")
	if got := h.j.with("uninstall "); len(got) != 0 {
		t.Errorf("%v, want alpha's release kept", got)
	}
	if configErrors, _ := h.obs.counts(); configErrors != 1 {
		t.Errorf("config errors = %d, want 1", configErrors)
	}
}

func TestDeployAppliesCRDsFirstAndReportsRedeploys(t *testing.T) {
	for _, tc := range []struct {
		name           string
		reason         helm.Reason
		wantRedeployed []string
	}{
		{"upgraded", helm.ReasonUpgraded, nil},
		{"objects were missing", helm.ReasonResourcesMissing, []string{"alpha"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, chart("010-alpha",
				moduletest.Text("values.yaml", "alphaEnabled: true\n"),
				moduletest.Text("modules/010-alpha/crds/widgets.yaml", "kind: CustomResourceDefinition\n"),
				moduletest.Text("modules/010-alpha/crds/gadgets.yaml", "kind: CustomResourceDefinition\n"),
				moduletest.Text("modules/010-alpha/crds/doc-widgets.yaml", "description: docs\n"),
			), nil)
			h.rel.deploy = func(context.Context, string, values.Values) (helm.Result, error) {
				return helm.Result{Revision: 2, Applied: true, Reason: tc.reason, Objects: []helm.ObjectRef{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "alpha"}}}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()

			if diff := cmp.Diff([]string{"crds 2", "deploy alpha", "track alpha"}, h.j.with("crds ", "deploy ", "track ")); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRedeployed, h.obs.redeploys()); diff != "" {
				t.Errorf("redeployed (-want +got):\n%s", diff)
			}
			st := h.status("alpha")
			if diff := cmp.Diff([]helm.ObjectRef{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "alpha"}}, st.Objects); diff != "" {
				t.Errorf("status objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChangesSignalsStatusUpdates(t *testing.T) {
	h := newHarness(t, chart("010-alpha", moduletest.Text("values.yaml", "alphaEnabled: true\n")), nil)
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")
	select { // drain the signals of the startup
	case <-h.conv.Changes():
	default:
	}

	h.configure(snapshot(t, "alpha: {replicas: 2}"), configstore.Change{Modules: []string{"alpha"}})
	select {
	case <-h.conv.Changes():
	case <-time.After(timeout):
		t.Fatal("no change signalled for a module run")
	}
}

func TestAfterAllChangingGlobalValuesConvergesAgain(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{
			moduletest.Text("values.yaml", "alphaEnabled: true\n"),
			moduletest.Hook("global-hooks/after.sh"),
		},
		chart("010-alpha"),
	), map[string]string{"after.sh": "configVersion: v1\nafterAll: 1\n"})
	p := patch(t, `[{"op":"add","path":"/global/inventory","value":"done"}]`)
	h.run.run = func(context.Context, *hook.Hook, hook.Input) (hook.Output, error) {
		return hook.Output{ValuesPatch: p}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	h.eventually("a second converge", func() bool { return len(h.obs.converges()) == 2 })
	h.waitIdle("main")

	if diff := cmp.Diff([]string{"OnStartup", "GlobalValuesChanged"}, h.obs.converges()); diff != "" {
		t.Errorf("convergences (-want +got):\n%s", diff)
	}
	if got := h.rel.last("alpha").Section("global")["inventory"]; got != "done" {
		t.Errorf("global.inventory in alpha's last Helm values = %v, want done", got)
	}
}
