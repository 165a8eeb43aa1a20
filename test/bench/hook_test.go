package bench

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// Micro-benchmarks that explain the operator figures: what starting a bash
// hook costs by itself, what the operator's hook runner adds, and what one
// module hook (bash + jq) of the benchmark bundle costs. They need no
// cluster.

// firstLine is a hook whose first line prints $EPOCHREALTIME, started the
// way hooks of the benchmark bundle are (#!/usr/bin/env bash).
const firstLine = "#!/usr/bin/env bash\necho \"$EPOCHREALTIME\" > \"${START_FILE:-/dev/stdout}\"\n"

// BenchmarkBashStart: fork/exec of a `#!/usr/bin/env bash` script from Go
// until it exits (ns/op), and until its first line runs (start-p50-ms):
// the floor under every hook-start latency.
func BenchmarkBashStart(b *testing.B) {
	path := filepath.Join(b.TempDir(), "hook.sh")
	if err := os.WriteFile(path, []byte(firstLine), 0o755); err != nil {
		b.Fatal(err)
	}
	var starts []float64
	for b.Loop() {
		var out bytes.Buffer
		cmd := exec.Command(path)
		cmd.Stdout = &out
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		t, err := parseEpoch(strings.TrimSpace(out.String()))
		if err != nil {
			b.Fatal(err)
		}
		starts = append(starts, ms(t.Sub(t0)))
	}
	b.ReportMetric(newStats(starts).pct(50), "start-p50-ms")
}

// BenchmarkRunnerRun: the operator's hook runner (pkg/hook Runner.Run: a
// run directory with the protocol's seven files, values as JSON, the
// process in its own group, output files read back) on the same script,
// with the benchmark bundle's global values: until Run returns (ns/op) and
// until the script's first line (start-p50-ms).
func BenchmarkRunnerRun(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(path, []byte(firstLine), 0o755); err != nil {
		b.Fatal(err)
	}
	startFile := filepath.Join(dir, "start")
	r := hook.NewRunner(hook.Config{TmpDir: filepath.Join(dir, "tmp"), Env: []string{"START_FILE=" + startFile}}, slog.New(slog.DiscardHandler))
	h := &hook.Hook{Name: "global-hooks/watch.sh", Path: path, ValuesKey: values.GlobalKey}
	in := hook.Input{Binding: "events", Contexts: []byte(`[{"binding":"events","type":"Event","watchEvent":"Added"}]`), Values: bundleValues(b), ConfigValues: values.Values{}}
	var starts []float64
	for b.Loop() {
		t0 := time.Now()
		if _, err := r.Run(context.Background(), h, in); err != nil {
			b.Fatal(err)
		}
		data, err := os.ReadFile(startFile)
		if err != nil {
			b.Fatal(err)
		}
		t, err := parseEpoch(strings.TrimSpace(string(data)))
		if err != nil {
			b.Fatal(err)
		}
		starts = append(starts, ms(t.Sub(t0)))
	}
	b.ReportMetric(newStats(starts).pct(50), "start-p50-ms")
}

// BenchmarkModuleHookRun: one run of a module's beforeHelm hook of the
// benchmark bundle (bash + one jq, values patch read back) through the
// operator's runner. A cold start runs two such hooks per module.
func BenchmarkModuleHookRun(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "bundle")
	if err := WriteBundle(dir, BundleOptions{Modules: 1}); err != nil {
		b.Fatal(err)
	}
	bun, err := module.Load(module.DefaultPaths(dir), nil)
	if err != nil {
		b.Fatal(err)
	}
	m := bun.Modules[0]
	r := hook.NewRunner(hook.Config{TmpDir: filepath.Join(b.TempDir(), "tmp")}, slog.New(slog.DiscardHandler))
	h := &hook.Hook{Name: m.Name + "/hooks/before-helm.sh", Path: filepath.Join(m.Dir, "hooks", "before-helm.sh"), Module: m.Name, ValuesKey: m.ValuesKey}
	vals := bundleValues(b)
	vals[m.ValuesKey] = map[string]any(m.Values)
	in := hook.Input{Binding: "beforeHelm", Contexts: []byte(`[{"binding":"beforeHelm"}]`), Values: vals, ConfigValues: values.Values{}}
	for b.Loop() {
		out, err := r.Run(context.Background(), h, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(out.ValuesPatch) != 1 {
			b.Fatalf("values patch %v, want one operation", out.ValuesPatch)
		}
	}
}

// bundleValues are the generated bundle's global values, as hooks get them.
func bundleValues(b *testing.B) values.Values {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "values-bundle")
	if err := WriteBundle(dir, BundleOptions{Modules: 1}); err != nil {
		b.Fatal(err)
	}
	bun, err := module.Load(module.DefaultPaths(dir), nil)
	if err != nil {
		b.Fatal(err)
	}
	return values.Values{values.GlobalKey: map[string]any(bun.Values.Section(values.GlobalKey))}
}
