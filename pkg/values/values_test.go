package values

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustYAML(t *testing.T, s string) Values {
	t.Helper()
	v, err := FromYAML([]byte(s))
	if err != nil {
		t.Fatalf("FromYAML(%q): %v", s, err)
	}
	return v
}

func TestFromYAML(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Values
		wantErr string
	}{
		{name: "empty", in: "", want: Values{}},
		{name: "map", in: "a: 1\nb: [x]\n", want: Values{"a": float64(1), "b": []any{"x"}}},
		{name: "list is refused", in: "- a\n", wantErr: "want a map, got list"},
		{name: "scalar is refused", in: "hello", wantErr: "want a map, got string"},
		{name: "bad yaml names the line", in: "a: 1\nb: [\n", wantErr: "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromYAML([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name   string
		layers []string
		want   string
	}{
		{name: "maps merge", layers: []string{"a: {x: 1, y: 2}", "a: {y: 3, z: 4}"}, want: "a: {x: 1, y: 3, z: 4}"},
		{name: "lists replace", layers: []string{"a: [1, 2, 3]", "a: [9]"}, want: "a: [9]"},
		{name: "scalar replaces map", layers: []string{"a: {x: 1}", "a: 5"}, want: "a: 5"},
		{name: "map replaces scalar", layers: []string{"a: 5", "a: {x: 1}"}, want: "a: {x: 1}"},
		{name: "null replaces", layers: []string{"a: {x: 1}", "a: null"}, want: "a: null"},
		{name: "deep", layers: []string{"g: {d: {n: 1, m: [a]}}", "g: {d: {n: 2}}", "g: {d: {k: true}}"}, want: "g: {d: {n: 2, m: [a], k: true}}"},
		{name: "no layers", layers: nil, want: "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var layers []Values
			for _, l := range tt.layers {
				layers = append(layers, mustYAML(t, l))
			}
			got := Merge(layers...)
			if diff := cmp.Diff(mustYAML(t, tt.want), got); diff != "" {
				t.Errorf("merge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	base := mustYAML(t, "a: {x: [1]}")
	over := mustYAML(t, "b: {y: 2}")
	got := Merge(base, over)
	got["a"].(map[string]any)["x"].([]any)[0] = "changed"
	got["b"].(map[string]any)["y"] = "changed"
	if diff := cmp.Diff(mustYAML(t, "a: {x: [1]}"), base); diff != "" {
		t.Errorf("base was mutated:\n%s", diff)
	}
	if diff := cmp.Diff(mustYAML(t, "b: {y: 2}"), over); diff != "" {
		t.Errorf("overlay was mutated:\n%s", diff)
	}
}

func TestChecksum(t *testing.T) {
	a := mustYAML(t, "a: 1\nb: {c: [1, 2], d: x}\n")
	b := mustYAML(t, "b: {d: x, c: [1, 2]}\na: 1\n")
	c := mustYAML(t, "a: 1\nb: {c: [2, 1], d: x}\n")
	if a.Checksum() != b.Checksum() {
		t.Errorf("same content, different key order: checksums differ")
	}
	if a.Checksum() == c.Checksum() {
		t.Errorf("different list order: checksums equal")
	}
	if Values(nil).Checksum() != (Values{}).Checksum() {
		t.Errorf("nil and empty values: checksums differ")
	}
}

func TestGet(t *testing.T) {
	v := mustYAML(t, "global: {discovery: {nodeCount: 3, names: [a, b]}}")
	if got := v.Get("global.discovery.nodeCount").Int(); got != 3 {
		t.Errorf("nodeCount = %d, want 3", got)
	}
	if got := v.Get("global.discovery.names.1").String(); got != "b" {
		t.Errorf("names.1 = %q, want b", got)
	}
	if v.Get("global.missing").Exists() {
		t.Errorf("missing path exists")
	}
}

func TestParsePatch(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantOps int
		wantErr string
	}{
		{name: "empty file", in: "  \n", wantOps: 0},
		{name: "array", in: `[{"op":"add","path":"/a","value":1},{"op":"remove","path":"/b"}]`, wantOps: 2},
		{name: "appended arrays", in: "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1}]\n[{\"op\":\"add\",\"path\":\"/b\",\"value\":2}]\n", wantOps: 2},
		{name: "single object", in: `{"op":"add","path":"/a","value":null}`, wantOps: 1},
		{name: "not an array", in: `"hello"`, wantErr: "want an array of operations, got string"},
		{name: "garbage", in: `not json at all`, wantErr: "document 0 is not JSON"},
		{name: "bad op", in: `[{"op":"upsert","path":"/a","value":1}]`, wantErr: `operation 0 (upsert /a): op "upsert" is not one of`},
		{name: "relative path", in: `[{"op":"add","path":"a","value":1}]`, wantErr: `path must start with "/"`},
		{name: "add without value", in: `[{"op":"add","path":"/a"}]`, wantErr: `operation 0 (add /a): missing "value"`},
		{name: "move without from", in: `[{"op":"move","path":"/a"}]`, wantErr: `"from" must start with "/"`},
		{name: "op is not an object", in: `[1]`, wantErr: "operation 0: want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePatch([]byte(tt.in))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidPatch) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrInvalidPatch containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantOps {
				t.Errorf("got %d operations, want %d", len(got), tt.wantOps)
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		patch   string
		want    string
		wantErr string
	}{
		{name: "add creates parents", in: "{}", patch: `[{"op":"add","path":"/prometheus/internal/password","value":"s"}]`, want: "prometheus: {internal: {password: s}}"},
		{name: "replace", in: "a: {b: 1}", patch: `[{"op":"replace","path":"/a/b","value":2}]`, want: "a: {b: 2}"},
		{name: "remove missing is a no-op", in: "a: 1", patch: `[{"op":"remove","path":"/x/y"}]`, want: "a: 1"},
		{name: "add null", in: "a: 1", patch: `[{"op":"add","path":"/a","value":null}]`, want: "a: null"},
		{name: "list append", in: "a: [1]", patch: `[{"op":"add","path":"/a/-","value":2}]`, want: "a: [1, 2]"},
		{name: "ops apply in order", in: "{}", patch: `[{"op":"add","path":"/a","value":{"b":1}},{"op":"copy","from":"/a/b","path":"/c"}]`, want: "a: {b: 1}\nc: 1"},
		{name: "replace on missing path", in: "a: 1", patch: `[{"op":"add","path":"/b","value":1},{"op":"replace","path":"/x/y","value":1}]`, wantErr: "operation 1 (replace /x/y)"},
		{name: "test fails", in: "a: 1", patch: `[{"op":"test","path":"/a","value":2}]`, wantErr: "operation 0 (test /a)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustYAML(t, tt.in)
			before := in.Checksum()
			p, err := ParsePatch([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			got, err := in.Apply(p)
			if in.Checksum() != before {
				t.Errorf("Apply mutated its receiver")
			}
			if tt.wantErr != "" {
				if !errors.Is(err, ErrPatchFailed) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrPatchFailed containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(mustYAML(t, tt.want), got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOperationRoot(t *testing.T) {
	tests := map[string]string{
		"/global/discovery": "global",
		"/ingressNginx":     "ingressNginx",
		"/a~1b/c":           "a/b",
		"/":                 "",
	}
	for path, want := range tests {
		if got := (Operation{Path: path}).Root(); got != want {
			t.Errorf("Root(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestModuleNaming(t *testing.T) {
	tests := []struct {
		dir        string
		order      int
		name       string
		valuesKey  string
		enabledKey string
		wantErr    bool
	}{
		{dir: "010-ingress-nginx", order: 10, name: "ingress-nginx", valuesKey: "ingressNginx", enabledKey: "ingressNginxEnabled"},
		{dir: "000-probe-templates", order: 0, name: "probe-templates", valuesKey: "probeTemplates", enabledKey: "probeTemplatesEnabled"},
		{dir: "300-prometheus", order: 300, name: "prometheus", valuesKey: "prometheus", enabledKey: "prometheusEnabled"},
		{dir: "020-l2-load-balancer", order: 20, name: "l2-load-balancer", valuesKey: "l2LoadBalancer", enabledKey: "l2LoadBalancerEnabled"},
		{dir: "040-node-2fa", order: 40, name: "node-2fa", valuesKey: "node2fa", enabledKey: "node2faEnabled"},
		{dir: "050-a--b", order: 50, name: "a--b", valuesKey: "aB", enabledKey: "aBEnabled"},
		{dir: "cert-manager", order: 0, name: "cert-manager", valuesKey: "certManager", enabledKey: "certManagerEnabled"},
		{dir: "007-x", order: 7, name: "x", valuesKey: "x", enabledKey: "xEnabled"},
		{dir: "123", order: 0, name: "123", valuesKey: "123", enabledKey: "123Enabled"},
		{dir: "010-Ingress", wantErr: true},
		{dir: "010-", wantErr: true},
		{dir: "010-under_score", wantErr: true},
		{dir: ".hidden", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			order, name, err := ModuleDir(tt.dir)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ModuleDir(%q) = %d, %q; want an error", tt.dir, order, name)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if order != tt.order || name != tt.name {
				t.Errorf("ModuleDir(%q) = %d, %q; want %d, %q", tt.dir, order, name, tt.order, tt.name)
			}
			if got := ValuesKey(name); got != tt.valuesKey {
				t.Errorf("ValuesKey(%q) = %q, want %q", name, got, tt.valuesKey)
			}
			if got := EnabledKey(name); got != tt.enabledKey {
				t.Errorf("EnabledKey(%q) = %q, want %q", name, got, tt.enabledKey)
			}
		})
	}
}
