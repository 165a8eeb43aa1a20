package bundle_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/hook"
)

// bundleHook is an executable the operator's loader would take for a hook.
type bundleHook struct {
	name   string // relative to the repository root
	path   string
	global bool
}

// bundleHooks finds the hooks as the operator does: executables under
// global-hooks/ and modules/*/hooks/, recursively, skipping lib/, openapi/
// and hidden entries.
func bundleHooks(t *testing.T) []bundleHook {
	t.Helper()
	var out []bundleHook
	walk := func(dir string, global bool) {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == dir {
				return nil
			}
			if d.IsDir() {
				if d.Name() == "lib" || d.Name() == "openapi" || strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
				rel, _ := filepath.Rel(root(t), p)
				out = append(out, bundleHook{name: filepath.ToSlash(rel), path: p, global: global})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk(path(t, "global-hooks"), true)
	for _, m := range modules(t) {
		walk(filepath.Join(m.dir, "hooks"), false)
	}
	return out
}

func hookConfig(t *testing.T, h bundleHook, env ...string) []byte {
	t.Helper()
	cmd := exec.Command(h.path, "--config")
	cmd.Dir = filepath.Dir(h.path)
	cmd.Env = append([]string{"PATH=" + hookPATH(t)}, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --config: %v", h.name, err)
	}
	return out
}

// TestHookConfigs runs every hook with --config and parses the output with
// the operator's own parser (global or module binding rules), with and
// without ADDON_OPERATOR_NAMESPACE, and checks each hook has the bindings
// it is documented to have.
func TestHookConfigs(t *testing.T) {
	want := map[string][]hook.Binding{
		"global-hooks/default_storage_class.sh":                                  {hook.BeforeAll, hook.Kubernetes},
		"global-hooks/ingress_nodes.sh":                                          {hook.BeforeAll, hook.Kubernetes},
		"global-hooks/kubernetes_version.sh":                                     {hook.BeforeAll, hook.Schedule},
		"global-hooks/nodes.sh":                                                  {hook.BeforeAll, hook.Kubernetes},
		"modules/020-prometheus/hooks/generate_grafana_password.sh":              {hook.BeforeHelm, hook.Kubernetes},
		"modules/020-prometheus/hooks/recreate_statefulset_on_storage_change.sh": {hook.BeforeHelm, hook.Kubernetes},
	}
	hooks := bundleHooks(t)
	var names []string
	for _, h := range hooks {
		names = append(names, h.name)
	}
	wantNames := make([]string, 0, len(want))
	for n := range want {
		wantNames = append(wantNames, n)
	}
	slices.Sort(wantNames)
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("hooks found in the bundle (-want +got):\n%s", diff)
	}

	for _, h := range hooks {
		for _, env := range [][]string{nil, {"ADDON_OPERATOR_NAMESPACE=monitoring"}} {
			t.Run(h.name+strings.Join(env, ","), func(t *testing.T) {
				out := hookConfig(t, h, env...)
				cfg, err := hook.ParseConfig(out, h.global)
				if err != nil {
					t.Fatalf("--config output refused: %v\n%s", err, out)
				}
				if diff := cmp.Diff(want[h.name], cfg.Types()); diff != "" {
					t.Errorf("binding types (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestIngressNodesBindingWatchesOnlyIngressNodes: the binding selects Nodes
// labelled dedicated=ingress and keeps only their names, so other Nodes and
// status changes never run the hook.
func TestIngressNodesBindingWatchesOnlyIngressNodes(t *testing.T) {
	out := hookConfig(t, bundleHook{name: "ingress_nodes.sh", path: path(t, "global-hooks", "ingress_nodes.sh"), global: true})
	cfg, err := hook.ParseConfig(out, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Kubernetes) != 1 {
		t.Fatalf("want one kubernetes binding, got %d", len(cfg.Kubernetes))
	}
	m := cfg.Kubernetes[0].Monitor
	if m.Kind != "Node" {
		t.Errorf("kind = %q, want Node", m.Kind)
	}
	if m.LabelSelector == nil || m.LabelSelector.MatchLabels["dedicated"] != "ingress" {
		t.Errorf("labelSelector = %+v, want matchLabels dedicated=ingress", m.LabelSelector)
	}
	if got, want := m.JqFilter, "{name: .metadata.name}"; got != want {
		t.Errorf("jqFilter = %q, want %q", got, want)
	}
}

// TestHooksPassShellcheck lints every hook and lib/ file with shellcheck
// (warnings and errors), when shellcheck is installed. It is optional: a
// fresh machine has no shellcheck, and `make tools` does not build it (it
// is Haskell, not Go).
func TestHooksPassShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed: the shipped hooks are not linted (optional; install shellcheck to lint them)")
	}
	files := []string{filepath.Join(path(t, "global-hooks"), "lib", "context.sh")}
	for _, h := range bundleHooks(t) {
		files = append(files, h.path)
	}
	cmd := exec.Command(shellcheck, append([]string{"--severity=warning", "--external-sources", "--source-path=SCRIPTDIR"}, files...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
