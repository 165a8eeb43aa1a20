package bench

import (
	"testing"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// Micro-benchmarks of the values work the converge loop does for a section
// before every hook run and every render, on the shipped bundle's sections
// (pkg/values has no benchmarks of its own): merge static and config
// values, fill schema defaults, parse and apply the hooks' values patches,
// checksum the result. They need no cluster.

// discoveryPatch is what the shipped bundle's discovery hooks write for
// the global section, as one patch file.
const discoveryPatch = `[{"op":"add","path":"/global/discovery/cloudProvider","value":"aws"},{"op":"add","path":"/global/discovery/nodeCount","value":3}]
[{"op":"add","path":"/global/discovery/ingressNodes","value":{"names":["node-a","node-b"],"count":2}}]
[{"op":"add","path":"/global/discovery/kubernetesVersion","value":"1.34"}]
[{"op":"add","path":"/global/discovery/defaultStorageClass","value":"standard"}]
`

// ingressPatch is a module hook's patch of the ingressNginx section.
const ingressPatch = `[{"op":"add","path":"/ingressNginx/internal/bench","value":{"replicas":2,"nodes":["node-a","node-b"]}}]`

// section is one values section of the shipped bundle with what the
// converge loop layers on it.
type section struct {
	key    string
	static values.Values // bundle values.yaml, then the module's own
	config values.Values // the ConfigMap's section
	schema schema.Set
	patch  []byte // the hooks' patch file
}

func shippedSections(b *testing.B) []section {
	b.Helper()
	bun, err := module.Load(module.DefaultPaths("../.."), nil)
	if err != nil {
		b.Fatal(err)
	}
	m := bun.Module("ingress-nginx")
	if m == nil {
		b.Fatal("the shipped bundle has no ingress-nginx module")
	}
	cfg, err := values.FromYAML([]byte("ingressClass: {name: bench}\nreplicas: 2\nservice: {type: NodePort}\n"))
	if err != nil {
		b.Fatal(err)
	}
	return []section{
		{key: values.GlobalKey, static: bun.Values.Section(values.GlobalKey), config: values.Values{"clusterDomain": "bench.local"}, schema: bun.GlobalSchema, patch: []byte(discoveryPatch)},
		{key: m.ValuesKey, static: values.Merge(bun.Values.Section(m.ValuesKey), m.Values), config: cfg, schema: m.Schema, patch: []byte(ingressPatch)},
	}
}

// effective is a section's values as hooks and charts see them, layered
// as the converger layers them.
func (s section) effective(p values.Patch) values.Values {
	return values.Layers{
		Bundle:   s.static,
		Config:   s.config,
		Defaults: func(v values.Values) values.Values { return values.Values(s.schema.ValuesDefaults(v)) },
		Patches:  p,
	}.Effective()
}

// BenchmarkValues: each step for the global and the ingressNginx section;
// step=effective is all of them together (merge, defaults, parse and apply
// the patch, checksum), what one hook run or render costs in values work.
func BenchmarkValues(b *testing.B) {
	for _, s := range shippedSections(b) {
		p, err := values.ParsePatch(s.patch)
		if err != nil {
			b.Fatal(err)
		}
		merged := values.Merge(s.static, s.config)
		full := s.effective(p)
		steps := []struct {
			name string
			run  func()
		}{
			{"merge", func() { values.Merge(s.static, s.config) }},
			{"defaults", func() { s.schema.ValuesDefaults(merged) }},
			{"parse-patch", func() {
				if _, err := values.ParsePatch(s.patch); err != nil {
					b.Fatal(err)
				}
			}},
			{"apply-patch", func() {
				if _, err := (values.Values{s.key: map[string]any(merged)}).Apply(p); err != nil {
					b.Fatal(err)
				}
			}},
			{"checksum", func() { _ = full.Checksum() }},
			{"effective", func() {
				p, err := values.ParsePatch(s.patch)
				if err != nil {
					b.Fatal(err)
				}
				_ = s.effective(p).Checksum()
			}},
		}
		for _, step := range steps {
			b.Run("section="+s.key+"/step="+step.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					step.run()
				}
			})
		}
	}
}
