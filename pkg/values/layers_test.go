package values

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustPatch(t *testing.T, doc string) Patch {
	t.Helper()
	p, err := ParsePatch([]byte(doc))
	if err != nil {
		t.Fatalf("patch %s: %v", doc, err)
	}
	return p
}

// opsOf lists a patch as "op path" strings.
func opsOf(p Patch) []string {
	var out []string
	for _, op := range p {
		out = append(out, op.Op+" "+op.Path)
	}
	return out
}

// replicasDefault stands in for a schema's defaults: replicas is 1 unless
// set.
func replicasDefault(v Values) Values {
	if _, ok := v["replicas"]; !ok {
		v["replicas"] = float64(1)
	}
	return v
}

// lenient is a section with only a bundle layer and a dynamic layer.
func lenient(base Values, p Patch) Values {
	return Layers{Bundle: base, Patches: p}.Effective()
}

func TestLayersEffective(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bundle   string
		module   string
		config   string
		defaults bool
		patches  string
		want     string
	}{
		{name: "no layers", want: "{}"},
		{name: "the bundle alone", bundle: "{a: 1}", want: "{a: 1}"},
		{name: "the module over the bundle", bundle: "{a: 1, b: 1}", module: "{a: 2}", want: "{a: 2, b: 1}"},
		{name: "the config over the module", bundle: "{a: 1}", module: "{a: 2, b: 2}", config: "{a: 3}", want: "{a: 3, b: 2}"},
		{name: "maps merge across layers", bundle: "{m: {x: 1}}", module: "{m: {y: 2}}", config: "{m: {z: 3}}", want: "{m: {x: 1, y: 2, z: 3}}"},
		{name: "lists replace across layers", bundle: "{l: [1, 2]}", config: "{l: [3]}", want: "{l: [3]}"},
		{name: "defaults fill what no layer sets", bundle: "{a: 1}", defaults: true, want: "{a: 1, replicas: 1}"},
		{name: "defaults come after the config", config: "{replicas: 3}", defaults: true, want: "{replicas: 3}"},
		{name: "defaults come after the module", module: "{replicas: 2}", defaults: true, want: "{replicas: 2}"},
		// replace needs the key to exist: only the defaults create it.
		{name: "patches come after the defaults", defaults: true, patches: `[{"op":"replace","path":"/m/replicas","value":5}]`, want: "{replicas: 5}"},
		{name: "patches over the config", config: "{a: 3}", patches: `[{"op":"replace","path":"/m/a","value":4}]`, want: "{a: 4}"},
		{name: "patch paths are re-rooted whatever the key", config: "{a: 3}", patches: `[{"op":"add","path":"/global/b/c","value":1}]`, want: "{a: 3, b: {c: 1}}"},
		{name: "from of a copy is re-rooted", config: "{a: {x: 1}}", patches: `[{"op":"copy","from":"/m/a","path":"/m/b"}]`, want: "{a: {x: 1}, b: {x: 1}}"},
		{name: "from of a move is re-rooted", config: "{a: 1}", patches: `[{"op":"move","from":"/m/a","path":"/m/b"}]`, want: "{b: 1}"},
		{name: "a patch that no longer applies is skipped", config: "{a: 1}", patches: `[{"op":"replace","path":"/m/tls/cert","value":"x"},{"op":"add","path":"/m/b","value":2}]`, want: "{a: 1, b: 2}"},
		{name: "a whole-section patch", config: "{a: 1}", patches: `[{"op":"add","path":"/m","value":{"b":2}}]`, want: "{b: 2}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Layers{Bundle: mustYAML(t, tc.bundle), Module: mustYAML(t, tc.module), Config: mustYAML(t, tc.config)}
			if tc.defaults {
				l.Defaults = replicasDefault
			}
			if tc.patches != "" {
				l.Patches = mustPatch(t, tc.patches)
			}
			got := l.Effective()
			if diff := cmp.Diff(mustYAML(t, tc.want), got); diff != "" {
				t.Errorf("effective values (-want +got):\n%s", diff)
			}
			got["added"] = true
			if m, ok := got["m"].(map[string]any); ok {
				m["added"] = true
			}
			for name, layer := range map[string]struct {
				got  Values
				want string
			}{"bundle": {l.Bundle, tc.bundle}, "module": {l.Module, tc.module}, "config": {l.Config, tc.config}} {
				if diff := cmp.Diff(mustYAML(t, layer.want), layer.got); diff != "" {
					t.Errorf("the %s layer shares or was modified (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func TestPatchesApplyLenientlyButCheckStrictly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    string
		patch   string
		want    string // Effective
		wantErr bool   // CheckPatch
	}{
		{name: "no patch", base: "{a: 1}", patch: `[]`, want: "{a: 1}"},
		{name: "all apply", base: "{a: 1}", patch: `[{"op":"replace","path":"/m/a","value":2},{"op":"add","path":"/m/b/c","value":3}]`, want: "{a: 2, b: {c: 3}}"},
		{name: "the parent is gone", base: "{a: 1}", patch: `[{"op":"replace","path":"/m/tls/cert","value":"x"},{"op":"add","path":"/m/b","value":2}]`, want: "{a: 1, b: 2}", wantErr: true},
		{name: "a failing test operation", base: "{a: 1}", patch: `[{"op":"test","path":"/m/a","value":5},{"op":"add","path":"/m/b","value":2}]`, want: "{a: 1, b: 2}", wantErr: true},
		{name: "a move from something absent", base: "{a: 1}", patch: `[{"op":"move","from":"/m/x","path":"/m/y"},{"op":"add","path":"/m/b","value":2}]`, want: "{a: 1, b: 2}", wantErr: true},
		{name: "a removal of something absent", base: "{a: 1}", patch: `[{"op":"remove","path":"/m/x"},{"op":"add","path":"/m/b","value":2}]`, want: "{a: 1, b: 2}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, p := mustYAML(t, tc.base), mustPatch(t, tc.patch)
			if diff := cmp.Diff(mustYAML(t, tc.want), lenient(base, p)); diff != "" {
				t.Errorf("effective values (-want +got):\n%s", diff)
			}
			err := CheckPatch(base, p)
			if tc.wantErr != (err != nil) {
				t.Errorf("CheckPatch error = %v, want an error: %t", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrPatchFailed) {
				t.Errorf("CheckPatch error = %v, want ErrPatchFailed", err)
			}
			if diff := cmp.Diff(mustYAML(t, tc.base), base); diff != "" {
				t.Errorf("the base was modified (-want +got):\n%s", diff)
			}
		})
	}
}

// The section the layers of the compaction tests apply to.
const compactBase = "{a: {c: 0}, ab: 0, l: [0], num: 0}"

func TestCompactKeepsTheEffectAndDropsOverwrittenOperations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		layer string
		patch string
		want  []string
	}{
		{name: "same path", layer: `[{"op":"add","path":"/m/num","value":1}]`, patch: `[{"op":"add","path":"/m/num","value":2}]`,
			want: []string{"add /m/num"}},
		{name: "same path replaced", layer: `[{"op":"replace","path":"/m/num","value":1}]`, patch: `[{"op":"replace","path":"/m/num","value":2}]`,
			want: []string{"replace /m/num"}},
		{name: "removed path", layer: `[{"op":"add","path":"/m/num","value":1}]`, patch: `[{"op":"remove","path":"/m/num"}]`,
			want: []string{"remove /m/num"}},
		{name: "a parent overwrites its children", layer: `[{"op":"add","path":"/m/a/b","value":1},{"op":"add","path":"/m/a/c","value":1}]`, patch: `[{"op":"add","path":"/m/a","value":{"d":1}}]`,
			want: []string{"add /m/a"}},
		{name: "a child after its parent", layer: `[{"op":"add","path":"/m/a","value":{"d":1}}]`, patch: `[{"op":"add","path":"/m/a/b","value":1}]`,
			want: []string{"add /m/a", "add /m/a/b"}},
		{name: "a key with the same prefix is no child", layer: `[{"op":"add","path":"/m/ab","value":1}]`, patch: `[{"op":"add","path":"/m/a","value":1}]`,
			want: []string{"add /m/ab", "add /m/a"}},
		{name: "appends to a list", layer: `[{"op":"add","path":"/m/l/-","value":1}]`, patch: `[{"op":"add","path":"/m/l/-","value":2}]`,
			want: []string{"add /m/l/-", "add /m/l/-"}},
		{name: "list indexes", layer: `[{"op":"add","path":"/m/l/0","value":1}]`, patch: `[{"op":"add","path":"/m/l/0","value":2}]`,
			want: []string{"add /m/l/0", "add /m/l/0"}},
		{name: "a list reset drops the appends", layer: `[{"op":"add","path":"/m/l/-","value":1}]`, patch: `[{"op":"add","path":"/m/l","value":[]}]`,
			want: []string{"add /m/l"}},
		{name: "copy is kept", layer: `[{"op":"copy","from":"/m/a","path":"/m/x"}]`, patch: `[{"op":"add","path":"/m/x","value":1}]`,
			want: []string{"copy /m/x", "add /m/x"}},
		{name: "move is kept", layer: `[{"op":"move","from":"/m/ab","path":"/m/x"}]`, patch: `[{"op":"add","path":"/m/x","value":1}]`,
			want: []string{"move /m/x", "add /m/x"}},
		{name: "other paths are kept", layer: `[{"op":"add","path":"/m/num","value":1}]`, patch: `[{"op":"add","path":"/m/o","value":1}]`,
			want: []string{"add /m/num", "add /m/o"}},
		{name: "replace of a key an earlier add created", layer: `[{"op":"add","path":"/m/created","value":1}]`, patch: `[{"op":"replace","path":"/m/created","value":2}]`,
			want: []string{"add /m/created"}},
		{name: "replace of a map an earlier add created", layer: `[{"op":"add","path":"/m/created","value":{}},{"op":"add","path":"/m/created/x","value":1}]`, patch: `[{"op":"replace","path":"/m/created","value":{"y":2}}]`,
			want: []string{"add /m/created"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layer, p := mustPatch(t, tc.layer), mustPatch(t, tc.patch)
			got := Compact(layer, p)
			if diff := cmp.Diff(tc.want, opsOf(got)); diff != "" {
				t.Errorf("compacted layer (-want +got):\n%s", diff)
			}
			base := mustYAML(t, compactBase)
			if diff := cmp.Diff(lenient(lenient(base, layer), p), lenient(base, got)); diff != "" {
				t.Errorf("values with the compacted layer differ from the layer then the patch (-uncompacted +compacted):\n%s", diff)
			}
			if diff := cmp.Diff(mustPatch(t, tc.layer), layer); diff != "" {
				t.Errorf("the layer was modified (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mustPatch(t, tc.patch), p); diff != "" {
				t.Errorf("the patch was modified (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepeatedHookPatchesDoNotGrowTheLayer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		patch   string
		runs    int
		wantLen int
	}{
		{name: "a scalar", patch: `[{"op":"replace","path":"/m/num","value":1}]`, runs: 100, wantLen: 1},
		{name: "a map, then a key in it", patch: `[{"op":"add","path":"/m/a","value":{}},{"op":"add","path":"/m/a/b","value":1}]`, runs: 100, wantLen: 2},
		{name: "a removal", patch: `[{"op":"remove","path":"/m/a"}]`, runs: 100, wantLen: 1},
		// Appends accumulate by design: each run appends one more element,
		// as the hook asked.
		{name: "an append", patch: `[{"op":"add","path":"/m/l/-","value":1}]`, runs: 100, wantLen: 100},
		{name: "a list reset, then appends", patch: `[{"op":"add","path":"/m/l","value":[]},{"op":"add","path":"/m/l/-","value":1}]`, runs: 100, wantLen: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPatch(t, tc.patch)
			var layer Patch
			for range tc.runs {
				layer = Compact(layer, p)
			}
			if len(layer) != tc.wantLen {
				t.Errorf("after %d runs the layer has %d operations, want %d: %v", tc.runs, len(layer), tc.wantLen, opsOf(layer))
			}
		})
	}
}
