package converge_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"
	htypes "github.com/flant/shell-operator/pkg/hook/types"
	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// eventsBundle: alpha (on) and beta (off), each with a kubernetes hook
// watch.sh on queue "events"; a global kubernetes hook watch.sh.
func eventsBundle(t *testing.T, bundleValues string) *harness {
	return newHarness(t, files(
		[]moduletest.File{
			moduletest.Text("values.yaml", bundleValues),
			moduletest.Hook("global-hooks/watch.sh"),
		},
		chart("010-alpha", moduletest.Hook("modules/010-alpha/hooks/watch.sh")),
		chart("020-beta", moduletest.Hook("modules/020-beta/hooks/watch.sh")),
	), map[string]string{
		"watch.sh":                 "configVersion: v1\nkubernetes:\n- {name: nodes, apiVersion: v1, kind: Node, queue: events}\n",
		"010-alpha/hooks/watch.sh": "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod, queue: events}\n",
		"020-beta/hooks/watch.sh":  "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod, queue: events}\n",
	})
}

func TestConfigEventsQueueWork(t *testing.T) {
	const initial = "alpha: {replicas: 1}\nbeta: {replicas: 1}\n"
	for _, tc := range []struct {
		name        string
		config      string
		change      configstore.Change
		err         error
		want        []queued
		wantDeploys int // of alpha
	}{
		{
			name: "global section", config: initial + "global: {domain: example.com}",
			change: configstore.Change{Global: true},
			want:   []queued{{Queue: "main", Kind: converge.KindConverge, Activation: "ConfigChanged"}}, wantDeploys: 1,
		},
		{
			name: "enabled flag", config: initial + "betaEnabled: false",
			change: configstore.Change{Enabled: []string{"beta"}},
			want:   []queued{{Queue: "main", Kind: converge.KindConverge, Activation: "ConfigChanged"}}, wantDeploys: 1,
		},
		{
			name: "section of an enabled module", config: "alpha: {replicas: 2}\nbeta: {replicas: 1}\n",
			change: configstore.Change{Modules: []string{"alpha"}},
			want:   []queued{{Queue: "main", Kind: converge.KindModuleRun, Module: "alpha", Activation: "ConfigChanged"}}, wantDeploys: 1,
		},
		{
			name: "section of a disabled module", config: "alpha: {replicas: 1}\nbeta: {replicas: 2}\n",
			change: configstore.Change{Modules: []string{"beta"}},
		},
		{
			name: "section of no module", config: initial + "ghost: {a: 1}",
			change: configstore.Change{Modules: []string{"ghost"}},
		},
		{
			name: "operator section", config: initial,
			change: configstore.Change{Operator: true},
		},
		{
			name: "rejected edit", config: initial,
			err: fmt.Errorf("%w: alpha.replicas must be of type integer", configstore.ErrInvalidConfig),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := eventsBundle(t, "alphaEnabled: true\n")
			h.start(snapshot(t, initial))
			h.waitReady()
			h.waitIdle("main")
			n := h.q.len()

			snap := snapshot(t, tc.config)
			h.cfg.set(snap)
			h.send(configstore.Event{Snapshot: snap, Change: tc.change, Err: tc.err})
			h.waitIdle("main")

			if diff := cmp.Diff(tc.want, h.q.since(n)); diff != "" {
				t.Errorf("queued (-want +got):\n%s", diff)
			}
			if got := len(h.rel.deploys("alpha")) - 1; got != tc.wantDeploys {
				t.Errorf("alpha deployed %d more times, want %d", got, tc.wantDeploys)
			}
			if len(h.rel.deploys("beta")) != 0 {
				t.Errorf("beta (disabled) deployed")
			}
			wantErrors := 0
			if tc.err != nil {
				wantErrors = 1
			}
			if configErrors, _ := h.obs.counts(); configErrors != wantErrors {
				t.Errorf("config errors = %d, want %d", configErrors, wantErrors)
			}
		})
	}
}

