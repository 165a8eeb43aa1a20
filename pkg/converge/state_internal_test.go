package converge

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func mustPatch(t *testing.T, doc string) values.Patch {
	t.Helper()
	p, err := values.ParsePatch([]byte(doc))
	if err != nil {
		t.Fatalf("patch %s: %v", doc, err)
	}
	return p
}

func mustValues(t *testing.T, doc string) values.Values {
	t.Helper()
	v, err := values.FromYAML([]byte(doc))
	if err != nil {
		t.Fatalf("values %s: %v", doc, err)
	}
	return v
}

// opsOf lists a patch as "op path" strings.
func opsOf(p values.Patch) []string {
	var out []string
	for _, op := range p {
		out = append(out, op.Op+" "+op.Path)
	}
	return out
}

// The section the layers of these tests apply to.
const compactBase = "{a: {c: 0}, ab: 0, l: [0], num: 0}"

func TestCompactKeepsTheEffectAndDropsOverwrittenOperations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		layer string
		patch string
		want  []string // nil: not checked
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
		{name: "copy is kept", layer: `[{"op":"copy","from":"/m/a","path":"/m/x"}]`, patch: `[{"op":"add","path":"/m/x","value":1}]`,
			want: []string{"copy /m/x", "add /m/x"}},
		{name: "other paths are kept", layer: `[{"op":"add","path":"/m/num","value":1}]`, patch: `[{"op":"add","path":"/m/o","value":1}]`,
			want: []string{"add /m/num", "add /m/o"}},
		{name: "replace of a key an earlier add created", layer: `[{"op":"add","path":"/m/created","value":1}]`, patch: `[{"op":"replace","path":"/m/created","value":2}]`,
			want: []string{"add /m/created"}},
		{name: "replace of a map an earlier add created", layer: `[{"op":"add","path":"/m/created","value":{}},{"op":"add","path":"/m/created/x","value":1}]`, patch: `[{"op":"replace","path":"/m/created","value":{"y":2}}]`,
			want: []string{"add /m/created"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layer, p := mustPatch(t, tc.layer), mustPatch(t, tc.patch)
			got := compact(layer, p)
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, opsOf(got)); diff != "" {
					t.Errorf("compacted layer (-want +got):\n%s", diff)
				}
			}
			base := mustValues(t, compactBase)
			if diff := cmp.Diff(applyLenient(applyLenient(base, layer), p), applyLenient(base, got)); diff != "" {
				t.Errorf("values with the compacted layer differ from the layer then the patch (-uncompacted +compacted):\n%s", diff)
			}
			if diff := cmp.Diff(mustPatch(t, tc.layer), layer); diff != "" {
				t.Errorf("the layer was modified (-want +got):\n%s", diff)
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
			var layer values.Patch
			for range tc.runs {
				layer = compact(layer, p)
			}
			if len(layer) != tc.wantLen {
				t.Errorf("after %d runs the layer has %d operations, want %d: %v", tc.runs, len(layer), tc.wantLen, opsOf(layer))
			}
		})
	}
}

func TestApplyLenientSkipsOperationsThatNoLongerApply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  string
		patch string
		want  string
	}{
		{"no patch", "{a: 1}", `[]`, "{a: 1}"},
		{"all apply", "{a: 1}", `[{"op":"replace","path":"/m/a","value":2},{"op":"add","path":"/m/b/c","value":3}]`, "{a: 2, b: {c: 3}}"},
		{"the parent is gone", "{a: 1}", `[{"op":"replace","path":"/m/tls/cert","value":"x"},{"op":"add","path":"/m/b","value":2}]`, "{a: 1, b: 2}"},
		{"a failing test operation", "{a: 1}", `[{"op":"test","path":"/m/a","value":5},{"op":"add","path":"/m/b","value":2}]`, "{a: 1, b: 2}"},
		{"a removal of something absent", "{a: 1}", `[{"op":"remove","path":"/m/x"},{"op":"add","path":"/m/b","value":2}]`, "{a: 1, b: 2}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := mustValues(t, tc.base)
			got := applyLenient(base, mustPatch(t, tc.patch))
			if diff := cmp.Diff(mustValues(t, tc.want), got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mustValues(t, tc.base), base); diff != "" {
				t.Errorf("the base was modified (-want +got):\n%s", diff)
			}
		})
	}
}
