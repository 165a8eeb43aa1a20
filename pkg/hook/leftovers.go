package hook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"golang.org/x/sys/unix"
)

// runDirName matches the names newRunFiles gives run directories
// ("run-<16 hex digits>-<digits>") and nothing else, so that removing
// leftovers from a shared --tmp-dir (/tmp) touches no one else's files.
var runDirName = regexp.MustCompile(`^run-[0-9a-f]{16}-[0-9]+$`)

// errRunDirInUse: a live run holds the directory's lock.
var errRunDirInUse = errors.New("run directory in use")

// RemoveLeftovers deletes the run directories in the temp directory that
// no run holds: those of runs cut short when an operator process was
// killed, whose input files hold values and secrets. Only directories named
// as the runner names them are considered; a run in progress, of this or
// another process sharing the directory, holds a lock on its directory
// (released by the kernel when its process dies) and is left alone. It
// returns how many directories it removed and the errors of those it could
// not remove. A temp directory that does not exist holds nothing. The
// operator calls it once at start, before any hook runs; it is safe to call
// concurrently with runs.
func (r *Runner) RemoveLeftovers() (int, error) {
	entries, err := os.ReadDir(r.cfg.TmpDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list hook tmp dir: %w", err)
	}
	var errs []error
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !runDirName.MatchString(e.Name()) {
			continue
		}
		switch err := removeUnlocked(filepath.Join(r.cfg.TmpDir, e.Name())); {
		case err == nil:
			removed++
		case !errors.Is(err, errRunDirInUse):
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeUnlocked removes the run directory dir unless a run holds its
// lock; it keeps the lock while it removes, so that no run can take it.
func removeUnlocked(dir string) error {
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open hook run dir: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return errRunDirInUse
		}
		return fmt.Errorf("lock hook run dir %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove hook run dir: %w", err)
	}
	return nil
}

// lockRunDir takes the lock of a run directory the caller just made. It
// fails when RemoveLeftovers of another process removed the directory in
// between (the directory at the path is then not the one locked).
func lockRunDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	locked, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if now, err := os.Lstat(dir); err != nil || !os.SameFile(locked, now) {
		f.Close()
		return nil, fmt.Errorf("%s was removed while it was being locked", dir)
	}
	return f, nil
}
