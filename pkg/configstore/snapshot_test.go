package configstore

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/seedops/addon-operator/pkg/values"
)

// snap builds a Snapshot from ConfigMap-like data accepted by fakeSchemas.
func snap(t *testing.T, cm map[string]string) Snapshot {
	t.Helper()
	p, err := parse(cm, nil, newFakeSchemas())
	if err != nil {
		t.Fatal(err)
	}
	return p.snap
}

func TestDiff(t *testing.T) {
	base := map[string]string{
		"global":              "clusterName: a\n",
		"operator":            "releaseChannel: stable\n",
		"ingressNginx":        "replicas: 2\n",
		"ingressNginxEnabled": "true",
	}
	with := func(changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range changes {
			if v == "-" {
				delete(out, k)
				continue
			}
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name string
		next map[string]string
		want Change
	}{
		{name: "same content", next: with(nil), want: Change{}},
		{name: "same content, other formatting", next: with(map[string]string{"global": "{clusterName: 'a'}"}), want: Change{}},
		{name: "global", next: with(map[string]string{"global": "clusterName: b\n"}), want: Change{Global: true}},
		{name: "operator", next: with(map[string]string{"operator": "releaseChannel: alpha\n"}), want: Change{Operator: true}},
		{name: "module section changed", next: with(map[string]string{"ingressNginx": "replicas: 3\n"}), want: Change{Modules: []string{"ingressNginx"}}},
		{name: "module section added", next: with(map[string]string{"prometheus": "retention: 1d\n"}), want: Change{Modules: []string{"prometheus"}}},
		{name: "module section removed", next: with(map[string]string{"ingressNginx": "-"}), want: Change{Modules: []string{"ingressNginx"}}},
		{name: "empty section added is no change", next: with(map[string]string{"certManager": "{}"}), want: Change{}},
		{name: "flag flipped", next: with(map[string]string{"ingressNginxEnabled": "false"}), want: Change{Enabled: []string{"ingressNginx"}}},
		{name: "flag added", next: with(map[string]string{"certManagerEnabled": "false"}), want: Change{Enabled: []string{"certManager"}}},
		{name: "flag removed", next: with(map[string]string{"ingressNginxEnabled": "-"}), want: Change{Enabled: []string{"ingressNginx"}}},
		{
			name: "several at once, sorted",
			next: with(map[string]string{"prometheus": "a: 1", "certManager": "b: 2", "global": "-", "prometheusEnabled": "true", "certManagerEnabled": "true"}),
			want: Change{Global: true, Modules: []string{"certManager", "prometheus"}, Enabled: []string{"certManager", "prometheus"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diff(snap(t, base), snap(t, tt.next))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			if got.Empty() != cmp.Equal(tt.want, Change{}) {
				t.Errorf("Empty() = %v for %+v", got.Empty(), got)
			}
		})
	}
}

func TestCoalesce(t *testing.T) {
	errBad := errors.New("bad edit")
	older := Snapshot{Global: values.Values{"v": "1"}}
	newer := Snapshot{Global: values.Values{"v": "2"}}
	tests := []struct {
		name         string
		first, later Event
		want         Event
	}{
		{
			name:  "changes are united, newest snapshot wins",
			first: Event{Snapshot: older, Change: Change{Initial: true, Modules: []string{"b", "c"}}},
			later: Event{Snapshot: newer, Change: Change{Global: true, Modules: []string{"a", "c"}, Enabled: []string{"x"}}},
			want:  Event{Snapshot: newer, Change: Change{Initial: true, Global: true, Modules: []string{"a", "b", "c"}, Enabled: []string{"x"}}},
		},
		{
			name:  "a rejection after a change keeps the change",
			first: Event{Snapshot: newer, Change: Change{Operator: true}},
			later: Event{Snapshot: newer, Err: errBad},
			want:  Event{Snapshot: newer, Change: Change{Operator: true}, Err: errBad},
		},
		{
			name:  "an accepted change after a rejection clears the error",
			first: Event{Snapshot: older, Err: errBad},
			later: Event{Snapshot: newer, Change: Change{Global: true}},
			want:  Event{Snapshot: newer, Change: Change{Global: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := coalesce(tt.first, tt.later)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

// A consumer that reads late gets one event with the latest configuration
// and every changed key; the Store never blocks on it.
func TestEventsCoalesceForSlowConsumer(t *testing.T) {
	s := New(nil, Config{Namespace: "ns"}, newFakeSchemas(), discardLog())
	first := snap(t, map[string]string{"global": "a: 1"})
	second := snap(t, map[string]string{"global": "a: 1", "ingressNginx": "replicas: 2"})
	third := snap(t, map[string]string{"global": "a: 2", "ingressNginx": "replicas: 2", "certManagerEnabled": "true"})
	s.writeMu.Lock()
	s.accept(first, false)
	s.accept(second, false)
	s.accept(third, false)
	s.writeMu.Unlock()

	got := <-s.Events()
	want := Event{Snapshot: third, Change: Change{Initial: true, Global: true, Modules: []string{"ingressNginx"}, Enabled: []string{"certManager"}}}
	if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	select {
	case ev := <-s.Events():
		t.Errorf("second event %+v, want everything in one", ev)
	default:
	}
	if diff := cmp.Diff(third, s.Current()); diff != "" {
		t.Errorf("Current (-want +got):\n%s", diff)
	}
}

// Listeners see every event as emitted, in order, also those a slow
// consumer of Events gets merged into one.
func TestListenersSeeEveryEvent(t *testing.T) {
	var seen []Event
	s := New(nil, Config{Namespace: "ns"}, newFakeSchemas(), discardLog(), WithListener(func(ev Event) { seen = append(seen, ev) }))
	first := snap(t, map[string]string{"global": "a: 1"})
	second := snap(t, map[string]string{"global": "a: 2"})
	errBad := errors.New("bad")
	s.writeMu.Lock()
	s.accept(first, false)
	s.reject(errBad)
	s.accept(second, false)
	s.writeMu.Unlock()

	want := []Event{
		{Snapshot: first, Change: Change{Initial: true, Global: true}},
		{Snapshot: first, Err: errBad},
		{Snapshot: second, Change: Change{Global: true}},
	}
	if diff := cmp.Diff(want, seen, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("events seen by the listener (-want +got):\n%s", diff)
	}
	if got := len(s.Events()); got != 1 {
		t.Errorf("%d events pending on Events, want 1", got)
	}
}

func TestSnapshotSectionAndChecksum(t *testing.T) {
	s := snap(t, map[string]string{
		"global":       "a: 1",
		"operator":     "releaseChannel: ea",
		"ingressNginx": "replicas: 2\nclass: x",
	})
	tests := []struct {
		key  string
		want values.Values
	}{
		{key: "global", want: values.Values{"a": float64(1)}},
		{key: "operator", want: values.Values{"releaseChannel": "ea"}},
		{key: "ingressNginx", want: values.Values{"replicas": float64(2), "class": "x"}},
		{key: "prometheus", want: values.Values{}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := s.Section(tt.key)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("section (-want +got):\n%s", diff)
			}
			if s.Checksum(tt.key) != tt.want.Checksum() {
				t.Errorf("checksum differs from the content's")
			}
			got["mutated"] = true
			if _, ok := s.Section(tt.key)["mutated"]; ok {
				t.Errorf("Section returned the snapshot's own map")
			}
		})
	}
	other := snap(t, map[string]string{"ingressNginx": "class: x\nreplicas: 2.0"})
	if s.Checksum("ingressNginx") != other.Checksum("ingressNginx") {
		t.Errorf("equal content gives different checksums")
	}
}
