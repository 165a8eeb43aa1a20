package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// Hooks that hang, eat memory or flood stdout are bounded and fail (or
// finish) on their own: the hanging one is killed at --hook-timeout, the
// hungry one fails at --hook-memory-limit with its allocation error, the
// chatty one's 100 MB are truncated in the log. The operator stays small
// and alive, and the other modules converge, also while the failing ones
// are retried.
func TestFaultHookResourceBounds(t *testing.T) {
	e := newEnv(t, faultBundle("hooks"), append([]string{"--hook-timeout", "3s", "--hook-memory-limit", "128Mi"}, fastRetry...)...)
	started := time.Now()
	e.start()
	if d := time.Since(started); d > 40*time.Second {
		t.Errorf("ready after %s: a misbehaving hook held the first converge", d)
	}
	for _, m := range []string{"healthy", "chatty"} {
		if e.configMapData(e.ns, m) == nil {
			t.Errorf("module %s was not deployed", m)
		}
	}
	logs := e.op.Logs()
	for _, want := range []string{
		"020-hang/hooks/hang.sh (beforeHelm): hook timed out after 3s",
		"030-hog/hooks/hog.sh (beforeHelm): hook failed: exit code",
		"cannot allocate",
		"hook output truncated",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	for _, s := range []string{"hang.sh (beforeHelm)", "hog.sh (beforeHelm)"} {
		t.Logf("%s", strings.SplitN(grep(logs, s), "\n", 2)[0])
	}
	for _, m := range []string{"hang", "hog"} {
		if e.configMapData(e.ns, m) != nil {
			t.Errorf("module %s was deployed although its hook failed", m)
		}
	}

	t.Run("other modules converge while the failing ones are retried", func(t *testing.T) {
		e.setConfig(map[string]string{"healthyEnabled": "false"})
		e.eventually(20*time.Second, func() string {
			if e.configMapData(e.ns, "healthy") != nil {
				return "the disabled healthy module is still installed"
			}
			return ""
		})
		e.eventually(20*time.Second, func() string {
			if n := strings.Count(e.op.Logs(), "030-hog/hooks/hog.sh (beforeHelm): hook failed"); n < 2 {
				return fmt.Sprintf("the hog hook ran %d times, want it retried", n)
			}
			return ""
		})
	})

	t.Run("the operator stays small", func(t *testing.T) {
		e.alive()
		rss, peak := e.memory()
		t.Logf("operator memory: rss %d MiB, peak %d MiB", rss>>20, peak>>20)
		if peak > 300<<20 {
			t.Errorf("operator peak memory %d MiB, want under 300 MiB", peak>>20)
		}
		info, err := os.Stat(e.op.Log)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("operator log: %d KiB", info.Size()>>10)
		if info.Size() > 20<<20 {
			t.Errorf("operator log is %d MiB after a hook wrote 100 MB", info.Size()>>20)
		}
	})
}

// The hook temp directory (--tmp-dir) on a full file system: hook runs
// fail with an error naming the directory and ENOSPC, nothing is applied,
// and once space is freed the retries succeed and the module converges.
func TestFaultTmpDirFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hooks-tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a 2 MiB tmpfs is not permitted here (%v: %s); the disk-full case needs it", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	e := newEnv(t, faultBundle("disk"), append([]string{"--tmp-dir", dir}, fastRetry...)...)
	e.start()
	waitDisk := func(timeout time.Duration, message, upper string) {
		t.Helper()
		e.eventually(timeout, func() string {
			if got := e.configMapData(e.ns, "disk"); got["message"] != message || got["upper"] != upper {
				return fmt.Sprintf("disk ConfigMap %v, want message %q upper %q", got, message, upper)
			}
			return ""
		})
	}
	waitDisk(10*time.Second, "hello", "HELLO")

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	e.setConfig(map[string]string{"disk": "message: full\n"})
	e.op.WaitLog(t, "no space left on device", 15*time.Second)
	line := grep(e.op.Logs(), "no space left on device")
	t.Logf("hook error on a full temp dir: %s", strings.SplitN(line, "\n", 2)[0])
	for _, want := range []string{"010-disk/hooks/upper.sh", dir} {
		if !strings.Contains(line, want) {
			t.Errorf("the error does not name %s:\n%s", want, line)
		}
	}
	time.Sleep(2 * time.Second) // a retry or two
	waitDisk(time.Second, "hello", "HELLO")
	e.alive()

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitDisk(15*time.Second, "full", "FULL")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("hook run files left in the temp dir: %v", entries)
	}
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// setHelmStatus rewrites the status of a release's last revision in Helm's
// storage, as an interrupted `helm upgrade` of someone else leaves it.
func (e *env) setHelmStatus(name string, status release.Status) int {
	e.t.Helper()
	store := driver.NewSecrets(e.client.CoreV1().Secrets(e.ns))
	rev, _ := e.revision(name)
	key := fmt.Sprintf("sh.helm.release.v1.%s.v%d", name, rev)
	rel, err := store.Get(key)
	if err != nil {
		e.t.Fatal(err)
	}
	rel.Info.Status = status
	if err := store.Update(key, rel); err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// A release whose last revision someone else left pending-upgrade or
// pending-install (Helm then refuses every operation with "another
// operation is in progress") is recovered by the operator: the stuck
// revision is marked failed (Helm later marks it superseded) and a new one
// deployed, at the module's next converge, at start, and by itself once
// the revision has been pending for longer than --helm-timeout (plus 10 s).
func TestFaultPendingReleaseRecovered(t *testing.T) {
	e := newEnv(t, faultBundle("watch"), append([]string{"--helm-timeout", "3s"}, fastRetry...)...)
	e.start()
	e.waitWatcher(20*time.Second, "hello")

	t.Run("pending-upgrade while running: recovered at the next change", func(t *testing.T) {
		stuck := e.setHelmStatus("watcher", release.StatusPendingUpgrade)
		e.setConfig(map[string]string{"watcher": "message: after-pending\n"})
		e.waitWatcher(20*time.Second, "after-pending")
		e.waitHistory("watcher")
		if rev, _ := e.revision("watcher"); rev != stuck+1 {
			t.Errorf("watcher revision %d, want %d: one new revision after the stuck one", rev, stuck+1)
		}
		if !strings.Contains(grep(e.op.Logs(), "result=recovered"), "release=watcher") {
			t.Errorf("the operator did not report recovering watcher:\n%s", e.op.Tail(20))
		}
	})

	t.Run("pending-upgrade while nothing happens: recovered after the timeout", func(t *testing.T) {
		stuck := e.setHelmStatus("steady", release.StatusPendingUpgrade)
		e.eventually(60*time.Second, func() string {
			if rev, status := e.revision("steady"); rev != stuck+1 || status != "deployed" {
				return fmt.Sprintf("steady at revision %d %s, want %d deployed", rev, status, stuck+1)
			}
			return ""
		})
		if !strings.Contains(grep(e.op.Logs(), "still pending"), "release=steady") {
			t.Errorf("the operator did not report the pending revision:\n%s", e.op.Tail(20))
		}
	})

	t.Run("pending-install at start: recovered", func(t *testing.T) {
		e.op.Stop(t)
		stuck := e.setHelmStatus("steady", release.StatusPendingInstall)
		e.start()
		e.waitHistory("steady")
		if rev, _ := e.revision("steady"); rev != stuck+1 {
			t.Errorf("steady revision %d, want %d: one new revision after the stuck one", rev, stuck+1)
		}
		if !strings.Contains(grep(e.op.Logs(), "result=recovered"), "release=steady") {
			t.Errorf("the operator did not report recovering steady:\n%s", e.op.Tail(20))
		}
		if e.configMapData(e.ns, "steady") == nil {
			t.Errorf("the steady ConfigMap is missing")
		}
	})
	if strings.Contains(e.op.Logs(), "another operation") {
		t.Errorf("Helm refused an operation:\n%s", grep(e.op.Logs(), "another operation"))
	}
}
