package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedops/addon-operator/pkg/queue"
)

// logLines parses the JSON log and keeps the lines with msg, without time.
func logLines(t *testing.T, h *harness, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(h.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			delete(m, "time")
			out = append(out, m)
		}
	}
	return out
}

func TestTaskLogging(t *testing.T) {
	tests := []struct {
		name         string
		allowFailure bool
		err          error
		want         map[string]any
	}{
		{
			name: "success",
			want: map[string]any{"level": "INFO", "outcome": "success"},
		},
		{
			name: "failure is retried",
			err:  errors.New("helm upgrade failed"),
			want: map[string]any{"level": "ERROR", "outcome": "error", "error": "helm upgrade failed", "retry_in": float64(queue.DefaultMinBackoff)},
		},
		{
			name:         "allowed failure is dropped",
			allowFailure: true,
			err:          errors.New("optional hook failed"),
			want:         map[string]any{"level": "WARN", "outcome": "dropped", "error": "optional hook failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, queue.Config{})
			ran := make(chan struct{})
			h.set.Add("ingress", &queue.Task{
				Kind:         "HookRun",
				AllowFailure: tt.allowFailure,
				Attrs:        []slog.Attr{slog.String("module", "ingress-nginx"), slog.String("hook", "nodes.sh"), slog.String("binding", "nodes")},
				Work: queue.WorkFunc(func(_ context.Context, log *slog.Logger) error {
					log.Info("hook says hello")
					close(ran)
					return tt.err
				}),
			})
			h.start(t)
			receive(t, "the task to run", ran)
			if tt.err != nil && !tt.allowFailure {
				h.waitBackoff(t)
			} else {
				h.waitIdle(t, "ingress")
			}
			h.stop(t)

			taskAttrs := map[string]any{
				"queue": "ingress", "task_id": float64(1), "kind": "HookRun",
				"module": "ingress-nginx", "hook": "nodes.sh", "binding": "nodes",
			}
			wantHello := map[string]any{"level": "INFO", "msg": "hook says hello"}
			for k, v := range taskAttrs {
				wantHello[k] = v
			}
			if diff := cmp.Diff([]map[string]any{wantHello}, logLines(t, h, "hook says hello")); diff != "" {
				t.Errorf("log line of the task (-want +got):\n%s", diff)
			}

			wantDone := map[string]any{"msg": "task finished", "attempt": float64(1), "duration": float64(0)}
			for k, v := range taskAttrs {
				wantDone[k] = v
			}
			for k, v := range tt.want {
				wantDone[k] = v
			}
			if diff := cmp.Diff([]map[string]any{wantDone}, logLines(t, h, "task finished")); diff != "" {
				t.Errorf("final log line (-want +got):\n%s", diff)
			}
		})
	}
}
