package bundle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"
	htypes "github.com/flant/shell-operator/pkg/hook/types"
	kemtypes "github.com/flant/shell-operator/pkg/kube_events_manager/types"
	"github.com/seedops/addon-operator/pkg/hook"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seedops/addon-operator/pkg/values"
)

// hookInput is what one hook run reads.
type hookInput struct {
	contexts     string        // BINDING_CONTEXT_PATH content (JSON); "" is []
	values       values.Values // VALUES_PATH
	configValues values.Values // CONFIG_VALUES_PATH
	env          []string      // extra environment, e.g. "KUBECTL=..."
	pathPrefix   string        // a directory put first on PATH
}

// hookOutput is what it wrote and printed.
type hookOutput struct {
	valuesPatch       values.Patch
	configValuesPatch values.Patch
	kubernetesPatch   []byte
	stdout, stderr    string
	exitCode          int
}

// runHook runs the hook executable once with the hook protocol's files in a
// temp dir, as the operator does: a clean environment holding only PATH
// (hookPATH: bash, coreutils and bin/), ADDON_OPERATOR_BIN and the protocol
// variables. It fails the test when the result files are not valid patches.
func runHook(t *testing.T, hook string, in hookInput) hookOutput {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"BINDING_CONTEXT_PATH":          "binding_context.json",
		"VALUES_PATH":                   "values.json",
		"CONFIG_VALUES_PATH":            "config_values.json",
		"VALUES_JSON_PATCH_PATH":        "values_patch.json",
		"CONFIG_VALUES_JSON_PATCH_PATH": "config_values_patch.json",
		"KUBERNETES_PATCH_PATH":         "kubernetes_patch.json",
		"METRICS_PATH":                  "metrics.json",
	}
	contexts := in.contexts
	if contexts == "" {
		contexts = "[]"
	}
	vals, cfg := in.values, in.configValues
	if vals == nil {
		vals = values.Values{}
	}
	if cfg == nil {
		cfg = values.Values{}
	}
	content := map[string][]byte{
		"BINDING_CONTEXT_PATH": []byte(contexts),
		"VALUES_PATH":          vals.JSON(),
		"CONFIG_VALUES_PATH":   cfg.JSON(),
	}
	pathEnv := hookPATH(t)
	if in.pathPrefix != "" {
		pathEnv = in.pathPrefix + string(os.PathListSeparator) + pathEnv
	}
	env := []string{"PATH=" + pathEnv, "ADDON_OPERATOR_BIN=" + operatorBinary(t)}
	for name, file := range files {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, content[name], 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, name+"="+p)
	}
	env = append(env, in.env...)

	cmd := exec.Command(hook)
	cmd.Dir = filepath.Dir(hook)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	out := hookOutput{}
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("run %s: %v", hook, err)
		}
		out.exitCode = exitErr.ExitCode()
	}
	out.stdout, out.stderr = stdout.String(), stderr.String()

	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, files[name]))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var err error
	if out.valuesPatch, err = values.ParsePatch(read("VALUES_JSON_PATCH_PATH")); err != nil {
		t.Fatalf("%s wrote an invalid values patch: %v", hook, err)
	}
	if out.configValuesPatch, err = values.ParsePatch(read("CONFIG_VALUES_JSON_PATCH_PATH")); err != nil {
		t.Fatalf("%s wrote an invalid config values patch: %v", hook, err)
	}
	out.kubernetesPatch = read("KUBERNETES_PATCH_PATH")
	return out
}

// ops turns a patch into comparable maps (op, path, decoded value).
func ops(t *testing.T, p values.Patch) []map[string]any {
	t.Helper()
	out := []map[string]any{}
	for _, op := range p {
		m := map[string]any{"op": op.Op, "path": op.Path}
		if len(op.Value) > 0 {
			var v any
			if err := json.Unmarshal(op.Value, &v); err != nil {
				t.Fatalf("operation %s %s: value is not JSON: %v", op.Op, op.Path, err)
			}
			m["value"] = v
		}
		out = append(out, m)
	}
	return out
}

// mustApply applies a hook's patch the way the operator does (missing
// parents are created).
func mustApply(t *testing.T, v values.Values, p values.Patch) values.Values {
	t.Helper()
	out, err := v.Apply(p)
	if err != nil {
		t.Fatalf("apply patch %s: %v", p.JSON(), err)
	}
	return out
}

// encodeContexts encodes binding contexts with the operator's own encoder
// (shell-operator's v1 format), as hooks find them in BINDING_CONTEXT_PATH.
func encodeContexts(t *testing.T, contexts ...bctx.BindingContext) string {
	t.Helper()
	data, err := hook.ContextsJSON(contexts)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

type snapshots = map[string][]kemtypes.ObjectAndFilterResult

// groupContext is the context of a grouped kubernetes binding: the group's
// current snapshots, for Synchronization and Event alike.
func groupContext(group string, snaps snapshots) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: group, Snapshots: snaps}
	bc.Metadata.BindingType = htypes.OnKubernetesEvent
	bc.Metadata.Group = group
	for name := range snaps {
		bc.Metadata.IncludeSnapshots = append(bc.Metadata.IncludeSnapshots, name)
	}
	return bc
}

// lifecycleContext is the context of beforeAll, beforeHelm, ...: as the
// operator builds it, with the snapshots of all the hook's kubernetes
// bindings (nil: a hook without any).
func lifecycleContext(b hook.Binding, snaps snapshots) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: string(b), Snapshots: snaps}
	bc.Metadata.BindingType = htypes.BindingType(b)
	bc.Metadata.IncludeAllSnapshots = snaps != nil
	return bc
}

// syncContext is an ungrouped Synchronization context.
func syncContext(binding string, objects []kemtypes.ObjectAndFilterResult) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: binding, Type: kemtypes.TypeSynchronization, Objects: objects}
	bc.Metadata.BindingType = htypes.OnKubernetesEvent
	return bc
}

// eventContext is an ungrouped Event context without snapshots.
func eventContext(binding string, event kemtypes.WatchEventType, obj kemtypes.ObjectAndFilterResult) bctx.BindingContext {
	bc := bctx.BindingContext{Binding: binding, Type: kemtypes.TypeEvent, WatchEvent: event, Objects: []kemtypes.ObjectAndFilterResult{obj}}
	bc.Metadata.BindingType = htypes.OnKubernetesEvent
	bc.Metadata.JqFilter = obj.Metadata.JqFilter
	return bc
}
