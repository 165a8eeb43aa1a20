package updater

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

func builtin() module.Loaded {
	return module.Loaded{Modules: &module.Bundle{Values: values.Values{"name": "built-in", "mode": "ok"}}}
}

func (w *world) start() {
	w.t.Helper()
	if _, err := w.u.Restore(context.Background(), builtin(), w.section); err != nil {
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
			if tt.mark == "SLOW" {
				// The rollback timeout passes once the watch waits for it.
				set := w.clock.TimersOf(2 * time.Second)
				go func() {
					if !w.awaitTimers(2*time.Second, set+1) {
						t.Error("the watch set no rollback timeout")
					}
					w.clock.Step(2 * time.Second)
				}()
			}
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
		w.clock.SetTime(time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC))
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
		b, err := u.Restore(ctx, builtin(), w.section)
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
	if len(w.clock.Afters()) != 0 {
		t.Errorf("restores that worked waited %v", w.clock.Afters())
	}
}

// restoreResult is what a Restore running in the background returned.
type restoreResult struct {
	name string
	err  error
}

func (w *world) restoreInBackground(ctx context.Context, section func(context.Context) values.Values) <-chan restoreResult {
	done := make(chan restoreResult, 1)
	u := w.newUpdater()
	go func() {
		b, err := u.Restore(ctx, builtin(), section)
		name := ""
		if err == nil {
			name, _ = b.Modules.Values["name"].(string)
		}
		done <- restoreResult{name, err}
	}()
	return done
}

// With a Deployed release that cannot be had, Restore returns nothing (the
// operator starts nothing) and retries with a capped doubling backoff,
// reporting each failure, until the release comes back.
func TestRestoreFailsClosed(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, w.settings(stable))
	if err := os.RemoveAll(w.cacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(w.source, w.source+".away"); err != nil {
		t.Fatal(err)
	}
	swaps := len(w.rt.swaps)
	_, told := w.restores.get()
	var sections atomic.Int32
	section := func(context.Context) values.Values {
		sections.Add(1)
		return w.section(ctx)
	}

	done := w.restoreInBackground(ctx, section)
	for i := 0; i < 7; i++ {
		w.awaitAfters(i + 1)
		select {
		case r := <-done:
			t.Fatalf("Restore returned %q, %v while the release cannot be had", r.name, r.err)
		default:
		}
		w.fireRetry()
	}
	w.awaitAfters(8)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	if diff := cmp.Diff(want, w.clock.Afters()); diff != "" {
		t.Errorf("retry delays (-want +got):\n%s", diff)
	}
	if got := w.obs.errors[StageRestore]; got != 8 {
		t.Errorf("restore errors = %d, want 8", got)
	}
	last, n := w.restores.get()
	if n-told != 8 || !errors.Is(last, ErrNotRestored) || !strings.Contains(last.Error(), "v1.0.0") {
		t.Errorf("Restoring told %d times, last %v", n-told, last)
	}
	msg := w.releases.byVersion(t, "v1.0.0").Message
	if !strings.Contains(msg, "retrying") || !strings.Contains(msg, "not an OCI image layout") {
		t.Errorf("Deployed release message = %q", msg)
	}
	if len(w.rt.swaps) != swaps || w.obs.info == BuiltinVersion+"@" {
		t.Errorf("something was put in force while restoring: swaps %v, release_info %s", w.rt.swaps, w.obs.info)
	}

	if err := os.Rename(w.source+".away", w.source); err != nil {
		t.Fatal(err)
	}
	w.fireRetry()
	r := <-done
	if r.err != nil || r.name != "one" {
		t.Fatalf("Restore = %q, %v; want one once the source is back", r.name, r.err)
	}
	if n := sections.Load(); n != 9 {
		t.Errorf("the operator section was read %d times, want once for each of the 9 attempts", n)
	}
	if last, _ := w.restores.get(); last != nil {
		t.Errorf("Restoring last told %v, want nil after the restore", last)
	}
	if msg := w.releases.byVersion(t, "v1.0.0").Message; msg != "" {
		t.Errorf("message after the restore = %q", msg)
	}
	if w.obs.info != "v1.0.0@stable" {
		t.Errorf("release_info = %s", w.obs.info)
	}
}

