package debug_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/hook"
)

// cliProcessEnv makes TestCLIProcess run the CLI with the arguments after
// "--": the test binary then stands for `addon-operator` run as a separate
// process (by a hook, or by an admin in the pod).
const cliProcessEnv = "DEBUG_TEST_CLI_PROCESS"

func TestCLIProcess(t *testing.T) {
	if os.Getenv(cliProcessEnv) != "1" {
		t.Skip("runs only as the CLI process of TestSocketPeers")
	}
	i := slices.Index(os.Args, "--")
	os.Exit(debug.RunCLI(os.Args[i+1:], os.Stdout, os.Stderr))
}

// cliCommand is the CLI as a separate process: `module list` on socket.
func cliCommand(t *testing.T, socket string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestCLIProcess$", "--", "module", "list", "--debug-socket", socket)
	cmd.Env = append(os.Environ(), cliProcessEnv+"=1")
	return cmd
}

// selfPeer is how the server names this test process in approvals.
func selfPeer() string {
	p := fmt.Sprintf("uid %d pid %d", os.Getuid(), os.Getpid())
	if u, err := user.LookupId(fmt.Sprint(os.Getuid())); err == nil {
		p = fmt.Sprintf("%s (uid %d) pid %d", u.Username, os.Getuid(), os.Getpid())
	}
	return p + " over the debug socket"
}

// groups is a fixed set of hook process groups.
type groups []int

func (g groups) RunsGroup(pgid int) bool { return slices.Contains(g, pgid) }

// startPeerServer runs a leading server with opts until the test ends.
func startPeerServer(t *testing.T, opts ...debug.Option) string {
	t.Helper()
	src := newFixture(t).sources()
	_, socket := startServer(t, &src, opts...)
	return socket
}

// startStandIn starts a process that stands for the operator, or a hook,
// in its own process group, and returns its pid.
func startStandIn(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

// TestSocketPeers: a hook, or any process it starts, is refused by the
// debug socket (it could approve releases and read secrets); the CLI run by
// someone else is answered.
func TestSocketPeers(t *testing.T) {
	const refusedByGroup = "error: refused: the debug socket does not answer hooks nor any process the operator started: pid %d is in the process group of a running hook\n"

	t.Run("a hook run by the Runner", func(t *testing.T) {
		runner := hook.NewRunner(hook.Config{Timeout: time.Minute, TmpDir: t.TempDir()}, slog.New(slog.DiscardHandler))
		// The test process is the operator: the hook is refused as its
		// descendant and as a running hook's process group; with another
		// process posing as the operator, by the group alone.
		for _, opts := range [][]debug.Option{
			{debug.WithHookGroups(runner)},
			{debug.WithHookGroups(runner), debug.WithOperatorPID(startStandIn(t))},
		} {
			socket := startPeerServer(t, opts...)
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			script := filepath.Join(t.TempDir(), "steal.sh")
			body := fmt.Sprintf("#!/bin/sh\n%s=1 exec '%s' -test.run='^TestCLIProcess$' -- release approve v1.2.0 --debug-socket '%s'\n", cliProcessEnv, exe, socket)
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := runner.Config(context.Background(), "steal", script)
			if err == nil {
				t.Fatalf("the hook's CLI was answered:\n%s", out)
			}
			if !strings.Contains(err.Error(), "error: refused: the debug socket does not answer hooks") {
				t.Errorf("hook error = %v, want the CLI's refusal in it", err)
			}
		}
	})

	t.Run("a child of the operator that left the hook's group", func(t *testing.T) {
		socket := startPeerServer(t)
		cmd := cliCommand(t, socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "descends from the operator (pid "+fmt.Sprint(os.Getpid())+")") {
			t.Errorf("CLI answered (err %v):\n%s", err, out)
		}
	})

	t.Run("a process put in a hook's group, not started by the operator", func(t *testing.T) {
		hookPID := startStandIn(t)
		socket := startPeerServer(t, debug.WithHookGroups(groups{hookPID}), debug.WithOperatorPID(startStandIn(t)))
		cmd := cliCommand(t, socket)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: hookPID}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err == nil || stderr.String() != fmt.Sprintf(refusedByGroup, cmd.Process.Pid) {
			t.Errorf("CLI answered (err %v): stdout %q, stderr %q", err, stdout.String(), stderr.String())
		}
	})

	t.Run("the CLI of an admin", func(t *testing.T) {
		// Not a descendant of the operator (another process poses as it),
		// in no hook's group: as `kubectl exec … addon-operator module list`.
		standIn := startStandIn(t)
		socket := startPeerServer(t, debug.WithHookGroups(groups{standIn}), debug.WithOperatorPID(standIn))
		out, err := cliCommand(t, socket).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "NAME") {
			t.Errorf("CLI refused (err %v):\n%s", err, out)
		}
	})
}
