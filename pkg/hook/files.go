package hook

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/deckhouse/deckhouse/pkg/metrics-storage/operation"
	sdkpkg "github.com/deckhouse/module-sdk/pkg"
	sohook "github.com/flant/shell-operator/pkg/hook"
	"github.com/flant/shell-operator/pkg/kube/object_patch"

	"github.com/seedops/addon-operator/pkg/values"
)

// Output is what a successful hook run asks for.
type Output struct {
	// ValuesPatch and ConfigValuesPatch are rooted at the hook's values key.
	ValuesPatch       values.Patch
	ConfigValuesPatch values.Patch
	// KubernetesOperations are KUBERNETES_PATCH_PATH operations, for
	// shell-operator's object patcher.
	KubernetesOperations []sdkpkg.PatchCollectorOperation
	// Metrics are METRICS_PATH operations.
	Metrics []operation.MetricOperation
	// Usage is the resource usage of the run's process; unlike the fields
	// above it is also set when the run failed, and nil when no process
	// was waited for.
	Usage *Usage
}

// Protocol environment variables.
const (
	envBindingContext    = "BINDING_CONTEXT_PATH"
	envValues            = "VALUES_PATH"
	envConfigValues      = "CONFIG_VALUES_PATH"
	envValuesPatch       = "VALUES_JSON_PATCH_PATH"
	envConfigValuesPatch = "CONFIG_VALUES_JSON_PATCH_PATH"
	envKubernetesPatch   = "KUBERNETES_PATCH_PATH"
	envMetrics           = "METRICS_PATH"
)

type runFiles struct {
	dir   string
	lock  *os.File // holds the run directory's lock until remove
	paths map[string]string
}

