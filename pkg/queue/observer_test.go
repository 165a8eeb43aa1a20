package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seedops/addon-operator/pkg/queue"
)

func TestObserver(t *testing.T) {
	h := newHarness(t, queue.Config{})
	const s = time.Second
	// "slow" takes 2 s of fake time, "optional" fails and is dropped,
	// "flaky" fails once and then succeeds.
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Slow", Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
		h.clk.Step(2 * s)
		return nil
	})})
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Optional", AllowFailure: true, Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
		return errors.New("optional failed")
	})})
	flaked := false
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Flaky", Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
		if !flaked {
			flaked = true
			return errors.New("flaked")
		}
		return nil
	})})
	h.clk.Step(3 * s)
	h.start(t)
	h.waitBackoff(t)
	h.clk.Step(queue.DefaultMinBackoff)
	h.waitIdle(t, queue.MainQueue)

	lengths, waits, finished := h.obs.events()
	wantLengths := []lengthEvent{{"main", 1}, {"main", 2}, {"main", 3}, {"main", 2}, {"main", 1}, {"main", 0}}
	if diff := cmp.Diff(wantLengths, lengths); diff != "" {
		t.Errorf("queue lengths (-want +got):\n%s", diff)
	}
	wantWaits := []waitEvent{
		{"main", "Slow", 3 * s},
		{"main", "Optional", 5 * s},
		{"main", "Flaky", 5 * s},
	}
	if diff := cmp.Diff(wantWaits, waits); diff != "" {
		t.Errorf("waits, once per task (-want +got):\n%s", diff)
	}
	wantFinished := []finishEvent{
		{"main", "Slow", 2 * s, queue.Succeeded},
		{"main", "Optional", 0, queue.Dropped},
		{"main", "Flaky", 0, queue.Failed},
		{"main", "Flaky", 0, queue.Succeeded},
	}
	if diff := cmp.Diff(wantFinished, finished); diff != "" {
		t.Errorf("finished runs (-want +got):\n%s", diff)
	}
}

func TestObserverLengthOnMergeAndAddFirst(t *testing.T) {
	h := newHarness(t, queue.Config{})
	h.set.Add("q", &queue.Task{Kind: "ModuleRun", Key: "k", Work: (&recorder{}).work("a")})
	h.set.Add("q", &queue.Task{Kind: "ModuleRun", Key: "k", Work: (&recorder{}).work("merged")})
	h.set.AddFirst("q", (&recorder{}).task("x"), (&recorder{}).task("y"))
	lengths, _, _ := h.obs.events()
	want := []lengthEvent{{"q", 1}, {"q", 3}}
	if diff := cmp.Diff(want, lengths); diff != "" {
		t.Errorf("queue lengths (-want +got):\n%s", diff)
	}
}
