package updater

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

func builtin() converge.Bundle {
	return converge.Bundle{Modules: &module.Bundle{Values: values.Values{"name": "built-in", "mode": "ok"}}}
}

func (w *world) start() {
	w.t.Helper()
	if _, err := w.u.Restore(context.Background(), builtin(), nil); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) wantPhases(want ...string) {
	w.t.Helper()
	if diff := cmp.Diff(want, w.releases.phases()); diff != "" {
		w.t.Errorf("releases (-want +got):\n%s", diff)
	}
}

func (w *world) wantRunning(name string) {
	w.t.Helper()
	if got := w.rt.running(); got != name {
		w.t.Errorf("running %s, want %s", got, name)
	}
}

const stable = "releaseChannel: stable\nsource: SOURCE\n"

func TestFollowsTheChannel(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	s := w.settings(stable)

	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, s)
	w.wantRunning("one")
	w.wantPhases("v1.0.0 Deployed")
	if w.obs.info != "v1.0.0@stable" {
		t.Errorf("release_info = %s", w.obs.info)
	}

	w.u.check(ctx, s) // nothing new
	if len(w.rt.swaps) != 1 {
		t.Errorf("swaps %v after a check with nothing new", w.rt.swaps)
	}

	w.publish("two", "v1.1.0", []string{"stable"})
	lists := w.releases.listCount()
	w.u.check(ctx, s)
	if n := w.releases.listCount() - lists; n != 1 {
		t.Errorf("a check that applies a release listed the Release objects %d times, want 1", n)
	}
	w.wantRunning("two")
	w.wantPhases("v1.0.0 Superseded", "v1.1.0 Deployed")
	if _, err := os.Stat(w.cacheDir); err != nil {
		t.Fatal(err)
	}
	if !w.u.cache.Has(w.releases.byVersion(t, "v1.1.0").Digest) {
		t.Error("the deployed release is not in the cache")
	}
}

func TestRollsBackWhatDoesNotConverge(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		mark string
		want string
	}{
		{"a module keeps failing", "FAIL", "module demo still failing after 3 attempts: render: v3 is broken"},
		{"nothing converges before the timeout", "SLOW", "not converged within 2s: module demo: phase Reconciling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.start()
			s := w.settings(stable)
			w.publish("two", "v2.0.0", []string{"stable"})
			w.u.check(ctx, s)
			w.publish("three", "v3.0.0", []string{"stable"}, tt.mark)
			w.u.check(ctx, s)

			w.wantRunning("two")
			w.wantPhases("v2.0.0 Deployed", "v3.0.0 RolledBack")
			if got := w.releases.byVersion(t, "v3.0.0").Message; got != "rolled back to v2.0.0: "+tt.want {
				t.Errorf("message = %q", got)
			}
			if w.obs.errors[StageConverge] != 1 {
				t.Errorf("converge errors = %d", w.obs.errors[StageConverge])
			}

			w.u.check(ctx, s)
			if w.rt.loads["three"] != 1 {
				t.Errorf("the rolled back digest was loaded %d times", w.rt.loads["three"])
			}
			if !strings.Contains(w.releases.byVersion(t, "v2.0.0").Message, "RolledBack") {
				t.Errorf("the running release does not say why it stays: %q", w.releases.byVersion(t, "v2.0.0").Message)
			}

			w.publish("four", "v3.0.1", []string{"stable"})
			w.u.check(ctx, s)
			w.wantRunning("four")
		})
	}
}

func TestRefusesBadReleasesBeforeTheSwap(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	s := w.settings(stable)
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, s)

	w.publish("bad", "v2.0.0", []string{"stable"}, "INVALID")
	w.u.check(ctx, s)
	w.wantRunning("one")
	w.wantPhases("v1.0.0 Deployed", "v2.0.0 Failed")
	bad := w.releases.byVersion(t, "v2.0.0")
	if !strings.Contains(bad.Message, "invalid bundle") || !strings.Contains(bad.Message, "values.yaml") {
		t.Errorf("message = %q", bad.Message)
	}
	if len(w.rt.swaps) != 1 {
		t.Errorf("swaps = %v", w.rt.swaps)
	}
	if w.u.cache.Has(bad.Digest) {
		t.Error("the refused bundle stays in the cache")
	}
}

