package bench

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// Helm through pkg/helm, as the operator calls it, on one module chart of
// the benchmark bundle (5 objects) against the benchmark cluster: the
// per-module cost inside the cold start (install) and inside a ConfigMap
// edit (upgrade). pkg/helm's BenchmarkDeployUnchanged covers the unchanged
// case of a warm restart.

// BenchmarkHelmInstall: Deploy of a new release (render, install), after
// one install that fills the client's discovery caches. The release is
// uninstalled between iterations, off the clock (its objects have fixed
// names).
func BenchmarkHelmInstall(b *testing.B) {
	c, dir, vals := helmSetup(b, "bench-helm-install")
	ctx := context.Background()
	name := ModuleName(1)
	install := func() {
		res, err := c.Deploy(ctx, name, dir, vals)
		if err != nil {
			b.Fatal(err)
		}
		if res.Reason != helm.ReasonInstalled {
			b.Fatalf("reason %s, want installed", res.Reason)
		}
	}
	uninstall := func() {
		if err := c.Uninstall(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
	install()
	uninstall()
	for b.Loop() {
		install()
		b.StopTimer()
		uninstall()
		b.StartTimer()
	}
}

// BenchmarkHelmUpgrade: Deploy of an existing release with a changed
// setting (render, upgrade: one Deployment patched).
func BenchmarkHelmUpgrade(b *testing.B) {
	c, dir, vals := helmSetup(b, "bench-helm-upgrade")
	ctx := context.Background()
	key := ModuleKey(1)
	if _, err := c.Deploy(ctx, ModuleName(1), dir, vals); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		vals[key].(map[string]any)["setting"] = fmt.Sprintf("upgrade-%d", i)
		res, err := c.Deploy(ctx, ModuleName(1), dir, vals)
		if err != nil {
			b.Fatal(err)
		}
		if res.Reason != helm.ReasonUpgraded {
			b.Fatalf("reason %s, want upgraded", res.Reason)
		}
	}
}

// helmSetup returns a pkg/helm client for a new namespace, the chart dir of
// the bundle's first module and the values the operator would render it
// with (hook patches included).
func helmSetup(b *testing.B, ns string) (*helm.Client, string, values.Values) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "bundle")
	if err := WriteBundle(dir, BundleOptions{Modules: 1}); err != nil {
		b.Fatal(err)
	}
	bun, err := module.Load(module.DefaultPaths(dir), nil)
	if err != nil {
		b.Fatal(err)
	}
	m := bun.Modules[0]
	section := m.Values.DeepCopy()
	section["internal"] = map[string]any{"clusterSuffix": "svc.cluster.local", "image": "registry.example/addons/" + m.Name + ":1.0"}
	vals := values.Values{
		values.GlobalKey: map[string]any(bun.Values.Section(values.GlobalKey)),
		m.ValuesKey:      map[string]any(section),
	}
	ns = namespace(b, ns)
	c, err := helm.New(testCluster.Config, helm.Config{Namespace: ns}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return c, m.Dir, vals
}