// Restore falls back to the built-in bundle only when no release is
// Deployed; a Release list that fails is retried like a missing source.
func TestRestoreBuiltinOnlyWithoutADeployedRelease(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newWorld(t)
	w.start()
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, w.settings(stable))
	if err := os.RemoveAll(w.cacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(w.source); err != nil {
		t.Fatal(err)
	}
	w.releases.setListErr(errors.New("the API server is away"))

	done := w.restoreInBackground(ctx, w.section)
	w.awaitAfters(1)
	if last, _ := w.restores.get(); last == nil || !strings.Contains(last.Error(), "the API server is away") {
		t.Errorf("Restoring told %v", last)
	}
	w.releases.setListErr(nil)
	w.fireRetry()
	w.awaitAfters(2)
	select {
	case r := <-done:
		t.Fatalf("Restore returned %q, %v with the Deployed release not restored", r.name, r.err)
	default:
	}

	// An admin who wants the built-in bundle deletes the Deployed release.
	w.releases.delete(w.releases.byVersion(t, "v1.0.0").Name)
	w.fireRetry()
	if r := <-done; r.err != nil || r.name != "built-in" {
		t.Fatalf("Restore = %q, %v; want built-in without a Deployed release", r.name, r.err)
	}
	if w.obs.info != BuiltinVersion+"@" {
		t.Errorf("release_info = %s", w.obs.info)
	}

	t.Run("ctx done ends the retries", func(t *testing.T) {
		w.releases.setListErr(errors.New("the API server is away"))
		ctx, cancel := context.WithCancel(context.Background())
		done := w.restoreInBackground(ctx, w.section)
		w.awaitAfters(3)
		cancel()
		if r := <-done; !errors.Is(r.err, context.Canceled) {
			t.Errorf("Restore after cancel = %q, %v", r.name, r.err)
		}
	})
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		min, max time.Duration
		want     []time.Duration
	}{
		{"doubles up to the cap", time.Second, 5 * time.Second, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"min equal to max", time.Minute, time.Minute, []time.Duration{time.Minute, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := backoff{min: tt.min, max: tt.max}
			for round := 0; round < 2; round++ {
				var got []time.Duration
				for range tt.want {
					got = append(got, b.next())
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("round %d (-want +got):\n%s", round, diff)
				}
				b.reset()
			}
		})
	}
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
	w.awaitChecks(1) // the first check is done
	w.wantRunning("one")
	w.settings("releaseChannel: ea\nsource: SOURCE\nupdate: {pollInterval: 1h}\n")
	w.awaitChecks(2)
	w.wantRunning("two")
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
	w.awaitChecks(1) // the first check is done
	if msg := w.releases.byVersion(t, "v1.0.0").Message; !strings.Contains(msg, "waiting for approval") {
		t.Fatalf("message = %q, want it waiting for approval", msg)
	}
	w.releases.approve(t, "v1.0.0")
	w.u.CheckNow()
	w.awaitChecks(2)
	w.wantRunning("one")
	w.wantPhases("v1.0.0 Deployed")
}

// awaitChecks waits until Start has done n checks: after each, it sets the
// poll timer (the tests poll every hour).
func (w *world) awaitChecks(n int) {
	w.t.Helper()
	if !w.awaitTimers(time.Hour, n) {
		w.t.Fatalf("Start did not check %d times", n)
	}
}

// fireRetry lets the Restore retry waiting in the background go: it steps
// the clock by the last delay asked.
func (w *world) fireRetry() {
	asked := w.clock.Afters()
	w.clock.Step(asked[len(asked)-1])
}

