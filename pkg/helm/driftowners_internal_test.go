package helm

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestUntouched(t *testing.T) {
	deployment := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "labels": map[string]any{"app": "web"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "web", "image": "web:1", "ports": []any{map[string]any{"containerPort": json.Number("8080")}}},
		}}}},
	}
	deploymentWithArgs := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "web", "args": []any{"-v"}},
		}}}},
	}
	const full = `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`
	entry := func(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, APIVersion: "apps/v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
	}
	helm := helmManager()
	tests := []struct {
		name    string
		want    map[string]any
		entries []metav1.ManagedFieldsEntry
		ok      bool
		verify  string // the paths to compare with the live object, dotted, comma-separated
	}{
		{"helm owns every field", deployment, []metav1.ManagedFieldsEntry{entry(helm, metav1.ManagedFieldsOperationUpdate, full)}, true, ""},
		{"another manager's field the chart leaves out", deployment, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, full),
			entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/revision":{}}}}`),
		}, true, ""},
		{"split between helm and the corrector", deployment, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`),
			entry(FieldManager, metav1.ManagedFieldsOperationApply, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`),
		}, true, ""},
		{"image taken by another manager", deployment, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`),
			entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{"f:image":{}}}}}}}`),
		}, false, ""},
		{"label removed, the remover not listed", deployment, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`),
		}, false, ""},
		{"container renamed", deployment, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"other\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{}}}}}}}`),
		}, false, ""},
		{"our manager on the scale subresource", deployment, []metav1.ManagedFieldsEntry{
			{Manager: helm, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1", Subresource: "scale", FieldsV1: &metav1.FieldsV1{Raw: []byte(full)}},
		}, false, ""},
		{"another API version", deployment, []metav1.ManagedFieldsEntry{
			{Manager: helm, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1beta2", FieldsV1: &metav1.FieldsV1{Raw: []byte(full)}},
		}, false, ""},
		{"no field managers", deployment, nil, false, ""},
		{"secret stringData owned as data", map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "stringData": map[string]any{"key": "value"},
		}, []metav1.ManagedFieldsEntry{
			{Manager: helm, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{".":{},"f:key":{}}}`)}},
		}, true, ""},
		{"secret stringData written by another manager", map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "stringData": map[string]any{"key": "value"},
		}, []metav1.ManagedFieldsEntry{
			{Manager: helm, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{".":{},"f:key":{}}}`)}},
			{Manager: "other", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:stringData":{"f:key":{}}}`)}},
		}, false, ""},
		{"a set of values", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "finalizers": []any{"example.com/a"}},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/a\"":{}}}}`),
		}, true, ""},
		{"an atomic list, recorded as a keyed list emptied by someone else: its value decides", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"}, "spec": map[string]any{"args": []any{"-v"}},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:args":{}}}`),
		}, true, "spec.args"},
		{"an atomic map, recorded as a map emptied by someone else: its value decides", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"}, "spec": map[string]any{"selector": map[string]any{"app": "web"}},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:selector":{}}}`),
		}, true, "spec.selector"},
		{"a map emptied by someone else, the map itself still owned", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "web"}},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{".":{}}}}`),
		}, true, "metadata.labels"},
		{"an atomic list inside a keyed list's item", deploymentWithArgs, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:args":{},"f:name":{}}}}}}}`),
		}, true, `spec.template.spec.containers.k:{"name":"web"}.args`},
		{"an atomic map inside a set's item", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"},
			"spec": map[string]any{"items": []any{map[string]any{"selector": map[string]any{"app": "web"}}}},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:spec":{"f:items":{"v:{\"selector\":{\"app\":\"web\"}}":{}}}}`),
		}, false, ""},
		{"an empty list", map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "r"}, "rules": []any{},
		}, []metav1.ManagedFieldsEntry{
			{Manager: helm, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "rbac.authorization.k8s.io/v1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:rules":{}}`)}},
		}, true, ""},
		{"a null in the manifest", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "annotations": nil},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:annotations":{}}}`),
		}, false, ""},
		{"creationTimestamp: null and a status in the manifest", map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "creationTimestamp": nil, "labels": map[string]any{"app": "web"}},
			"status": map[string]any{},
		}, []metav1.ManagedFieldsEntry{
			entry(helm, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`),
		}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, verify := untouched(tt.want, tt.entries)
			var paths []string
			for _, p := range verify {
				paths = append(paths, strings.Join(p, "."))
			}
			slices.Sort(paths)
			if got != tt.ok || strings.Join(paths, ",") != tt.verify {
				t.Errorf("untouched = %v, verify %q; want %v, %q", got, paths, tt.ok, tt.verify)
			}
		})
	}
}

func TestSameAt(t *testing.T) {
	want := map[string]any{
		"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web"},
		"spec": map[string]any{
			"selector": map[string]any{"app": "web"},
			"ports":    []any{map[string]any{"port": json.Number("80"), "args": []any{"-v"}}},
		},
	}
	paths := []fieldPath{{"spec", "selector"}, {"spec", "ports", `k:{"port":80,"protocol":"TCP"}`, "args"}}
	port := func(args ...any) map[string]any {
		return map[string]any{"port": int64(80), "protocol": "TCP", "args": args}
	}
	tests := []struct {
		name string
		spec map[string]any
		same bool
	}{
		{"same values, numbers decoded differently, a key field defaulted", map[string]any{"selector": map[string]any{"app": "web"}, "ports": []any{port("-v")}}, true},
		{"a map emptied", map[string]any{"selector": map[string]any{}, "ports": []any{port("-v")}}, false},
		{"a map gone", map[string]any{"ports": []any{port("-v")}}, false},
		{"another value", map[string]any{"selector": map[string]any{"app": "other"}, "ports": []any{port("-v")}}, false},
		{"another value in a keyed list's item", map[string]any{"selector": map[string]any{"app": "web"}, "ports": []any{port("-v", "-x")}}, false},
		{"the keyed item gone", map[string]any{"selector": map[string]any{"app": "web"}, "ports": []any{}}, false},
		{"the key matching two items", map[string]any{"selector": map[string]any{"app": "web"}, "ports": []any{port("-v"), port("-v")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web"}, "spec": tt.spec}
			if got := sameAt(want, live, paths); got != tt.same {
				t.Errorf("sameAt = %v, want %v", got, tt.same)
			}
		})
	}
}
