package debug

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrSocketInUse: another process answers on the socket path.
var ErrSocketInUse = errors.New("debug socket is served by another process")

// maxSocketPath is the longest path a unix socket can be bound to on Linux
// (sun_path holds 108 bytes including the terminating NUL).
const maxSocketPath = 107

// socketMode is the socket file's permission: the operator's user only.
const socketMode fs.FileMode = 0o600

// listen binds the socket at path with mode 0600 and no moment at which it
// is reachable with a wider mode: it is bound in a new private directory,
// chmod-ed, then renamed into place. A stale socket file (nobody listening)
// is replaced; a live one is ErrSocketInUse; any other file is refused.
// The returned FileInfo identifies the socket file for removal.
func listen(path string) (*net.UnixListener, fs.FileInfo, error) {
	if len(path) > maxSocketPath {
		return nil, nil, fmt.Errorf("socket path %s is %d bytes long, more than the %d a unix socket allows; choose a shorter --debug-socket", path, len(path), maxSocketPath)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, nil, err
	}
	private, err := os.MkdirTemp(dir, ".s")
	if err != nil {
		return nil, nil, fmt.Errorf("socket directory: %w", err)
	}
	defer os.RemoveAll(private)
	tmp := filepath.Join(private, "s")
	if len(tmp) > maxSocketPath {
		return nil, nil, fmt.Errorf("socket path %s is too long to be bound safely (the temporary name %s exceeds %d bytes); choose a shorter --debug-socket", path, tmp, maxSocketPath)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The listener is renamed away from tmp: removing the file is ours.
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, socketMode); err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("socket mode: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return l, info, nil
}

// removeStale removes a socket file nobody listens on.
func removeStale(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if info.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socket %s: the path exists and is not a socket; remove it or choose another --debug-socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w: %s; is another addon-operator running? choose another --debug-socket", ErrSocketInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("socket %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// removeSocket removes the socket file if it is still the one listen made.
func removeSocket(path string, made fs.FileInfo) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove socket: %w", err)
	}
	if !os.SameFile(info, made) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove socket: %w", err)
	}
	return nil
}
