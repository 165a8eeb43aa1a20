package hook

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/seedops/addon-operator/test/poll"
)

// At start the run directories a killed operator left (with the values and
// secrets they hold) are removed; what else is in the temp directory (a
// shared /tmp), directories of runs in progress and symlinks are kept.
func TestRemoveLeftovers(t *testing.T) {
	tmp := t.TempDir()
	outside := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Left by a killed run: nothing holds their locks.
	write(filepath.Join(tmp, "run-0123456789abcdef-4711", "config_values.json"), `{"demo":{"password":"s3cret"}}`)
	write(filepath.Join(tmp, "run-fedcba9876543210-1", "sub", "values.json"), `{}`)
	// Not ours.
	write(filepath.Join(tmp, "run-mine", "keep"), "x")
	write(filepath.Join(tmp, "run-0123456789abcdef-99"), "a file, not a run directory")
	write(filepath.Join(tmp, "debug.socket"), "")
	write(filepath.Join(tmp, "xrun-0123456789abcdef-5", "keep"), "x")
	write(filepath.Join(outside, "keep"), "x")
	if err := os.Symlink(outside, filepath.Join(tmp, "run-0123456789abcdef-6")); err != nil {
		t.Fatal(err)
	}

	r := NewRunner(Config{TmpDir: tmp}, slog.New(slog.DiscardHandler))
	running, err := newRunFiles(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer running.remove()
	if err := running.writeInputs(Input{}); err != nil {
		t.Fatal(err)
	}

	n, err := r.RemoveLeftovers()
	if err != nil || n != 2 {
		t.Fatalf("RemoveLeftovers = %d, %v; want 2 removed", n, err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"debug.socket", filepath.Base(running.dir), "run-0123456789abcdef-6", "run-0123456789abcdef-99", "run-mine", "xrun-0123456789abcdef-5"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the temp directory holds %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("the symlink's target lost its file: %v", err)
	}
	if _, err := os.Stat(running.paths[envValues]); err != nil {
		t.Errorf("the run in progress lost its input: %v", err)
	}
}

// A missing temp directory holds nothing to remove, and a finished run
// leaves nothing behind.
func TestRemoveLeftoversThenRun(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "not-yet")
	r := NewRunner(Config{Timeout: time.Minute, TmpDir: tmp}, slog.New(slog.DiscardHandler))
	if n, err := r.RemoveLeftovers(); n != 0 || err != nil {
		t.Fatalf("RemoveLeftovers of a missing directory = %d, %v", n, err)
	}
	path := script(t, t.TempDir(), "hook.sh", `echo '[{"op":"add","path":"/demo/a","value":1}]' > "$VALUES_JSON_PATCH_PATH"`)
	out, err := r.Run(context.Background(), moduleHook(path), Input{})
	if err != nil || len(out.ValuesPatch) != 1 {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	if n, err := r.RemoveLeftovers(); n != 0 || err != nil {
		t.Fatalf("RemoveLeftovers after a clean run = %d, %v", n, err)
	}
}

// The run directory of another live process sharing the temp directory is
// kept; once that process is SIGKILLed its lock is gone and the directory
// is a leftover. flock(1) stands in for the other operator.
func TestRemoveLeftoversOfAKilledProcess(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) (util-linux) not installed")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "run-0123456789abcdef-42")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(t.TempDir(), "ready")
	other := exec.Command("flock", "--close", dir, "sh", "-c", `touch "$0"; exec sleep 600`, ready)
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-other.Process.Pid, syscall.SIGKILL) }()
	poll.True(t, 10*time.Millisecond, 10*time.Second, "the other process to lock its run directory", func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})

	r := NewRunner(Config{TmpDir: tmp}, slog.New(slog.DiscardHandler))
	if n, err := r.RemoveLeftovers(); n != 0 || err != nil {
		t.Fatalf("RemoveLeftovers with the other process alive = %d, %v; want 0", n, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the live process's run directory is gone: %v", err)
	}
	_ = other.Process.Kill()
	_ = other.Wait()
	if n, err := r.RemoveLeftovers(); n != 1 || err != nil {
		t.Fatalf("RemoveLeftovers after the other process was killed = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the killed process's run directory is still there: %v", err)
	}
}