func TestModuleConfigChangeReachesHelm(t *testing.T) {
	h := eventsBundle(t, "alphaEnabled: true\n")
	h.start(snapshot(t, "alpha: {replicas: 1}"))
	h.waitReady()
	h.waitIdle("main")

	h.configure(snapshot(t, "alpha: {replicas: 2}"), configstore.Change{Modules: []string{"alpha"}})
	h.waitIdle("main")

	if diff := cmp.Diff(float64(2), h.rel.last("alpha").Section("alpha")["replicas"]); diff != "" {
		t.Errorf("alpha.replicas in Helm values (-want +got):\n%s", diff)
	}
	if got := h.j.with("run "); len(got) != 0 {
		t.Errorf("hooks run: %v, want none (no lifecycle hooks, and no global step for a module section)", got)
	}
}

func TestHealingRerunsEnabledModulesOnly(t *testing.T) {
	for _, tc := range []struct {
		release string
		want    []queued
	}{
		{"alpha", []queued{{Queue: "main", Kind: converge.KindModuleRun, Module: "alpha", Activation: "Healing"}}},
		{"beta", nil},
		{"unknown", nil},
	} {
		t.Run(tc.release, func(t *testing.T) {
			h := eventsBundle(t, "alphaEnabled: true\n")
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")
			n, deploys := h.q.len(), len(h.rel.deploys("alpha"))

			h.heal(tc.release)
			h.send(configstore.Event{}) // returns after the healing signal was handled
			h.waitIdle("main")

			if diff := cmp.Diff(tc.want, h.q.since(n)); diff != "" {
				t.Errorf("queued (-want +got):\n%s", diff)
			}
			if got, want := len(h.rel.deploys("alpha"))-deploys, len(tc.want); got != want {
				t.Errorf("alpha deployed %d more times, want %d", got, want)
			}
		})
	}
}

// event is a kubernetes (or schedule) event of a hook for sendHookEvent.
func event(hk *hook.Hook, binding string, contexts ...bctx.BindingContext) hook.Event {
	if len(contexts) == 0 {
		contexts = []bctx.BindingContext{eventContext(binding, "Added")}
	}
	return hook.Event{Hook: hk, Binding: binding, Queue: "events", Contexts: contexts}
}

func scheduleContext(binding string) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: binding}
	bc.Metadata.BindingType = htypes.Schedule
	return bc
}

