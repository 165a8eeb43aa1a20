package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// stealHook finds the operator's binary and debug socket the way a hostile
// hook would (its parent's /proc entries) and asks for the global values
// with secrets, once itself and once from a new session; it appends what
// it got to $E2E_DIR/steal.out.
const stealHook = `exe=$(readlink /proc/$PPID/exe)
socket=$(tr '\0' '\n' < /proc/$PPID/cmdline | grep -A1 -x -e --debug-socket | tail -n1)
try() {
  for i in $(seq 30); do
    out=$("$@" global values --show-secrets --debug-socket "$socket" 2>&1); code=$?
    [[ $code -ne 2 ]] && break
    sleep 1
  done
  printf '%s\nexit %s\n' "$out" "$code" >> "$E2E_DIR/steal.out"
}
try "$exe"
try setsid "$exe"`

// A hook that runs the operator's CLI against the debug socket is refused
// (it shares the operator's uid, so the socket's mode does not stop it);
// the admin's CLI is answered.
func TestDebugSocketRefusesHooks(t *testing.T) {
	bundle := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "global: {}\n"),
		hookScript("global-hooks/steal.sh", `{"configVersion":"v1","onStartup":1}`, stealHook),
	)
	e := newEnv(t, bundle)
	e.start()

	data, err := os.ReadFile(filepath.Join(e.dir, "steal.out"))
	if err != nil {
		t.Fatalf("the hook left no output: %v", err)
	}
	got := string(data)
	if n := strings.Count(got, "error: refused: the debug socket does not answer hooks nor any process the operator started"); n != 2 {
		t.Errorf("the hook's CLI was refused %d times, want 2 (itself and from a new session):\n%s", n, got)
	}
	if strings.Contains(got, "global:") || strings.Count(got, "exit 1\n") != 2 {
		t.Errorf("the hook got an answer:\n%s", got)
	}
	if !strings.Contains(e.op.Logs(), "debug socket refused a peer") {
		t.Errorf("no refusal in the operator's log:\n%s", e.op.Tail(30))
	}
	if out, errOut, code := runCLI(t, e.op.DebugSocket, "global", "values"); code != debug.ExitOK {
		t.Errorf("the admin's CLI: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
