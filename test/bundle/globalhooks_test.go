package bundle_test

import (
	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"
	kemtypes "github.com/flant/shell-operator/pkg/kube_events_manager/types"
	hookpkg "github.com/seedops/addon-operator/pkg/hook"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func globalHook(t *testing.T, name string) string {
	t.Helper()
	return path(t, "global-hooks", name)
}

// discoveryAfter applies a global hook's patch to the bundle's static global
// values and checks the result against the global values schema, as the
// operator does, returning global.discovery.
func discoveryAfter(t *testing.T, out hookOutput) values.Values {
	t.Helper()
	v := mustApply(t, values.Values{"global": rootValues(t).Section("global")}, out.valuesPatch)
	global := v.Section("global")
	if err := schemas(t, path(t, "global-hooks")).ValidateValues("global", global); err != nil {
		t.Fatalf("global values after the hook's patch are invalid: %v", err)
	}
	return global.Section("discovery")
}

func TestNodesHookCloudProvider(t *testing.T) {
	hook := globalHook(t, "nodes.sh")
	tests := []struct {
		name         string
		nodes        []map[string]any
		wantProvider string
	}{
		{"no nodes", nil, "none"},
		{"nodes without providerID", []map[string]any{node("a", "", nil), node("b", "", nil)}, "none"},
		{"aws", []map[string]any{node("a", "aws:///eu-central-1a/i-0123", nil)}, "aws"},
		{"gce is gcp", []map[string]any{node("a", "gce://my-project/europe-west1-b/vm-a", nil)}, "gcp"},
		{"azure", []map[string]any{node("a", "azure:///subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/a", nil)}, "azure"},
		{"openstack", []map[string]any{node("a", "openstack:///4f6a7c2e-9b0d-4bb5-a1a8-0b2d8c1f7e44", nil)}, "openstack"},
		{"yandex", []map[string]any{node("a", "yandex://fhm0123456789abcdef", nil)}, "yandex"},
		{"hcloud is hetzner", []map[string]any{node("a", "hcloud://123456", nil)}, "hetzner"},
		{"upper-case scheme", []map[string]any{node("a", "AWS:///eu-west-1a/i-1", nil)}, "aws"},
		{"unknown scheme passes through", []map[string]any{node("a", "kind://docker/kind/kind-worker", nil)}, "kind"},
		{"providerID without scheme is ignored", []map[string]any{node("a", "cn-hangzhou.i-bp1", nil)}, "none"},
		{"mixed with nodes without providerID", []map[string]any{node("a", "", nil), node("b", "aws:///z/i-1", nil)}, "aws"},
		{"majority wins", []map[string]any{node("a", "gce://p/z/a", nil), node("b", "aws:///z/i-1", nil), node("c", "aws:///z/i-2", nil)}, "aws"},
		{"tie broken alphabetically", []map[string]any{node("a", "gce://p/z/a", nil), node("b", "azure:///s/b", nil)}, "azure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snapshot := watched(t, hook, true, "nodes", tt.nodes...)
			out := runHook(t, hook, hookInput{contexts: encodeContexts(t, groupContext("nodes", snapshots{"nodes": snapshot}))})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			want := []map[string]any{
				{"op": "add", "path": "/global/discovery/cloudProvider", "value": tt.wantProvider},
				{"op": "add", "path": "/global/discovery/nodeCount", "value": float64(len(tt.nodes))},
			}
			if diff := cmp.Diff(want, ops(t, out.valuesPatch)); diff != "" {
				t.Errorf("values patch (-want +got):\n%s", diff)
			}
			d := discoveryAfter(t, out)
			if d["cloudProvider"] != tt.wantProvider || d["nodeCount"] != float64(len(tt.nodes)) {
				t.Errorf("discovery after patch = %v", d)
			}
		})
	}
}