func TestHookValuesPatchRerunsWhatDependsOnIt(t *testing.T) {
	for _, tc := range []struct {
		name           string
		hook           string
		contexts       []bctx.BindingContext
		patch          string
		wantActivation string // of the hook run
		wantQueued     []queued
		wantDeploys    map[string]int // more deploys per module
		wantValue      [2]string      // section, key that carries "new"
	}{
		{
			name: "module hook on a kubernetes event", hook: "010-alpha/hooks/watch.sh",
			contexts: []bctx.BindingContext{eventContext("pods", "Added")},
			patch:    `[{"op":"add","path":"/alpha/seen","value":"new"}]`, wantActivation: "Kubernetes",
			wantQueued: []queued{
				{Queue: "events", Kind: converge.KindHookRun, Module: "alpha"},
				{Queue: "main", Kind: converge.KindModuleRun, Module: "alpha", Activation: "ModuleValuesChanged"},
			},
			wantDeploys: map[string]int{"alpha": 1, "gamma": 0},
			wantValue:   [2]string{"alpha", "seen"},
		},
		{
			name: "module hook on a schedule", hook: "010-alpha/hooks/watch.sh",
			contexts: []bctx.BindingContext{scheduleContext("pods")},
			patch:    `[{"op":"add","path":"/alpha/seen","value":"new"}]`, wantActivation: "Schedule",
			wantQueued: []queued{
				{Queue: "events", Kind: converge.KindHookRun, Module: "alpha"},
				{Queue: "main", Kind: converge.KindModuleRun, Module: "alpha", Activation: "ModuleValuesChanged"},
			},
			wantDeploys: map[string]int{"alpha": 1, "gamma": 0},
			wantValue:   [2]string{"alpha", "seen"},
		},
		{
			name: "global hook", hook: "watch.sh",
			contexts: []bctx.BindingContext{eventContext("nodes", "Modified")},
			patch:    `[{"op":"add","path":"/global/seen","value":"new"}]`, wantActivation: "Kubernetes",
			wantQueued: []queued{
				{Queue: "events", Kind: converge.KindHookRun},
				{Queue: "main", Kind: converge.KindConverge, Activation: "GlobalValuesChanged"},
			},
			wantDeploys: map[string]int{"alpha": 1, "gamma": 1},
			wantValue:   [2]string{"global", "seen"},
		},
		{
			name: "patch that changes nothing", hook: "010-alpha/hooks/watch.sh",
			contexts: []bctx.BindingContext{eventContext("pods", "Added")},
			patch:    `[{"op":"add","path":"/alpha/replicas","value":1}]`, wantActivation: "Kubernetes",
			wantQueued:  []queued{{Queue: "events", Kind: converge.KindHookRun, Module: "alpha"}},
			wantDeploys: map[string]int{"alpha": 0, "gamma": 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, files(
				[]moduletest.File{
					moduletest.Text("values.yaml", "alphaEnabled: true\ngammaEnabled: true\nalpha: {replicas: 1}\n"),
					moduletest.Hook("global-hooks/watch.sh"),
				},
				chart("010-alpha", moduletest.Hook("modules/010-alpha/hooks/watch.sh")),
				chart("030-gamma"),
			), map[string]string{
				"watch.sh":                 "configVersion: v1\nkubernetes:\n- {name: nodes, apiVersion: v1, kind: Node}\n",
				"010-alpha/hooks/watch.sh": "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod}\n",
			})
			p := patch(t, tc.patch)
			h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
				if hk.Name == tc.hook {
					return hook.Output{ValuesPatch: p}, nil
				}
				return hook.Output{}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")
			n := h.q.len()
			deploys := map[string]int{"alpha": len(h.rel.deploys("alpha")), "gamma": len(h.rel.deploys("gamma"))}

			hk := h.hookByName(tc.hook)
			h.sendHookEvent(event(hk, tc.contexts[0].Binding, tc.contexts...))
			h.waitIdle("events")
			h.waitIdle("main")

			if diff := cmp.Diff(tc.wantQueued, h.q.since(n)); diff != "" {
				t.Errorf("queued (-want +got):\n%s", diff)
			}
			runs := h.obs.runsOfHook(tc.hook)
			if got := runs[len(runs)-1]; got.Activation != tc.wantActivation || got.Queue != "events" || got.Failed {
				t.Errorf("hook run = %+v, want a successful %s run on queue events", got, tc.wantActivation)
			}
			got := map[string]int{}
			for m, d := range deploys {
				got[m] = len(h.rel.deploys(m)) - d
			}
			if diff := cmp.Diff(tc.wantDeploys, got); diff != "" {
				t.Errorf("more deploys (-want +got):\n%s", diff)
			}
			if tc.wantValue[0] != "" {
				if v := h.rel.last("alpha").Section(tc.wantValue[0])[tc.wantValue[1]]; v != "new" {
					t.Errorf("alpha's Helm values %s.%s = %v, want new", tc.wantValue[0], tc.wantValue[1], v)
				}
			}
		})
	}
}

// An event the engine sends on its channel runs the hook.
func TestHookEventFromTheEngineRunsTheHook(t *testing.T) {
	h := eventsBundle(t, "alphaEnabled: true\n")
	h.start(snapshot(t, ""))
	h.waitReady()
	before := len(h.run.runsOf("010-alpha/hooks/watch.sh"))

	h.sendHookEvent(event(h.hookByName("010-alpha/hooks/watch.sh"), "pods"))
	h.eventually("alpha's hook runs", func() bool { return len(h.run.runsOf("010-alpha/hooks/watch.sh")) > before })
}