func TestTamperedLayerFailsTheRelease(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	s := w.settings(stable)
	meta := w.publish("one", "v1.0.0", []string{"stable"})
	manifest, err := os.ReadFile(filepath.Join(w.source, "blobs", "sha256", strings.TrimPrefix(meta.Digest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(manifest), `"layers":[{`)
	j := strings.Index(string(manifest[i:]), "sha256:")
	layer := filepath.Join(w.source, "blobs", "sha256", string(manifest[i+j+7:i+j+71]))
	data, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-10] ^= 0x55
	if err := os.WriteFile(layer, data, 0o644); err != nil {
		t.Fatal(err)
	}
	w.u.check(ctx, s)
	w.wantRunning("built-in")
	w.wantPhases("v1.0.0 Failed")
	if msg := w.releases.byVersion(t, "v1.0.0").Message; !strings.Contains(msg, "digest mismatch") {
		t.Errorf("message = %q", msg)
	}
}

func TestPolicy(t *testing.T) {
	ctx := context.Background()

	t.Run("manual mode waits for the approval", func(t *testing.T) {
		w := newWorld(t)
		w.start()
		s := w.settings(stable + "update: {mode: Manual}\n")
		w.publish("one", "v1.0.0", []string{"stable"})
		w.u.check(ctx, s)
		w.u.check(ctx, s)
		w.wantRunning("built-in")
		w.wantPhases("v1.0.0 Pending")
		if w.obs.pending != 1 {
			t.Errorf("pending_releases = %d", w.obs.pending)
		}
		if msg := w.releases.byVersion(t, "v1.0.0").Message; !strings.Contains(msg, AnnotationApproved) {
			t.Errorf("message = %q", msg)
		}
		w.releases.approve(t, "v1.0.0")
		w.u.check(ctx, s)
		w.wantRunning("one")
		w.wantPhases("v1.0.0 Deployed")
		if w.obs.pending != 0 {
			t.Errorf("pending_releases = %d", w.obs.pending)
		}
	})

	t.Run("a window defers the apply until it opens", func(t *testing.T) {
		w := newWorld(t)
		w.start()
		// Monday 2026-11-23 12:00 UTC; the window is Mon 22:00 to Tue 02:00.
		s := w.settings(stable + "update: {windows: [{days: [Mon], from: '22:00', to: '02:00'}]}\n")
		w.publish("one", "v1.0.0", []string{"stable"})
		w.u.check(ctx, s)
		w.wantRunning("built-in")
		if msg := w.releases.byVersion(t, "v1.0.0").Message; msg != "waiting for an update window (next opens Mon 2026-11-23 22:00 UTC)" {
			t.Errorf("message = %q", msg)
		}
		w.clock.set(time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC))
		w.u.check(ctx, s)
		w.wantRunning("one")
	})

	t.Run("an older channel is held unless downgrades are allowed", func(t *testing.T) {
		w := newWorld(t)
		w.start()
		w.publish("one", "v1.0.0", []string{"stable"})
		w.publish("two", "v2.0.0", []string{"ea"})
		w.u.check(ctx, w.settings("releaseChannel: ea\nsource: SOURCE\n"))
		w.wantRunning("two")

		s := w.settings(stable)
		w.u.check(ctx, s)
		w.wantRunning("two")
		w.wantPhases("v1.0.0 Pending", "v2.0.0 Deployed")
		if msg := w.releases.byVersion(t, "v1.0.0").Message; !strings.HasPrefix(msg, "held: v1.0.0 is older than the running v2.0.0") {
			t.Errorf("message = %q", msg)
		}

		w.u.check(ctx, w.settings(stable+"update: {allowDowngrade: true}\n"))
		w.wantRunning("one")
		w.wantPhases("v1.0.0 Deployed", "v2.0.0 Superseded")
	})

	t.Run("a pending release overtaken on the channel is superseded", func(t *testing.T) {
		w := newWorld(t)
		w.start()
		s := w.settings(stable + "update: {mode: Manual}\n")
		w.publish("one", "v1.0.0", []string{"stable"})
		w.u.check(ctx, s)
		w.publish("two", "v1.0.1", []string{"stable"})
		w.u.check(ctx, s)
		w.wantPhases("v1.0.0 Superseded", "v1.0.1 Pending")
	})
}

