package debug

import (
	"cmp"
	"flag"
	"os"
	"path/filepath"
)

// SocketEnv is the environment variable that sets the socket path for both
// the operator and the CLI.
const SocketEnv = "ADDON_OPERATOR_DEBUG_SOCKET"

// PeerSocketEnv is flant/addon-operator's name for the same path; SocketEnv
// wins when both are set.
const PeerSocketEnv = "DEBUG_UNIX_SOCKET"

// Config is where the debug socket is.
type Config struct {
	// Socket is the unix socket's path. Empty disables the server.
	Socket string
}

// DefaultSocket is $ADDON_OPERATOR_DEBUG_SOCKET, else $DEBUG_UNIX_SOCKET, else
// $XDG_RUNTIME_DIR/addon-operator/debug.socket when XDG_RUNTIME_DIR is set,
// else $TMPDIR/addon-operator-debug/debug.socket. Its directory is the
// socket's own (the server creates it with mode 0700), not the hooks'
// temporary directory ($TMPDIR/addon-operator) that every hook is given. The operator and the CLI use the same
// default, so a CLI run in the operator's container finds the operator
// without flags.
func DefaultSocket() string {
	if v := cmp.Or(os.Getenv(SocketEnv), os.Getenv(PeerSocketEnv)); v != "" {
		return v
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "addon-operator", "debug.socket")
	}
	return filepath.Join(os.TempDir(), "addon-operator-debug", "debug.socket")
}

// BindFlags registers --debug-socket, defaulting to DefaultSocket.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Socket, "debug-socket", DefaultSocket(), "unix socket of the debug API used by the module, global, queue, hook and release commands; empty disables it (env "+SocketEnv+", then the peer's "+PeerSocketEnv+")")
}
