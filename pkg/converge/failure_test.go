package converge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/values"
)

func TestFailingModuleIsRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{moduletest.Text("values.yaml", "aEnabled: true\nbEnabled: true\n")},
		chart("010-a"), chart("020-b"),
	), nil)
	var mu sync.Mutex
	var backoffs []int
	h.backoff = func(n int) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		backoffs = append(backoffs, n)
		return 5 * time.Millisecond
	}
	var fails atomic.Int32
	fails.Store(3)
	h.rel.deploy = func(_ context.Context, name string, _ values.Values) (helm.Result, error) {
		if name == "a" && fails.Add(-1) >= 0 {
			return helm.Result{}, errors.New("upgrade a: timed out")
		}
		return helm.Result{Revision: 7, Applied: true, Reason: helm.ReasonUpgraded}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	h.eventually("a to recover", func() bool { return h.status("a").Phase == module.PhaseReady })

	want := []string{"a OnStartup error", "b OnStartup ok", "a Retry error", "a Retry error", "a Retry ok"}
	if diff := cmp.Diff(want, h.obs.modules()); diff != "" {
		t.Errorf("module runs (-want +got):\n%s", diff)
	}
	// module_helm_seconds times the Helm step of every run, failed or not.
	wantHelm := []string{"a OnStartup", "b OnStartup", "a Retry", "a Retry", "a Retry"}
	if diff := cmp.Diff(wantHelm, h.obs.helms()); diff != "" {
		t.Errorf("Helm steps (-want +got):\n%s", diff)
	}
	mu.Lock()
	gotBackoffs := slices.Clone(backoffs)
	mu.Unlock()
	if diff := cmp.Diff([]int{1, 2, 3}, gotBackoffs); diff != "" {
		t.Errorf("Backoff called with (-want +got):\n%s", diff)
	}
	wantStatus := []briefStatus{
		{Module: "a", Enabled: true, Phase: module.PhaseReady, Revision: 7},
		{Module: "b", Enabled: true, Phase: module.PhaseReady, Revision: 7},
	}
	if diff := cmp.Diff(wantStatus, brief(h.conv.Statuses())); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestModuleRetryWaitsForItsBackoff(t *testing.T) {
	h := newHarness(t, chart("010-a", moduletest.Text("values.yaml", "aEnabled: true\n")), nil)
	h.backoff = func(int) time.Duration { return time.Minute }
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h.clock = clocktesting.NewFakeClock(start)
	var fails atomic.Int32
	fails.Store(1)
	h.rel.deploy = func(context.Context, string, values.Values) (helm.Result, error) {
		if fails.Add(-1) >= 0 {
			return helm.Result{}, errors.New("upgrade a: timed out")
		}
		return helm.Result{Revision: 2, Applied: true, Reason: helm.ReasonUpgraded}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")
	if got := h.status("a"); got.Phase != module.PhaseError || !got.LastRun.Equal(start) {
		t.Fatalf("a status %+v, want Error, last run at the clock's %s", got, start)
	}

	h.clock.Step(time.Minute - time.Second)
	h.waitIdle("main")
	if diff := cmp.Diff([]string{"a OnStartup error"}, h.obs.modules()); diff != "" {
		t.Errorf("module runs before the backoff passed (-want +got):\n%s", diff)
	}

	h.clock.Step(time.Second)
	h.eventually("a to recover", func() bool { return h.status("a").Phase == module.PhaseReady })
	if diff := cmp.Diff([]string{"a OnStartup error", "a Retry ok"}, h.obs.modules()); diff != "" {
		t.Errorf("module runs after the backoff (-want +got):\n%s", diff)
	}
}

func TestPendingRetryHoldsOffAllButConfigChanges(t *testing.T) {
	for _, tc := range []struct {
		name        string
		trigger     func(h *harness)
		wantDeploys int
	}{
		{"healing", func(h *harness) {
			h.heal("alpha")
			h.send(configstore.Event{})
		}, 0},
		{"its hook changed its values", func(h *harness) {
			h.sendHookEvent(event(h.hookByName("010-alpha/hooks/watch.sh"), "pods"))
			h.waitIdle("events")
		}, 0},
		{"a global hook changed global values", func(h *harness) {
			h.sendHookEvent(event(h.hookByName("watch.sh"), "nodes"))
			h.waitIdle("events")
		}, 0},
		{"its config section", func(h *harness) {
			h.configure(snapshot(t, "alpha: {replicas: 2}"), configstore.Change{Modules: []string{"alpha"}})
		}, 1},
		{"the global config section", func(h *harness) {
			h.configure(snapshot(t, "global: {x: 1}"), configstore.Change{Global: true})
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := eventsBundle(t, "alphaEnabled: true\n")
			h.backoff = func(int) time.Duration { return time.Hour }
			h.rel.deploy = func(context.Context, string, values.Values) (helm.Result, error) {
				return helm.Result{}, errors.New("upgrade alpha: timed out")
			}
			n := 0
			h.run.run = func(_ context.Context, hk *hook.Hook, in hook.Input) (hook.Output, error) {
				if in.Binding == "pods" || in.Binding == "nodes" {
					// Each event sets a new value, so values change.
					n++
					return hook.Output{ValuesPatch: patch(t, fmt.Sprintf(`[{"op":"add","path":"/%s/n","value":%d}]`, hk.ValuesKey, n))}, nil
				}
				return hook.Output{}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("main")
			before := len(h.rel.deploys("alpha"))

			tc.trigger(h)
			h.waitIdle("main")

			if got := len(h.rel.deploys("alpha")) - before; got != tc.wantDeploys {
				t.Errorf("alpha deployed %d more times, want %d", got, tc.wantDeploys)
			}
			if st := h.status("alpha"); st.Phase != module.PhaseError {
				t.Errorf("alpha phase %s, want Error", st.Phase)
			}
		})
	}
}

func TestModuleReenabledAfterAFailedRunIsDeployed(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{
			moduletest.Text("values.yaml", "aEnabled: true\n"),
			moduletest.Hook("global-hooks/watch.sh"),
		},
		chart("010-a", moduletest.Script("modules/010-a/enabled", "#!/bin/sh\n")),
	), map[string]string{"watch.sh": "configVersion: v1\nkubernetes:\n- {name: nodes, apiVersion: v1, kind: Node}\n"})
	h.backoff = func(int) time.Duration { return 5 * time.Millisecond }
	h.clock = clocktesting.NewFakeClock(time.Now())
	var on, failing atomic.Bool
	on.Store(true)
	failing.Store(true)
	h.run.enabled = func(string, values.Values) (bool, error) { return on.Load(), nil }
	h.rel.deploy = func(context.Context, string, values.Values) (helm.Result, error) {
		if failing.Load() {
			return helm.Result{}, errors.New("upgrade a: timed out")
		}
		return helm.Result{Revision: 2, Applied: true, Reason: helm.ReasonUpgraded}, nil
	}
	var n atomic.Int32
	h.run.run = func(context.Context, *hook.Hook, hook.Input) (hook.Output, error) {
		// The global hook discovers something new on each event.
		return hook.Output{ValuesPatch: patch(t, fmt.Sprintf(`[{"op":"add","path":"/global/n","value":%d}]`, n.Add(1)))}, nil
	}
	watch := func() {
		h.sendHookEvent(event(h.hookByName("watch.sh"), "nodes"))
		h.waitIdle("events")
		h.waitIdle("main")
	}
	h.start(snapshot(t, ""))
	h.waitReady()

	// a's script now disables it: deleted while its retry is pending.
	on.Store(false)
	watch()
	h.eventually("a to be deleted", func() bool { return h.status("a").Phase == module.PhaseDisabled })
	// The retry pending from a's failed run would fire now.
	h.waitIdle("main")
	h.clock.Step(5 * time.Millisecond)

	// a's script enables it again, and its chart works now.
	failing.Store(false)
	on.Store(true)
	watch()
	if !poll(time.Second, func() bool { return h.status("a").Phase == module.PhaseReady }) {
		t.Errorf("a status %+v, want Ready: a re-enabled module is deployed", h.status("a"))
	}
}

func TestAfterHelmValuesChangeRedeploysTheModule(t *testing.T) {
	h := newHarness(t, chart("010-a",
		moduletest.Text("values.yaml", "aEnabled: true\n"),
		moduletest.Hook("modules/010-a/hooks/after.sh"),
	), map[string]string{"010-a/hooks/after.sh": "configVersion: v1\nafterHelm: 1\n"})
	p := patch(t, `[{"op":"add","path":"/a/serviceIP","value":"10.0.0.1"}]`)
	h.run.run = func(context.Context, *hook.Hook, hook.Input) (hook.Output, error) {
		return hook.Output{ValuesPatch: p}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("main")

	if !poll(time.Second, func() bool { return len(h.rel.deploys("a")) == 2 }) {
		t.Fatalf("a deployed %d times, want a second deploy with the values afterHelm set", len(h.rel.deploys("a")))
	}
	if got := h.rel.last("a").Section("a")["serviceIP"]; got != "10.0.0.1" {
		t.Errorf("a.serviceIP in the second deploy = %v, want 10.0.0.1", got)
	}
}

func TestSynchronizationOnANamedQueueRunsForModuleHooks(t *testing.T) {
	h := newHarness(t, chart("010-a",
		moduletest.Text("values.yaml", "aEnabled: true\n"),
		moduletest.Hook("modules/010-a/hooks/nowait.sh"),
		moduletest.Hook("modules/010-a/hooks/wait.sh"),
	), map[string]string{
		"010-a/hooks/nowait.sh": "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod, queue: q1, waitForSynchronization: false}\n",
		"010-a/hooks/wait.sh":   "configVersion: v1\nkubernetes:\n- {name: nodes, apiVersion: v1, kind: Node}\n",
	})
	h.eng.syncs["010-a/hooks/nowait.sh"] = []hook.Event{{Binding: "pods", Queue: "q1", Execute: true}}
	h.eng.syncs["010-a/hooks/wait.sh"] = []hook.Event{{Binding: "nodes", Wait: true, Execute: true}}
	h.run.run = func(ctx context.Context, hk *hook.Hook, _ hook.Input) (hook.Output, error) {
		if hk.Name == "010-a/hooks/wait.sh" {
			// The start of the module takes a while; q1 is free meanwhile.
			if err := h.q.set.WaitIdle(ctx, "q1"); err != nil {
				return hook.Output{}, err
			}
		}
		return hook.Output{}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	h.waitIdle("q1")

	want := []hookRun{{Module: "a", Hook: "010-a/hooks/nowait.sh", Binding: "pods", Activation: "Synchronization", Queue: "q1"}}
	if diff := cmp.Diff(want, h.obs.runsOfHook("010-a/hooks/nowait.sh")); diff != "" {
		t.Errorf("Synchronization runs of nowait.sh (-want +got):\n%s", diff)
	}
}

func TestModuleOnStartupRunsOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failing string // binding that fails the first run
	}{
		{name: "first run fails in beforeHelm", failing: "beforeHelm"},
		{name: "first run fails in Helm", failing: "helm"},
		{name: "first run fails in Synchronization", failing: "pods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, chart("010-a",
				moduletest.Text("values.yaml", "aEnabled: true\n"),
				moduletest.Hook("modules/010-a/hooks/startup.sh"),
				moduletest.Hook("modules/010-a/hooks/sync.sh"),
				moduletest.Hook("modules/010-a/hooks/before.sh"),
			), map[string]string{
				"010-a/hooks/startup.sh": "configVersion: v1\nonStartup: 1\n",
				"010-a/hooks/sync.sh":    "configVersion: v1\nkubernetes:\n- {name: pods, apiVersion: v1, kind: Pod}\n",
				"010-a/hooks/before.sh":  "configVersion: v1\nbeforeHelm: 1\n",
			})
			h.eng.syncs["010-a/hooks/sync.sh"] = []hook.Event{{Binding: "pods", Wait: true, Execute: true}}
			var failed atomic.Bool
			h.run.run = func(_ context.Context, _ *hook.Hook, in hook.Input) (hook.Output, error) {
				if in.Binding == tc.failing && failed.CompareAndSwap(false, true) {
					return hook.Output{}, errors.New("exit status 1")
				}
				return hook.Output{}, nil
			}
			h.rel.deploy = func(context.Context, string, values.Values) (helm.Result, error) {
				if tc.failing == "helm" && failed.CompareAndSwap(false, true) {
					return helm.Result{}, errors.New("upgrade a: timed out")
				}
				return helm.Result{Revision: 1, Applied: true, Reason: helm.ReasonInstalled}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.eventually("a to recover", func() bool { return h.status("a").Phase == module.PhaseReady })

			if got := h.j.count("run 010-a/hooks/startup.sh onStartup"); got != 1 {
				t.Errorf("onStartup ran %d times, want once", got)
			}
		})
	}
}

