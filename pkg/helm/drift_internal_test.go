package helm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFingerprint(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	later := metav1.NewTime(at.Add(time.Second))
	base := func() *metav1.ObjectMeta {
		return &metav1.ObjectMeta{
			Generation:  1,
			Labels:      map[string]string{"app": "x"},
			Annotations: map[string]string{"a": "1"},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "helm", Operation: metav1.ManagedFieldsOperationUpdate, Time: &at, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}},
				{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: &at, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}},
			},
			ResourceVersion: "10",
		}
	}
	tests := []struct {
		name    string
		change  func(*metav1.ObjectMeta)
		changed bool
	}{
		{"resource version only", func(o *metav1.ObjectMeta) { o.ResourceVersion = "11" }, false},
		{"status write", func(o *metav1.ObjectMeta) {
			o.ManagedFields[1].Time = &later
			o.ManagedFields[1].FieldsV1 = &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:replicas":{}}}`)}
		}, false},
		{"generation", func(o *metav1.ObjectMeta) { o.Generation = 2 }, true},
		{"label", func(o *metav1.ObjectMeta) { o.Labels["app"] = "y" }, true},
		{"annotation added", func(o *metav1.ObjectMeta) { o.Annotations["b"] = "" }, true},
		{"another manager", func(o *metav1.ObjectMeta) {
			o.ManagedFields = append(o.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Time: &at})
		}, true},
		{"same manager writes again", func(o *metav1.ObjectMeta) { o.ManagedFields[0].Time = &later }, true},
		{"scale subresource", func(o *metav1.ObjectMeta) {
			o.ManagedFields = append(o.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "scale", Time: &at})
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.change(o)
			if got := fingerprint(o) != fingerprint(base()); got != tt.changed {
				t.Errorf("fingerprint changed %v, want %v", got, tt.changed)
			}
		})
	}
}

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "/spec/replicas", want: []string{"spec", "replicas"}},
		{in: "/metadata/annotations/example.com~1owner", want: []string{"metadata", "annotations", "example.com/owner"}},
		{in: "/a~0b", want: []string{"a~b"}},
		{in: "spec/replicas", wantErr: true},
		{in: "", wantErr: true},
		{in: "/", wantErr: true},
		{in: "/a~2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePointer(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if err == nil && pointer(got) != tt.in {
				t.Errorf("pointer(%q) = %q, want the input back", got, pointer(got))
			}
		})
	}
}

func TestKeepLive(t *testing.T) {
	cfg := func() map[string]any {
		return map[string]any{"spec": map[string]any{
			"replicas": 1.0,
			"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x:1"}}}},
		}}
	}
	live := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{"o": "v"}},
		"spec": map[string]any{
			"replicas": int64(3),
			"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "a", "image": "x:2"}}}},
		},
	}
	tests := []struct {
		path string
		want func(map[string]any)
	}{
		{"/spec/replicas", func(c map[string]any) { c["spec"].(map[string]any)["replicas"] = int64(3) }},
		{"/spec/paused", func(map[string]any) {}},
		{"/spec/template/spec/containers/0/image", func(c map[string]any) {
			c["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "x:2"
		}},
		{"/metadata/annotations/o", func(c map[string]any) { c["metadata"] = map[string]any{"annotations": map[string]any{"o": "v"}} }},
		{"/spec/template/spec/containers/1/image", func(map[string]any) {}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tokens, err := ParsePointer(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, want := cfg(), cfg()
			tt.want(want)
			keepLive(got, live, tokens)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("absent from live: removed", func(t *testing.T) {
		got := cfg()
		keepLive(got, map[string]any{}, []string{"spec", "replicas"})
		if _, ok := got["spec"].(map[string]any)["replicas"]; ok {
			t.Errorf("replicas kept in %v", got)
		}
	})
}

func TestDiffPaths(t *testing.T) {
	a := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "evil"}}, "spec": map[string]any{"replicas": int64(5), "ports": []any{int64(1)}}}
	b := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "x"}}, "spec": map[string]any{"replicas": int64(1), "ports": []any{int64(1), int64(2)}}}
	var paths [][]string
	diffPaths(a, b, nil, &paths)
	ptrs, diff := describeDiff(a, b, paths, false)
	if want := []string{"/metadata/labels/app", "/spec/ports", "/spec/replicas"}; !cmp.Equal(want, ptrs) {
		t.Errorf("paths %v, want %v", ptrs, want)
	}
	wantDiff := "- /metadata/labels/app: \"evil\"\n+ /metadata/labels/app: \"x\"\n- /spec/ports: [1]\n+ /spec/ports: [1,2]\n- /spec/replicas: 5\n+ /spec/replicas: 1\n"
	if diff != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", diff, wantDiff)
	}
	if _, d := describeDiff(map[string]any{"data": map[string]any{"p": "a"}}, map[string]any{"data": map[string]any{"p": "b"}}, [][]string{{"data", "p"}}, true); d != "- /data/p: (secret)\n+ /data/p: (secret)\n" {
		t.Errorf("secret diff %q shows values", d)
	}
}

func TestDriftPolicyFor(t *testing.T) {
	p := DriftPolicy{Mode: DriftWarn, Modules: map[string]ModuleDriftPolicy{"a": {Mode: DriftIgnore}, "b": {Ignore: []DriftIgnoreRule{{Kind: "Deployment", Name: "x", Paths: []string{"/spec/replicas"}}}}}}
	if got := p.For("a").Mode; got != DriftIgnore {
		t.Errorf("a: %s", got)
	}
	if got := p.For("b").Mode; got != DriftWarn {
		t.Errorf("b: %s, want the default Warn", got)
	}
	if got := (DriftPolicy{}).For("c").Mode; got != DriftCorrect {
		t.Errorf("c: %s, want Correct", got)
	}
	ign := p.For("b").ignoredPaths(ObjectRef{Kind: "Deployment", Namespace: "ns", Name: "x"})
	if !cmp.Equal(ign, [][]string{{"spec", "replicas"}}) {
		t.Errorf("ignored %v", ign)
	}
	if ign := p.For("b").ignoredPaths(ObjectRef{Kind: "Deployment", Namespace: "ns", Name: "y"}); ign != nil {
		t.Errorf("another object: ignored %v", ign)
	}
}

// Manifest numbers are applied exactly as written, also beyond float64's
// precision.
func TestDecodeDocumentKeepsNumbers(t *testing.T) {
	obj, err := decodeDocument("kind: X\nspec:\n  big: 9007199254740993\n  small: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"X","spec":{"big":9007199254740993,"small":1}}`; string(data) != want {
		t.Errorf("got %s, want %s", data, want)
	}
	if deepCopyMap(obj)["spec"].(map[string]any)["big"] != json.Number("9007199254740993") {
		t.Errorf("deep copy lost the number")
	}
}
