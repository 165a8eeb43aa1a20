package bundle_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// hostTools are the only programs the shipped hooks may take from the
// machine: bash and coreutils, what a fresh machine with Go, make, git and
// bash has. Everything else comes from the repository's bin/ (`make tools`:
// gojq as jq, kubectl) or from the operator binary (ADDON_OPERATOR_BIN).
var hostTools = []string{
	"bash", "env", "cat", "dirname", "basename", "head", "tail", "tr", "cut", "sort", "uniq", "wc",
	"date", "mktemp", "rm", "mkdir", "cp", "mv", "ls", "printf", "echo", "sleep", "base64",
	"sha256sum", "tee", "true", "false", "test", "seq", "od",
}

// hiddenTools are what a fresh machine lacks and the hooks must not need:
// the apt packages the tests once installed.
var hiddenTools = []string{"jq", "openssl", "shellcheck", "docker-registry"}

// hookTools is what every hook run of these tests gets: a directory of
// symlinks to hostTools and a freshly built operator binary. Built once per
// package run; TestMain removes it.
var hookTools struct {
	once     sync.Once
	dir      string // hostTools' symlinks in host/, the operator in op/
	operator string
	err      error
}

// hookPATH is the PATH hooks run with in these tests: the symlinks to
// hostTools, then the repository's bin/. The machine's PATH is not part of
// it, so a hook that calls jq gets bin/jq (gojq) even where the machine has
// jq, and one that calls openssl fails.
func hookPATH(t *testing.T) string {
	t.Helper()
	buildHookTools(t)
	return filepath.Join(hookTools.dir, "host") + string(os.PathListSeparator) + filepath.Join(root(t), "bin")
}

// operatorBinary is the operator built from this checkout, for hooks that
// call its helper subcommands through ADDON_OPERATOR_BIN as the operator
// sets it.
func operatorBinary(t *testing.T) string {
	t.Helper()
	buildHookTools(t)
	return hookTools.operator
}

func buildHookTools(t *testing.T) {
	t.Helper()
	hookTools.once.Do(func() {
		hookTools.dir, hookTools.err = os.MkdirTemp("", "bundle-hook-tools")
		if hookTools.err == nil {
			hookTools.err = linkHostTools(filepath.Join(hookTools.dir, "host"))
		}
		if hookTools.err == nil {
			hookTools.operator = filepath.Join(hookTools.dir, "op", "addon-operator")
			cmd := exec.Command("go", "build", "-o", hookTools.operator, "./cmd/addon-operator")
			cmd.Dir = root(t)
			if out, err := cmd.CombinedOutput(); err != nil {
				hookTools.err = fmt.Errorf("build the operator: %w\n%s", err, out)
			}
		}
	})
	if hookTools.err != nil {
		t.Fatalf("prepare the hooks' tools: %v", hookTools.err)
	}
}

// linkHostTools makes dir hold a symlink to each of hostTools found on the
// test's PATH. bash must be there; a missing coreutils program is left out
// (a hook calling it then fails, naming it).
func linkHostTools(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range hostTools {
		target, err := exec.LookPath(name)
		if errors.Is(err, exec.ErrNotFound) && name != "bash" {
			continue
		}
		if err != nil {
			return fmt.Errorf("find %s on PATH: %w", name, err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func removeHookTools() {
	if hookTools.dir != "" {
		os.RemoveAll(hookTools.dir)
	}
}

// lookPathIn is exec.LookPath over the directories of pathList instead of
// the test's own PATH: "" when name is in none of them.
func lookPathIn(pathList, name string) string {
	for _, dir := range filepath.SplitList(pathList) {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// TestHooksNeedOnlyBashCoreutilsAndBin is the acceptance test of "make test
// on a fresh machine": every shipped hook test of this package runs with
// hookPATH, and this test checks what that PATH offers. jq resolves to
// bin/jq, which is gojq (`make tools`); openssl, shellcheck and Debian's
// docker-registry resolve nowhere, even on a machine that has them.
func TestHooksNeedOnlyBashCoreutilsAndBin(t *testing.T) {
	pathList := hookPATH(t)
	bin := filepath.Join(root(t), "bin")
	for _, name := range hiddenTools {
		got := lookPathIn(pathList, name)
		switch {
		case name == "jq" && got != filepath.Join(bin, "jq"):
			t.Errorf("jq on the hooks' PATH is %q, want %s (run `make tools`)", got, filepath.Join(bin, "jq"))
		case name != "jq" && got != "":
			t.Errorf("%s is on the hooks' PATH (%s): hooks must not depend on it", name, got)
		}
	}
	cmd := exec.Command(lookPathIn(pathList, "bash"), "-c", "jq --version")
	cmd.Env = []string{"PATH=" + pathList}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq --version with the hooks' PATH: %v", err)
	}
	if !strings.HasPrefix(string(out), "gojq ") {
		t.Errorf("jq --version = %q, want gojq's", out)
	}
}