// newRunFiles makes a run directory (named as runDirName matches) and
// locks it for the run, so that RemoveLeftovers of any process leaves it
// alone.
func newRunFiles(tmpDir string) (*runFiles, error) {
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("create hook tmp dir: %w", err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	dir, err := os.MkdirTemp(tmpDir, "run-"+hex.EncodeToString(id)+"-")
	if err != nil {
		return nil, fmt.Errorf("create hook run dir: %w", err)
	}
	lock, err := lockRunDir(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("create hook run dir: %w", err)
	}
	f := &runFiles{dir: dir, lock: lock, paths: map[string]string{}}
	for env, name := range map[string]string{
		envBindingContext:    "binding_context.json",
		envValues:            "values.json",
		envConfigValues:      "config_values.json",
		envValuesPatch:       "values_patch.json",
		envConfigValuesPatch: "config_values_patch.json",
		envKubernetesPatch:   "kubernetes_patch.json",
		envMetrics:           "metrics.json",
	} {
		f.paths[env] = filepath.Join(dir, name)
	}
	return f, nil
}

func (f *runFiles) env() []string {
	out := make([]string, 0, len(f.paths))
	for k, v := range f.paths {
		out = append(out, k+"="+v)
	}
	return out
}

func (f *runFiles) remove() {
	_ = os.RemoveAll(f.dir)
	_ = f.lock.Close()
}

func (f *runFiles) writeInputs(in Input) error {
	contexts := in.Contexts
	if len(contexts) == 0 {
		contexts = []byte("[]")
	}
	writes := map[string][]byte{
		envBindingContext:    contexts,
		envValues:            in.Values.JSON(),
		envConfigValues:      in.ConfigValues.JSON(),
		envValuesPatch:       nil,
		envConfigValuesPatch: nil,
		envKubernetesPatch:   nil,
		envMetrics:           nil,
	}
	for env, data := range writes {
		if err := os.WriteFile(f.paths[env], data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", env, err)
		}
	}
	return nil
}

// readOutputs parses every result file; the first unusable one fails the
// whole run so that nothing is half-applied.
func (f *runFiles) readOutputs(h *Hook, limit int64) (Output, error) {
	var out Output
	var err error
	read := func(env string) ([]byte, error) {
		data, err := readResult(f.paths[env], env, limit)
		return bytes.TrimSpace(data), err
	}
	for _, p := range []struct {
		env string
		dst *values.Patch
	}{{envValuesPatch, &out.ValuesPatch}, {envConfigValuesPatch, &out.ConfigValuesPatch}} {
		data, err := read(p.env)
		if err != nil {
			return Output{}, err
		}
		patch, err := values.ParsePatch(data)
		if err != nil {
			return Output{}, fmt.Errorf("%w: %s: %w", ErrBadOutput, p.env, err)
		}
		for i, op := range patch {
			if !withinKey(op, h.ValuesKey) {
				return Output{}, fmt.Errorf("%w: %s: operation %d (%s): a %s hook may only patch /%s/… and copy or move only from there", ErrBadOutput, p.env, i, describe(op), hookKind(h), h.ValuesKey)
			}
		}
		*p.dst = patch
	}

	data, err := read(envKubernetesPatch)
	if err != nil {
		return Output{}, err
	}
	if len(data) > 0 {
		out.KubernetesOperations, err = object_patch.ParseOperations(data)
		if err != nil {
			return Output{}, fmt.Errorf("%w: %s: %s", ErrBadOutput, envKubernetesPatch, flatten(err))
		}
	}

	data, err = read(envMetrics)
	if err != nil {
		return Output{}, err
	}
	if len(data) > 0 {
		out.Metrics, err = parseMetrics(data)
		if err != nil {
			return Output{}, fmt.Errorf("%w: %s: %w", ErrBadOutput, envMetrics, err)
		}
	}
	return out, nil
}

// withinKey reports whether op reads and writes only the section of the
// values key: its path, and for copy and move also the path it takes the
// value from, as copying from another section would let a hook disclose
// that section (another module's secret copied into a plain field).
func withinKey(op values.Operation, key string) bool {
	if op.Root() != key {
		return false
	}
	if op.Op == "copy" || op.Op == "move" {
		return values.Operation{Path: op.From}.Root() == key
	}
	return true
}

// describe names an operation in errors: "add /a/b", "copy /a/b from /c".
func describe(op values.Operation) string {
	if op.From != "" {
		return op.Op + " " + op.Path + " from " + op.From
	}
	return op.Op + " " + op.Path
}

// readResult reads a file a hook run wrote; name is how the hook knows it
// (VALUES_JSON_PATCH_PATH). A missing file is empty. It reads at most
// limit+1 bytes, so a hook cannot make the operator hold a file of any
// size, and refuses a file larger than limit or not a regular file (a
// FIFO or a device would never end). Errors wrap ErrBadOutput.
func readResult(path, name string, limit int64) ([]byte, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrBadOutput, name, err)
	}
	defer file.Close()
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadOutput, name)
	}
	return readLimited(file, name, limit)
}

// readLimited reads r to its end, taking no more than limit+1 bytes from
// it, and refuses more than limit.
func readLimited(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrBadOutput, name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than the limit of %s bytes (--hook-file-limit)", ErrBadOutput, name, sizeString(limit))
	}
	return data, nil
}

func hookKind(h *Hook) string {
	if h.Global() {
		return "global"
	}
	return "module"
}

// parseMetrics reads shell-operator metric operations (JSON lines) into
// metrics-storage operations.
func parseMetrics(data []byte) ([]operation.MetricOperation, error) {
	ops, err := sohook.MetricOperationsFromBytes(data, "")
	if err != nil {
		return nil, fmt.Errorf("not JSON lines of metric operations: %v", err)
	}
	if err := sohook.ValidateOperations(ops); err != nil {
		return nil, errors.New(flatten(err))
	}
	out := make([]operation.MetricOperation, 0, len(ops))
	for _, op := range ops {
		m := operation.MetricOperation{Name: op.Name, Value: op.Value, Buckets: op.Buckets, Labels: op.Labels, Group: op.Group}
		switch op.Action {
		case "add":
			m.Action = operation.ActionCounterAdd
		case "set":
			m.Action = operation.ActionGaugeSet
		case "observe":
			m.Action = operation.ActionHistogramObserve
		case "expire":
			m.Action = operation.ActionExpireMetrics
		}
		out = append(out, m)
	}
	return out, nil
}