func TestProblemsLeaveTheRunningBundle(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, w.settings(stable))

	tests := []struct {
		name, settings, want string
	}{
		{"unknown channel", "releaseChannel: nope\nsource: SOURCE\n", `channel "nope": no such tag`},
		{"missing source", "releaseChannel: stable\nsource: /nonexistent/layout\n", "not an OCI image layout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.obs.errors[StageCheck]
			w.u.check(ctx, w.settings(tt.settings))
			w.wantRunning("one")
			w.wantPhases("v1.0.0 Deployed")
			if msg := w.releases.byVersion(t, "v1.0.0").Message; !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.want)
			}
			if w.obs.errors[StageCheck] != before+1 {
				t.Errorf("check errors %d → %d", before, w.obs.errors[StageCheck])
			}
		})
	}

	w.u.check(ctx, w.settings(stable))
	if msg := w.releases.byVersion(t, "v1.0.0").Message; msg != "" {
		t.Errorf("message after a good check = %q", msg)
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	s := w.settings(stable)
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, s)
	deployed := w.releases.byVersion(t, "v1.0.0")

	restore := func() (string, error) {
		u := w.newUpdater()
		b, err := u.Restore(ctx, builtin(), w.cfg.Current().Operator)
		name, _ := b.Modules.Values["name"].(string)
		return name, err
	}

	t.Run("from the cache", func(t *testing.T) {
		if err := os.Rename(w.source, w.source+".away"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(w.source+".away", w.source)
		name, err := restore()
		if err != nil || name != "one" {
			t.Errorf("Restore = %s, %v; want one from the cache", name, err)
		}
	})

	t.Run("pulled again by digest when the cache is gone", func(t *testing.T) {
		if err := os.RemoveAll(w.cacheDir); err != nil {
			t.Fatal(err)
		}
		name, err := restore()
		if err != nil || name != "one" {
			t.Errorf("Restore = %s, %v; want one", name, err)
		}
		if !w.u.cache.Has(deployed.Digest) {
			t.Error("the pulled release was not cached")
		}
	})

	t.Run("built-in when neither works", func(t *testing.T) {
		if err := os.RemoveAll(w.cacheDir); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(w.source); err != nil {
			t.Fatal(err)
		}
		name, err := restore()
		if err == nil || name != "built-in" {
			t.Errorf("Restore = %s, %v; want built-in and an error", name, err)
		}
	})
}

// The loop picks up a changed operator section without waiting for the
// poll interval.
func TestStartFollowsSettings(t *testing.T) {
	w := newWorld(t)
	w.start()
	w.publish("one", "v1.0.0", []string{"stable"})
	w.publish("two", "v2.0.0", []string{"ea"})
	w.settings(stable + "update: {pollInterval: 1h}\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.u.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	eventually(t, 5*time.Second, func() bool { return w.rt.running() == "one" })
	w.settings("releaseChannel: ea\nsource: SOURCE\nupdate: {pollInterval: 1h}\n")
	eventually(t, 5*time.Second, func() bool { return w.rt.running() == "two" })
}

// An approval followed by CheckNow is applied at once, not at the next
// poll.
func TestCheckNowAppliesAnApprovalBeforeThePoll(t *testing.T) {
	w := newWorld(t)
	w.start()
	w.publish("one", "v1.0.0", []string{"stable"})
	w.settings(stable + "update: {mode: Manual, pollInterval: 1h}\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.u.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	eventually(t, 5*time.Second, func() bool {
		rs, _ := w.releases.List(ctx)
		return len(rs) == 1 && strings.Contains(rs[0].Message, "waiting for approval")
	})
	w.releases.approve(t, "v1.0.0")
	w.u.CheckNow()
	eventually(t, 5*time.Second, func() bool { return w.rt.running() == "one" })
	w.wantPhases("v1.0.0 Deployed")
}

func eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