// flakySource fails its Pulls with err while err is set.
type flakySource struct {
	Source
	mu  sync.Mutex
	err error
}

func (f *flakySource) Pull(ctx context.Context, digest, dir string) (bundle.Meta, error) {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return bundle.Meta{}, err
	}
	return f.Source.Pull(ctx, digest, dir)
}

func (f *flakySource) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// A download that fails on the network leaves the release Pending and
// asks for a retry with backoff; only a verified mismatch, or content that
// is not a bundle, fails it for good.
func TestDownloadErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantPhase Phase
		wantMsg   string
	}{
		{"connection reset", fmt.Errorf("fetch layer: %w", syscall.ECONNRESET), PhasePending, "download failed, retrying with backoff"},
		{"body cut short", fmt.Errorf("fetch layer: %w", io.ErrUnexpectedEOF), PhasePending, "download failed, retrying with backoff"},
		{"timeout", fmt.Errorf("fetch layer: %w", context.DeadlineExceeded), PhasePending, "download failed, retrying with backoff"},
		{"digest not in the registry", fmt.Errorf("%w: sha256:…", bundle.ErrNotFound), PhasePending, "download failed, retrying with backoff"},
		{"verified mismatch", fmt.Errorf("%w: layer", bundle.ErrDigestMismatch), PhaseFailed, "download: "},
		{"not a bundle", fmt.Errorf("%w: layer", bundle.ErrNotBundle), PhaseFailed, "download: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			flaky := &flakySource{Source: w.src, err: tt.err}
			w.u = New(Config{CacheDir: w.cacheDir, PollInterval: time.Hour}, Deps{
				Namespace: "ops", Releases: w.releases, Runtime: w.rt, Convergence: w.rt, Config: w.cfg,
				Secrets: noSecrets{}, Observer: w.obs, Clock: w.clock,
				Open: func(string, bundle.Options) (Source, error) { return flaky, nil },
				Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			w.start()
			s := w.settings(stable)
			w.publish("one", "v1.0.0", []string{"stable"})

			w.u.check(ctx, s)
			w.wantRunning("built-in")
			r := w.releases.byVersion(t, "v1.0.0")
			if r.Phase != tt.wantPhase || !strings.Contains(r.Message, tt.wantMsg) {
				t.Fatalf("release %s %q, want %s with %q", r.Phase, r.Message, tt.wantPhase, tt.wantMsg)
			}
			if w.u.retryDownload != (tt.wantPhase == PhasePending) {
				t.Errorf("retry with backoff asked: %v", w.u.retryDownload)
			}

			flaky.set(nil)
			w.u.check(ctx, s)
			if tt.wantPhase == PhaseFailed {
				w.wantRunning("built-in")
				w.wantPhases("v1.0.0 Failed")
				return
			}
			w.wantRunning("one")
			w.wantPhases("v1.0.0 Deployed")
			if w.u.retryDownload {
				t.Error("a retry is still asked for after the release was applied")
			}
		})
	}
}

// After a download failed on the network the next check comes after 1s,
// 2s, 4s, … at most the poll interval; after a check without one, at the
// poll interval, and the backoff starts over.
func TestNextCheck(t *testing.T) {
	w := newWorld(t)
	steps := []struct {
		retry bool
		want  time.Duration
	}{
		{false, 10 * time.Second},
		{true, time.Second},
		{true, 2 * time.Second},
		{true, 4 * time.Second},
		{true, 8 * time.Second},
		{true, 10 * time.Second},
		{true, 10 * time.Second},
		{false, 10 * time.Second},
		{true, time.Second},
	}
	for i, st := range steps {
		w.u.retryDownload = st.retry
		if got := w.u.nextCheck(10 * time.Second); got != st.want {
			t.Errorf("step %d (retry %v): next check in %s, want %s", i, st.retry, got, st.want)
		}
	}
}

