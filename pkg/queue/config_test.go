package queue_test

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seedops/addon-operator/pkg/queue"
)

func TestConfigBackoff(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		cfg  queue.Config
		want []time.Duration // for failures 1, 2, 3, ...
	}{
		{name: "defaults", cfg: queue.Config{MinBackoff: 5 * s, MaxBackoff: 30 * s}, want: []time.Duration{5 * s, 10 * s, 20 * s, 30 * s, 30 * s, 30 * s}},
		{name: "cap reached exactly", cfg: queue.Config{MinBackoff: s, MaxBackoff: 4 * s}, want: []time.Duration{s, 2 * s, 4 * s, 4 * s}},
		{name: "min equals max", cfg: queue.Config{MinBackoff: 7 * s, MaxBackoff: 7 * s}, want: []time.Duration{7 * s, 7 * s}},
		{name: "huge cap does not overflow", cfg: queue.Config{MinBackoff: s, MaxBackoff: time.Duration(1<<63 - 1)}, want: []time.Duration{s, 2 * s, 4 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []time.Duration
			for n := 1; n <= len(tt.want); n++ {
				got = append(got, tt.cfg.Backoff(n))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Backoff(1..%d) (-want +got):\n%s", len(tt.want), diff)
			}
		})
	}
	t.Run("far attempts stay at the cap", func(t *testing.T) {
		cfg := queue.Config{MinBackoff: 5 * s, MaxBackoff: 30 * s}
		for _, n := range []int{64, 1000, 1 << 30} {
			if got := cfg.Backoff(n); got != 30*s {
				t.Errorf("Backoff(%d) = %s, want 30s", n, got)
			}
		}
	})
	t.Run("no failure no wait", func(t *testing.T) {
		if got := (queue.Config{MinBackoff: s, MaxBackoff: s}).Backoff(0); got != 0 {
			t.Errorf("Backoff(0) = %s, want 0", got)
		}
	})
}

func TestConfigBindFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want queue.Config
	}{
		{name: "defaults", want: queue.Config{MinBackoff: 5 * time.Second, MaxBackoff: 30 * time.Second}},
		{name: "set", args: []string{"-queue-min-backoff=1s", "-queue-max-backoff=2m"}, want: queue.Config{MinBackoff: time.Second, MaxBackoff: 2 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var cfg queue.Config
			cfg.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     queue.Config
		wantErr string
	}{
		{name: "zero takes defaults", cfg: queue.Config{}},
		{name: "min above default max raises max", cfg: queue.Config{MinBackoff: time.Minute}},
		{name: "negative min", cfg: queue.Config{MinBackoff: -time.Second}, wantErr: "min backoff -1s is negative"},
		{name: "max below min", cfg: queue.Config{MinBackoff: 10 * time.Second, MaxBackoff: 5 * time.Second}, wantErr: "max backoff 5s is below min backoff 10s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := queue.New(tt.cfg, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
