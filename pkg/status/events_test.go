package status_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/test/poll"
)

func TestConfigRejectedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cs := testCluster.Client()
	ns := newNamespace(t, "events")
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "addon-operator", Namespace: ns},
		Data:       map[string]string{"fooEnabled": "yes"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, log := newLogs(t)
	rec := status.NewConfigEvents(cs, ns, cm.Name, log)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rec.Start(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})

	badEnabled := fmt.Errorf("%w: key fooEnabled: %w: want \"true\" or \"false\", got \"yes\"", configstore.ErrInvalidConfig, configstore.ErrBadEnabled)
	long := fmt.Errorf("%w: %s", configstore.ErrInvalidConfig, strings.Repeat("key foo: schema violation; ", 100))
	type event struct{ Type, Reason, Message string }
	// events waits until the ConfigMap has n Events and returns them, oldest first.
	events := func(n int) []event {
		t.Helper()
		var items []corev1.Event
		poll.Until(t, pollEvery, waitFor, fmt.Sprintf("%d Events of the ConfigMap", n), func() error {
			list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ConfigMap,involvedObject.name=" + cm.Name})
			if err != nil {
				t.Fatal(err)
			}
			items = list.Items
			if len(items) < n {
				return fmt.Errorf("%d Events: %+v", len(items), items)
			}
			return nil
		})
		slices.SortFunc(items, func(a, b corev1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
		var out []event
		for _, e := range items {
			if e.InvolvedObject.UID != cm.UID {
				t.Errorf("event %s involves uid %q, want the ConfigMap's %q", e.Name, e.InvolvedObject.UID, cm.UID)
			}
			out = append(out, event{e.Type, e.Reason, e.Message})
		}
		return out
	}

	// The same rejection twice in a row is one Event; a new problem is another.
	rec.Observe(configstore.Event{Err: badEnabled})
	rec.Observe(configstore.Event{Err: badEnabled})
	rec.Observe(configstore.Event{Err: long})
	truncated := long.Error()[:1021] + "..."
	want := []event{
		{"Warning", "ConfigRejected", badEnabled.Error()},
		{"Warning", "ConfigRejected", truncated},
	}
	if diff := cmp.Diff(want, events(2)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// After an accepted configuration the same rejection is news again;
	// a merged event (accepted, then rejected) counts as both.
	rec.Observe(configstore.Event{Change: configstore.Change{Modules: []string{"foo"}}})
	rec.Observe(configstore.Event{Err: long})
	rec.Observe(configstore.Event{Change: configstore.Change{Global: true}, Err: long})
	want = append(want, event{"Warning", "ConfigRejected", truncated}, event{"Warning", "ConfigRejected", truncated})
	if diff := cmp.Diff(want, events(4)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Keys of no known module in an accepted configuration are one
	// ConfigUnknownKeys Event per distinct list; a configuration without
	// them ends the run.
	unknown := configstore.Snapshot{Unknown: []string{`configmap key "dropped": unknown key: ignored`}}
	rec.Observe(configstore.Event{Snapshot: unknown, Change: configstore.Change{Initial: true}})
	rec.Observe(configstore.Event{Snapshot: unknown})
	rec.Observe(configstore.Event{Snapshot: unknown, Err: long}) // the rejection's snapshot is the one in force: no news
	rec.Observe(configstore.Event{})
	rec.Observe(configstore.Event{Snapshot: unknown})
	unknownEvent := event{"Warning", "ConfigUnknownKeys", unknown.Unknown[0]}
	want = append(want, unknownEvent, event{"Warning", "ConfigRejected", truncated}, unknownEvent)
	if diff := cmp.Diff(want, events(7)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	out := kubectl(t, "describe", "configmap", "-n", ns, cm.Name)
	t.Logf("kubectl describe configmap:\n%s", out)
	if !strings.Contains(out, "ConfigRejected") || !strings.Contains(out, `key fooEnabled: bad enabled flag: want "true" or "false", got "yes"`) {
		t.Error("kubectl describe configmap does not show the ConfigRejected event")
	}
}

// A failed Event write is retried after a second of the recorder's clock,
// and the Event carries the time the rejection was observed.
func TestConfigEventsRetryOnTheirClock(t *testing.T) {
	client := fake.NewClientset()
	failures := 1 // read and written by the recorder's goroutine only
	client.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, errors.New("api server unavailable")
		}
		return false, nil, nil
	})
	observed := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(observed)
	rec := status.NewConfigEvents(client, "retry", "addon-operator", nil, status.WithEventsClock(clk))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	rec.Observe(configstore.Event{Err: fmt.Errorf("%w: bad", configstore.ErrInvalidConfig)})
	poll.True(t, time.Millisecond, 5*time.Second, "the recorder to wait before retrying", clk.HasWaiters)
	list := func() []eventsv1.Event {
		l, err := client.EventsV1().Events("retry").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	if n := len(list()); n != 0 {
		t.Fatalf("%d Events before the retry, want 0", n)
	}
	clk.Step(time.Second)
	poll.True(t, time.Millisecond, 5*time.Second, "the retried Event", func() bool { return len(list()) == 1 })
	if got := list()[0].EventTime.Time; !got.Equal(observed) {
		t.Errorf("EventTime %s, want the time of the observation %s", got, observed)
	}
}

// A rejection that quotes a secret value is recorded masked.
func TestConfigEventsMasked(t *testing.T) {
	client := fake.NewClientset()
	masker := mask.New()
	masker.Update([]string{"s3cr3t-event-v"})
	rec := status.NewConfigEvents(client, "masked", "addon-operator", nil, status.WithEventsMasker(masker))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rec.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	rec.Observe(configstore.Event{Err: fmt.Errorf("%w: key grafana: token s3cr3t-event-v refused", configstore.ErrInvalidConfig)})
	var notes []string
	poll.True(t, time.Millisecond, 5*time.Second, "the Event", func() bool {
		l, err := client.EventsV1().Events("masked").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		notes = notes[:0]
		for _, ev := range l.Items {
			notes = append(notes, ev.Note)
		}
		return len(notes) == 1
	})
	if strings.Contains(notes[0], "s3cr3t-event-v") || !strings.Contains(notes[0], "token "+mask.Text+" refused") {
		t.Errorf("Event note %q: want the secret masked as %q", notes[0], mask.Text)
	}
}