func TestHealthGatesTheRelease(t *testing.T) {
	ctx := context.Background()
	const (
		waiting  = "Deployment web/web: 0/1 ready"
		timedOut = "Deployment web/web not ready after 2m0s: 0/1 ready; pod web-1: Unschedulable: 0/1 nodes are available"
	)
	tests := []struct {
		name string
		mark string
		// health of demo while the release is watched; then, when ready is
		// set, what it turns to.
		health module.Health
		then   *module.Health
		// pending is the release's message while the watch waits.
		pending string
		want    []string
		msg     string
	}{
		{
			name:   "converged with a workload waiting: Deployed once it is ready",
			health: module.Health{Waiting: []string{waiting}}, then: &module.Health{},
			pending: "converged, waiting for workloads: module demo: waiting for " + waiting,
			want:    []string{"v2.0.0 Superseded", "v3.0.0 Deployed"},
		},
		{
			name:   "a workload timed out: rolled back, naming it",
			health: module.Health{Waiting: []string{waiting}}, then: &module.Health{Failed: []string{timedOut}},
			pending: "converged, waiting for workloads: module demo: waiting for " + waiting,
			want:    []string{"v2.0.0 Deployed", "v3.0.0 RolledBack"},
			msg:     "rolled back to v2.0.0: module demo: " + timedOut,
		},
		{
			name:   "ready only for an older revision: not trusted, the rollback timeout passes",
			health: module.Health{Revision: 7}, pending: "converged, waiting for workloads: module demo: workloads not judged yet",
			want: []string{"v2.0.0 Deployed", "v3.0.0 RolledBack"},
			msg:  "rolled back to v2.0.0: not converged within 2s: module demo: workloads not judged yet",
		},
		{
			name:   "still waiting at the rollback timeout: rolled back, naming it",
			health: module.Health{Waiting: []string{waiting}}, pending: "converged, waiting for workloads: module demo: waiting for " + waiting,
			want: []string{"v2.0.0 Deployed", "v3.0.0 RolledBack"},
			msg:  "rolled back to v2.0.0: not converged within 2s: module demo: waiting for " + waiting,
		},
		{
			name: "a module whose chart opts out is not gated", mark: "UNGATED",
			health: module.Health{Failed: []string{timedOut}},
			want:   []string{"v2.0.0 Superseded", "v3.0.0 Deployed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.start()
			s := w.settings(stable)
			w.publish("two", "v2.0.0", []string{"stable"})
			w.u.check(ctx, s)
			var marks []string
			if tt.mark != "" {
				marks = append(marks, tt.mark)
			}
			w.publish("three", "v3.0.0", []string{"stable"}, marks...)
			w.health.set(tt.health)

			set := w.clock.TimersOf(2 * time.Second)
			done := make(chan struct{})
			go func() {
				defer close(done)
				w.u.check(ctx, s)
			}()
			if tt.mark == "" {
				// The watch waits: the release is not Deployed yet.
				if !w.awaitTimers(2*time.Second, set+1) || !w.clock.Await(func() bool { return w.health.subscribers() > 0 }) {
					t.Fatal("the watch did not start")
				}
				// The watch tells the release what it waits for.
				for until := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
					got := w.releases.byVersion(t, "v3.0.0")
					if got.Phase == PhasePending && got.Message == tt.pending {
						break
					}
					if time.Now().After(until) {
						t.Fatalf("while the workloads are not judged ready: %s %q, want Pending %q", got.Phase, got.Message, tt.pending)
					}
				}
				if tt.then != nil {
					w.health.set(*tt.then)
				} else {
					w.clock.Step(2 * time.Second)
				}
			}
			<-done
			w.wantPhases(tt.want...)
			if got := w.releases.byVersion(t, "v3.0.0").Message; tt.msg != "" && got != tt.msg {
				t.Errorf("message = %q, want %q", got, tt.msg)
			}
		})
	}
}