// TestGlobalHooksBindingContextForms: the discovery hooks read the current
// set from any context that carries it (Group, Synchronization, beforeAll
// with snapshots), use the last one, and leave the values alone when the
// contexts carry no set.
func TestGlobalHooksBindingContextForms(t *testing.T) {
	hook := globalHook(t, "nodes.sh")
	aws := watched(t, hook, true, "nodes", node("a", "aws:///z/i-1", nil))
	gcp := watched(t, hook, true, "nodes", node("a", "gce://p/z/a", nil), node("b", "gce://p/z/b", nil))
	tests := []struct {
		name     string
		contexts []bctx.BindingContext
		want     []map[string]any // nil: no patch
	}{
		{
			name:     "synchronization",
			contexts: []bctx.BindingContext{syncContext("nodes", aws)},
			want:     []map[string]any{{"op": "add", "path": "/global/discovery/cloudProvider", "value": "aws"}, {"op": "add", "path": "/global/discovery/nodeCount", "value": 1.0}},
		},
		{
			name:     "beforeAll with snapshots",
			contexts: []bctx.BindingContext{lifecycleContext(hookpkg.BeforeAll, snapshots{"nodes": gcp})},
			want:     []map[string]any{{"op": "add", "path": "/global/discovery/cloudProvider", "value": "gcp"}, {"op": "add", "path": "/global/discovery/nodeCount", "value": 2.0}},
		},
		{
			name:     "last context wins",
			contexts: []bctx.BindingContext{groupContext("nodes", snapshots{"nodes": aws}), groupContext("nodes", snapshots{"nodes": gcp})},
			want:     []map[string]any{{"op": "add", "path": "/global/discovery/cloudProvider", "value": "gcp"}, {"op": "add", "path": "/global/discovery/nodeCount", "value": 2.0}},
		},
		{
			name:     "beforeAll without snapshots",
			contexts: []bctx.BindingContext{lifecycleContext(hookpkg.BeforeAll, nil)},
		},
		{
			name:     "event without snapshot",
			contexts: []bctx.BindingContext{eventContext("nodes", kemtypes.WatchEventAdded, watched(t, hook, true, "nodes", node("c", "", nil))[0])},
		},
		{
			name: "no contexts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runHook(t, hook, hookInput{contexts: encodeContexts(t, tt.contexts...)})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			want := tt.want
			if want == nil {
				want = []map[string]any{}
			}
			if diff := cmp.Diff(want, ops(t, out.valuesPatch)); diff != "" {
				t.Errorf("values patch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIngressNodesHook(t *testing.T) {
	hook := globalHook(t, "ingress_nodes.sh")
	ingress := map[string]string{"dedicated": "ingress"}
	tests := []struct {
		name      string
		nodes     []map[string]any
		wantNames []any
	}{
		{"none labelled", []map[string]any{node("worker-1", "", nil), node("worker-2", "", map[string]string{"dedicated": "db"})}, []any{}},
		{"one", []map[string]any{node("worker-1", "", nil), node("ingress-1", "", ingress)}, []any{"ingress-1"}},
		{"two, sorted", []map[string]any{node("ingress-b", "", ingress), node("worker-1", "", nil), node("ingress-a", "", ingress)}, []any{"ingress-a", "ingress-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snapshot := watched(t, hook, true, "ingress_nodes", tt.nodes...)
			out := runHook(t, hook, hookInput{
				contexts: encodeContexts(t, groupContext("ingress_nodes", snapshots{"ingress_nodes": snapshot})),
				values:   values.Values{"global": rootValues(t).Section("global")},
			})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			want := []map[string]any{{
				"op": "add", "path": "/global/discovery/ingressNodes",
				"value": map[string]any{"names": tt.wantNames, "count": float64(len(tt.wantNames))},
			}}
			if diff := cmp.Diff(want, ops(t, out.valuesPatch)); diff != "" {
				t.Errorf("values patch (-want +got):\n%s", diff)
			}
			discoveryAfter(t, out)
		})
	}
}

// TestIngressNodesHookEvents: a single Event without a snapshot is applied to
// the set known from the values.
func TestIngressNodesHookEvents(t *testing.T) {
	hook := globalHook(t, "ingress_nodes.sh")
	known := mustYAML(t, `
global:
  discovery:
    ingressNodes: {names: [ingress-a, ingress-c], count: 2}
`)
	tests := []struct {
		name       string
		watchEvent kemtypes.WatchEventType
		node       string
		want       []any
	}{
		{"added", kemtypes.WatchEventAdded, "ingress-b", []any{"ingress-a", "ingress-b", "ingress-c"}},
		{"added again", kemtypes.WatchEventAdded, "ingress-a", []any{"ingress-a", "ingress-c"}},
		{"deleted", kemtypes.WatchEventDeleted, "ingress-c", []any{"ingress-a"}},
		{"deleted unknown", kemtypes.WatchEventDeleted, "ingress-x", []any{"ingress-a", "ingress-c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := watched(t, hook, true, "ingress_nodes", node(tt.node, "", map[string]string{"dedicated": "ingress"}))[0]
			out := runHook(t, hook, hookInput{contexts: encodeContexts(t, eventContext("ingress_nodes", tt.watchEvent, obj)), values: known})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			want := []map[string]any{{"op": "add", "path": "/global/discovery/ingressNodes",
				"value": map[string]any{"names": tt.want, "count": float64(len(tt.want))}}}
			if diff := cmp.Diff(want, ops(t, out.valuesPatch)); diff != "" {
				t.Errorf("values patch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultStorageClassHook(t *testing.T) {
	hook := globalHook(t, "default_storage_class.sh")
	isDefault := map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	tests := []struct {
		name    string
		classes []map[string]any
		want    string
	}{
		{"no classes", nil, ""},
		{"no default", []map[string]any{
			storageClass("slow", "2024-01-01T00:00:00Z", nil),
			storageClass("fast", "2024-01-01T00:00:00Z", map[string]string{"storageclass.kubernetes.io/is-default-class": "false"}),
		}, ""},
		{"one default", []map[string]any{
			storageClass("slow", "2024-01-01T00:00:00Z", nil),
			storageClass("standard", "2024-01-01T00:00:00Z", isDefault),
		}, "standard"},
		{"beta annotation", []map[string]any{
			storageClass("legacy", "2024-01-01T00:00:00Z", map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}),
		}, "legacy"},
		{"newest of several defaults", []map[string]any{
			storageClass("old", "2023-05-01T00:00:00Z", isDefault),
			storageClass("new", "2024-05-01T00:00:00Z", isDefault),
			storageClass("newest-not-default", "2025-05-01T00:00:00Z", nil),
		}, "new"},
		{"same age: first by name", []map[string]any{
			storageClass("b", "2024-05-01T00:00:00Z", isDefault),
			storageClass("a", "2024-05-01T00:00:00Z", isDefault),
		}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snapshot := watched(t, hook, true, "storage_classes", tt.classes...)
			out := runHook(t, hook, hookInput{contexts: encodeContexts(t, groupContext("storage_classes", snapshots{"storage_classes": snapshot}))})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			want := []map[string]any{{"op": "add", "path": "/global/discovery/defaultStorageClass", "value": tt.want}}
			if diff := cmp.Diff(want, ops(t, out.valuesPatch)); diff != "" {
				t.Errorf("values patch (-want +got):\n%s", diff)
			}
			discoveryAfter(t, out)
		})
	}
}

// fakeKubectl puts a kubectl on PATH that answers `get --raw /version` with
// answer, or fails when answer is empty.
func fakeKubectl(t *testing.T, answer string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/usr/bin/env bash\n"
	if answer == "" {
		script += "echo 'The connection to the server localhost:8080 was refused' >&2\nexit 1\n"
	} else {
		script += "[[ \"$*\" == 'get --raw /version' ]] || { echo \"unexpected: $*\" >&2; exit 2; }\ncat <<'EOF'\n" + answer + "\nEOF\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestKubernetesVersionHook(t *testing.T) {
	hook := globalHook(t, "kubernetes_version.sh")
	tests := []struct {
		name   string
		answer string
		want   string // "" means the hook must fail
	}{
		{"plain", `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`, "1.34"},
		{"provider suffix", `{"major":"1","minor":"30+","gitVersion":"v1.30.2-eks-1552ad0"}`, "1.30"},
		{"no gitVersion", `{"major":"1","minor":"29+"}`, "1.29"},
		{"built from source", `{"major":"1","minor":"34","gitVersion":"v0.0.0-master+$Format:%H$"}`, "1.34"},
		{"only gitVersion", `{"major":"","minor":"","gitVersion":"v1.31.0"}`, "1.31"},
		{"placeholder only", `{"major":"","minor":"","gitVersion":"v0.0.0-master+$Format:%H$"}`, ""},
		{"garbage", `{"major":"","minor":""}`, ""},
		{"API server unreachable", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runHook(t, hook, hookInput{
				contexts:   encodeContexts(t, lifecycleContext(hookpkg.BeforeAll, nil)),
				pathPrefix: fakeKubectl(t, tt.answer),
			})
			if tt.want == "" {
				if out.exitCode == 0 {
					t.Fatalf("hook succeeded, want a failure; patch %s", out.valuesPatch.JSON())
				}
				if len(out.valuesPatch) != 0 {
					t.Errorf("failed hook wrote a patch: %s", out.valuesPatch.JSON())
				}
				return
			}
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			want := []map[string]any{{"op": "add", "path": "/global/discovery/kubernetesVersion", "value": tt.want}}
			if diff := cmp.Diff(want, ops(t, out.valuesPatch)); diff != "" {
				t.Errorf("values patch (-want +got):\n%s", diff)
			}
			discoveryAfter(t, out)
		})
	}
}

// TestGlobalHooksPatchOnlyGlobal: every patch operation of a global hook is
// rooted at /global (the operator refuses anything else).
func TestGlobalHooksPatchOnlyGlobal(t *testing.T) {
	runs := map[string]hookOutput{
		"nodes.sh": runHook(t, globalHook(t, "nodes.sh"), hookInput{contexts: encodeContexts(t, groupContext("nodes", snapshots{"nodes": nil}))}),
		"ingress_nodes.sh": runHook(t, globalHook(t, "ingress_nodes.sh"), hookInput{
			contexts: encodeContexts(t, groupContext("ingress_nodes", snapshots{"ingress_nodes": nil})), values: rootValues(t)}),
		"default_storage_class.sh": runHook(t, globalHook(t, "default_storage_class.sh"), hookInput{contexts: encodeContexts(t, groupContext("storage_classes", snapshots{"storage_classes": nil}))}),
		"kubernetes_version.sh": runHook(t, globalHook(t, "kubernetes_version.sh"), hookInput{
			pathPrefix: fakeKubectl(t, `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`)}),
	}
	for name, out := range runs {
		if out.exitCode != 0 {
			t.Errorf("%s: exit code %d: %s", name, out.exitCode, out.stderr)
		}
		if len(out.valuesPatch) == 0 {
			t.Errorf("%s: no values patch", name)
		}
		for _, op := range out.valuesPatch {
			if op.Root() != "global" {
				t.Errorf("%s: operation %s %s is not rooted at /global", name, op.Op, op.Path)
			}
		}
		if len(out.configValuesPatch) != 0 {
			t.Errorf("%s: discovery must not touch config values, got %s", name, out.configValuesPatch.JSON())
		}
	}
}