func TestHookEventOfADisabledModuleRunsNothing(t *testing.T) {
	h := eventsBundle(t, "alphaEnabled: true\n")
	h.start(snapshot(t, ""))
	h.waitReady()

	h.sendHookEvent(event(h.hookByName("020-beta/hooks/watch.sh"), "pods"))
	h.waitIdle("events")
	h.waitIdle("main")

	if got := h.run.runsOf("020-beta/hooks/watch.sh"); len(got) != 0 {
		t.Errorf("beta's hook ran %d times, want never", len(got))
	}
}

func TestHookFailure(t *testing.T) {
	for _, tc := range []struct {
		name         string
		allowFailure bool
		wantRuns     int // at least
		wantRetried  bool
	}{
		{"allowFailure: logged and dropped", true, 1, false},
		{"without allowFailure: retried", false, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := eventsBundle(t, "alphaEnabled: true\n")
			h.run.run = func(_ context.Context, hk *hook.Hook, in hook.Input) (hook.Output, error) {
				if in.Binding == "pods" && hk.Module == "alpha" {
					return hook.Output{}, errors.New("exit status 1")
				}
				return hook.Output{}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")

			ev := event(h.hookByName("010-alpha/hooks/watch.sh"), "pods")
			ev.AllowFailure = tc.allowFailure
			h.sendHookEvent(ev)
			if tc.wantRetried {
				h.eventually("retries of the failed hook", func() bool {
					return len(h.run.runsOf("010-alpha/hooks/watch.sh")) >= tc.wantRuns
				})
			} else {
				h.waitIdle("events")
				if got := len(h.run.runsOf("010-alpha/hooks/watch.sh")); got != tc.wantRuns {
					t.Errorf("hook ran %d times, want %d", got, tc.wantRuns)
				}
			}
			runs := h.obs.runsOfHook("010-alpha/hooks/watch.sh")
			want := hookRun{Module: "alpha", Hook: "010-alpha/hooks/watch.sh", Binding: "pods", Activation: "Kubernetes", Queue: "events", Failed: true, AllowFailure: tc.allowFailure}
			if diff := cmp.Diff(want, runs[0]); diff != "" {
				t.Errorf("hook run reported (-want +got):\n%s", diff)
			}
			if st := h.status("alpha"); st.Phase != module.PhaseReady {
				t.Errorf("alpha phase = %s, want Ready: a failing event hook does not fail its module", st.Phase)
			}
		})
	}
}

func TestAllowFailureSynchronizationDoesNotFailTheModule(t *testing.T) {
	h := eventsBundle(t, "alphaEnabled: true\n")
	h.eng.syncs["010-alpha/hooks/watch.sh"] = []hook.Event{{Binding: "pods", Wait: true, Execute: true, AllowFailure: true}}
	h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
		if hk.Module == "alpha" {
			return hook.Output{}, errors.New("exit status 1")
		}
		return hook.Output{}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()

	want := []briefStatus{
		{Module: "alpha", Enabled: true, Phase: module.PhaseReady, Revision: 1},
		{Module: "beta", Phase: module.PhaseDisabled},
	}
	if diff := cmp.Diff(want, brief(h.conv.Statuses())); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]hookRun{{Module: "alpha", Hook: "010-alpha/hooks/watch.sh", Binding: "pods", Activation: "Synchronization", Queue: "main", Failed: true, AllowFailure: true}}, h.obs.runsOfHook("010-alpha/hooks/watch.sh")); diff != "" {
		t.Errorf("hook runs (-want +got):\n%s", diff)
	}
}

