package converge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// A burst of 50 events runs a hook with settings at the configured rate:
// executionBurst runs at once, then one run per executionMinInterval, every
// event reaching the hook in one of them.
func TestHookSettingsLimitTheRunRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings string
		gap      time.Duration // between two events
		// want counts the runs per fake second and the events of each run.
		wantPerSecond []int
		wantEvents    []int
	}{
		{
			name: "no settings", gap: 0,
			wantPerSecond: []int{50}, wantEvents: repeat(1, 50),
		},
		{
			name: "burst 1, all at once", settings: "settings: {executionMinInterval: 1s, executionBurst: 1}\n", gap: 0,
			wantPerSecond: []int{1, 1}, wantEvents: []int{1, 49},
		},
		{
			// Four events a second: two run at once, the third waits for
			// t=1s, then the events of each second merge into one run at
			// the start of the next.
			name: "burst 2, four events a second", settings: "settings: {executionMinInterval: 1s, executionBurst: 2}\n", gap: 250 * time.Millisecond,
			wantPerSecond: append([]int{2}, repeat(1, 13)...), wantEvents: append(append([]int{1, 1, 2}, repeat(4, 11)...), 2),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := "configVersion: v1\n" + tc.settings + "kubernetes:\n- {name: nodes, apiVersion: v1, kind: Node, queue: events}\n"
			h := newHarness(t, []moduletest.File{moduletest.Hook("global-hooks/watch.sh")}, map[string]string{"watch.sh": cfg})
			start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			h.clock = clocktesting.NewFakeClock(start)
			var mu sync.Mutex
			perSecond := map[int]int{}
			h.run.run = func(_ context.Context, hk *hook.Hook, in hook.Input) (hook.Output, error) {
				if in.Binding == "nodes" {
					mu.Lock()
					perSecond[int(h.clock.Since(start)/time.Second)]++
					mu.Unlock()
				}
				return hook.Output{}, nil
			}
			h.start(snapshot(t, ""))
			h.waitReady()
			h.waitIdle("events")

			// The clock moves in steps of 250ms, only while the queues are
			// idle, so each run happens at a known fake time.
			const step = 250 * time.Millisecond
			advance := func(d time.Duration) {
				for ; d > 0; d -= step {
					h.clock.Step(step)
					h.waitIdle("events")
				}
			}
			hk := h.hookByName("watch.sh")
			for i := range 50 {
				if i > 0 {
					advance(tc.gap)
				}
				h.sendHookEvent(event(hk, "nodes"))
				h.waitIdle("events")
			}
			advance(3 * time.Second)

			var gotPerSecond []int
			mu.Lock()
			for s := 0; s < 20; s++ {
				if n, ok := perSecond[s]; ok || s < len(tc.wantPerSecond) {
					gotPerSecond = append(gotPerSecond, n)
				}
			}
			mu.Unlock()
			if diff := cmp.Diff(tc.wantPerSecond, gotPerSecond); diff != "" {
				t.Errorf("runs per fake second (-want +got):\n%s", diff)
			}
			var gotEvents []int
			for _, r := range h.run.runsOf("watch.sh") {
				if r.Binding == "nodes" {
					gotEvents = append(gotEvents, len(contextsOf(t, r.Input)))
				}
			}
			if diff := cmp.Diff(tc.wantEvents, gotEvents); diff != "" {
				t.Errorf("events per run (-want +got):\n%s", diff)
			}
		})
	}
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}