func TestRecoveredModuleTakesEveryActivationAgain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backoff time.Duration
		recover func(h *harness)
	}{
		{"recovered by a config change", time.Hour, func(h *harness) {
			h.configure(snapshot(t, "alpha: {replicas: 2}"), configstore.Change{Modules: []string{"alpha"}})
		}},
		{"recovered by its retry", 5 * time.Millisecond, func(*harness) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := eventsBundle(t, "alphaEnabled: true\n")
			h.backoff = func(int) time.Duration { return tc.backoff }
			var failed atomic.Bool
			h.rel.deploy = func(context.Context, string, values.Values) (helm.Result, error) {
				if failed.CompareAndSwap(false, true) {
					return helm.Result{}, errors.New("upgrade alpha: timed out")
				}
				return helm.Result{Revision: 2, Applied: true, Reason: helm.ReasonUpgraded}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			tc.recover(h)
			h.eventually("alpha to recover", func() bool { return h.status("alpha").Phase == module.PhaseReady })
			h.waitIdle("main")
			before := len(h.rel.deploys("alpha"))

			h.heal("alpha")
			h.send(configstore.Event{})
			h.waitIdle("main")
			if got := len(h.rel.deploys("alpha")) - before; got != 1 {
				t.Errorf("alpha deployed %d more times on healing, want 1: no retry is pending any more", got)
			}
		})
	}
}

func TestGlobalOnStartupRunsOnce(t *testing.T) {
	h := newHarness(t, files(
		[]moduletest.File{
			moduletest.Text("values.yaml", "aEnabled: true\n"),
			moduletest.Hook("global-hooks/startup.sh"),
			moduletest.Hook("global-hooks/sync.sh"),
		},
		chart("010-a"),
	), map[string]string{
		"startup.sh": "configVersion: v1\nonStartup: 1\n",
		"sync.sh":    "configVersion: v1\nkubernetes:\n- {name: nodes, apiVersion: v1, kind: Node}\n",
	})
	h.eng.syncs["sync.sh"] = []hook.Event{{Binding: "nodes", Wait: true, Execute: true}}
	var failed atomic.Bool
	h.run.run = func(_ context.Context, _ *hook.Hook, in hook.Input) (hook.Output, error) {
		if in.Binding == "nodes" && failed.CompareAndSwap(false, true) {
			return hook.Output{}, errors.New("exit status 1")
		}
		return hook.Output{}, nil
	}
	h.start(snapshot(t, ""))
	h.waitReady()
	if got := h.j.count("run startup.sh onStartup"); got != 1 {
		t.Errorf("global onStartup ran %d times, want once", got)
	}
}