// The resource usage of a hook's process is reported with the run's labels,
// for a failed run too (it burnt the CPU all the same).
func TestHookUsageIsObservedForFailedRuns(t *testing.T) {
	h := eventsBundle(t, "alphaEnabled: true\n")
	h.eng.syncs["010-alpha/hooks/watch.sh"] = []hook.Event{{Binding: "pods", Wait: true, Execute: true, AllowFailure: true}}
	usage := &hook.Usage{User: 300 * time.Millisecond, System: 20 * time.Millisecond, MaxRSS: 8 << 20}
	h.run.run = func(_ context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
		if hk.Module == "alpha" {
			return hook.Output{Usage: usage}, errors.New("exit status 1")
		}
		return hook.Output{}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()

	want := []hookUsage{{
		Module: "alpha", Hook: "010-alpha/hooks/watch.sh", Binding: "pods", Activation: "Synchronization", Queue: "main",
		User: 300 * time.Millisecond, System: 20 * time.Millisecond, MaxRSS: 8 << 20,
	}}
	if diff := cmp.Diff(want, h.obs.usagesOfHook("010-alpha/hooks/watch.sh")); diff != "" {
		t.Errorf("hook usage (-want +got):\n%s", diff)
	}
}

func groupContext(group string) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: group}
	bc.Metadata.BindingType = htypes.OnKubernetesEvent
	bc.Metadata.Group = group
	return bc
}

func TestWaitingHookRunsAbsorbLaterEvents(t *testing.T) {
	type ev struct {
		hook     string
		sync     bool
		contexts []bctx.BindingContext
	}
	for _, tc := range []struct {
		name   string
		events []ev
		want   map[string][][]string // contexts of each run, per hook
	}{
		{
			name: "events of one hook",
			events: []ev{
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Added")}},
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Modified")}},
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Deleted")}},
			},
			want: map[string][][]string{"watch.sh": {{"nodes/Event/Added", "nodes/Event/Modified", "nodes/Event/Deleted"}}},
		},
		{
			name: "group events keep the last group context",
			events: []ev{
				{hook: "watch.sh", contexts: []bctx.BindingContext{groupContext("g")}},
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Added")}},
				{hook: "watch.sh", contexts: []bctx.BindingContext{groupContext("g")}},
			},
			want: map[string][][]string{"watch.sh": {{"nodes/Event/Added", "g/Group"}}},
		},
		{
			name: "a Synchronization is not merged",
			events: []ev{
				{hook: "watch.sh", sync: true, contexts: []bctx.BindingContext{syncContext("nodes")}},
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Added")}},
			},
			want: map[string][][]string{"watch.sh": {{"nodes/Synchronization"}, {"nodes/Event/Added"}}},
		},
		{
			name: "events of different hooks",
			events: []ev{
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Added")}},
				{hook: "other.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Added")}},
				{hook: "watch.sh", contexts: []bctx.BindingContext{eventContext("nodes", "Deleted")}},
			},
			want: map[string][][]string{
				"watch.sh": {{"nodes/Event/Added", "nodes/Event/Deleted"}},
				"other.sh": {{"nodes/Event/Added"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := "configVersion: v1\nkubernetes:\n- {name: nodes, apiVersion: v1, kind: Node}\n"
			h := newHarness(t, []moduletest.File{
				moduletest.Hook("global-hooks/block.sh"),
				moduletest.Hook("global-hooks/watch.sh"),
				moduletest.Hook("global-hooks/other.sh"),
			}, map[string]string{"block.sh": kube, "watch.sh": kube, "other.sh": kube})
			entered, release := make(chan struct{}), make(chan struct{})
			h.run.run = func(ctx context.Context, hk *hook.Hook, in hook.Input) (hook.Output, error) {
				if hk.Name == "block.sh" && in.Binding == "nodes" {
					close(entered)
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return hook.Output{}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()

			// block.sh holds the queue while the events arrive.
			h.sendHookEvent(event(h.hookByName("block.sh"), "nodes"))
			<-entered
			for _, e := range tc.events {
				he := event(h.hookByName(e.hook), "nodes", e.contexts...)
				he.Sync = e.sync
				h.sendHookEvent(he)
			}
			close(release)
			h.waitIdle("events")

			got := map[string][][]string{}
			for name := range tc.want {
				for _, r := range h.run.runsOf(name) {
					got[name] = append(got[name], contextsOf(t, r.Input))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("binding contexts per run (-want +got):\n%s", diff)
			}
		})
	}
}
