package bundle_test

import (
	"encoding/json"
	kemtypes "github.com/flant/shell-operator/pkg/kube_events_manager/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"testing"

	"github.com/flant/shell-operator/pkg/filter/jq"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seedops/addon-operator/pkg/hook"
)

// watched emulates what the operator's kube events machinery keeps for a
// hook's kubernetes binding named binding: the objects its selectors let
// through (labelSelector, nameSelector), each with the binding's jqFilter
// applied by shell-operator's own jq engine, and without the full object
// when the binding says keepFullObjectsInMemory: false.
func watched(t *testing.T, hookPath string, global bool, binding string, objects ...map[string]any) []kemtypes.ObjectAndFilterResult {
	t.Helper()
	cfg, err := hook.ParseConfig(hookConfig(t, bundleHook{name: hookPath, path: hookPath, global: global}), global)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cfg.Kubernetes {
		if k.BindingName != binding {
			continue
		}
		m := k.Monitor
		selector := labels.Everything()
		if m.LabelSelector != nil {
			if selector, err = metav1.LabelSelectorAsSelector(m.LabelSelector); err != nil {
				t.Fatal(err)
			}
		}
		out := []kemtypes.ObjectAndFilterResult{}
		for _, obj := range objects {
			meta, _ := obj["metadata"].(map[string]any)
			objLabels := map[string]string{}
			if l, ok := meta["labels"].(map[string]any); ok {
				for k, v := range l {
					objLabels[k], _ = v.(string)
				}
			}
			if !selector.Matches(labels.Set(objLabels)) {
				continue
			}
			if m.NameSelector != nil && len(m.NameSelector.MatchNames) > 0 {
				name, _ := meta["name"].(string)
				found := false
				for _, n := range m.NameSelector.MatchNames {
					found = found || n == name
				}
				if !found {
					continue
				}
			}
			raw, err := jq.NewFilter().ApplyFilter(m.JqFilter, obj)
			if err != nil {
				t.Fatalf("jqFilter of %s on %v: %v", binding, meta["name"], err)
			}
			if !json.Valid(raw) {
				t.Fatalf("jqFilter result is not JSON: %s", raw)
			}
			r := kemtypes.ObjectAndFilterResult{Object: &unstructured.Unstructured{Object: obj}, FilterResult: string(raw)}
			r.Metadata.JqFilter = m.JqFilter
			if !k.KeepFullObjectsInMemory {
				r.RemoveFullObject()
			}
			out = append(out, r)
		}
		return out
	}
	t.Fatalf("%s has no kubernetes binding %q", hookPath, binding)
	return nil
}

// node builds a Node object like the fake nodes of the test cluster.
func node(name, providerID string, nodeLabels map[string]string) map[string]any {
	l := map[string]any{"kubernetes.io/hostname": name}
	for k, v := range nodeLabels {
		l[k] = v
	}
	n := map[string]any{
		"apiVersion": "v1",
		"kind":       "Node",
		"metadata": map[string]any{
			"name":        name,
			"labels":      l,
			"annotations": map[string]any{"kwok.x-k8s.io/node": "fake"},
		},
		"spec": map[string]any{},
		"status": map[string]any{
			"nodeInfo": map[string]any{"kubeletVersion": "fake"},
		},
	}
	if providerID != "" {
		n["spec"] = map[string]any{"providerID": providerID}
	}
	return n
}

func storageClass(name, created string, annotations map[string]string) map[string]any {
	a := map[string]any{}
	for k, v := range annotations {
		a[k] = v
	}
	return map[string]any{
		"apiVersion":  "storage.k8s.io/v1",
		"kind":        "StorageClass",
		"metadata":    map[string]any{"name": name, "creationTimestamp": created, "annotations": a},
		"provisioner": "example.com/csi",
	}
}
