package updater

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A replica that does not lead finds the release the leader runs and its
// bundle as Restore would: from the cache, else pulled again by digest.
func TestDeployedAndFetch(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, w.settings(stable))

	list, err := w.releases.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel := Deployed(list)
	if rel == nil || rel.Version != "v1.0.0" {
		t.Fatalf("Deployed = %+v, want v1.0.0", rel)
	}
	older := *rel
	older.Name, older.Transition = "older", rel.Transition.Add(-time.Hour)
	if got := Deployed([]Release{older, *rel}); got.Name != rel.Name {
		t.Errorf("Deployed of two = %s, want the one that changed phase last", got.Name)
	}
	if got := Deployed([]Release{{Name: "p", Phase: PhasePending}}); got != nil {
		t.Errorf("Deployed without a Deployed release = %+v, want nil", got)
	}

	follower := w.newUpdater()
	// bundleName reads the name publish wrote into the bundle.
	bundleName := func(dir string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, "VERSION"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	t.Run("from the cache", func(t *testing.T) {
		if err := os.Rename(w.source, w.source+".away"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(w.source+".away", w.source)
		dir, err := follower.Fetch(ctx, *rel, w.cfg.Current().Operator)
		if err != nil || !strings.Contains(bundleName(dir), "one") {
			t.Errorf("Fetch = %s, %v; want the cached bundle one", dir, err)
		}
	})
	t.Run("pulled by digest when the cache is gone", func(t *testing.T) {
		if err := os.RemoveAll(w.cacheDir); err != nil {
			t.Fatal(err)
		}
		dir, err := follower.Fetch(ctx, *rel, w.cfg.Current().Operator)
		if err != nil || !strings.Contains(bundleName(dir), "one") {
			t.Errorf("Fetch = %s, %v; want bundle one", dir, err)
		}
	})
	t.Run("an error naming the release when neither works", func(t *testing.T) {
		if err := os.RemoveAll(w.cacheDir); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(w.source); err != nil {
			t.Fatal(err)
		}
		_, err := follower.Fetch(ctx, *rel, w.cfg.Current().Operator)
		if err == nil || !strings.Contains(err.Error(), rel.Name) {
			t.Errorf("Fetch error = %v, want one naming %s", err, rel.Name)
		}
	})
}
