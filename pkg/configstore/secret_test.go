package configstore

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func TestSplitSecret(t *testing.T) {
	paths := [][]string{{"grafana", "adminPassword"}, {"tokens"}, {"deep", "er", "key"}}
	tests := []struct {
		name       string
		in         string
		wantPlain  string
		wantSecret string
	}{
		{name: "no secret fields", in: "retention: 7d\ngrafana: {theme: dark}", wantPlain: "retention: 7d\ngrafana: {theme: dark}", wantSecret: "{}"},
		{
			name:       "nested field moves, siblings stay",
			in:         "retention: 7d\ngrafana: {theme: dark, adminPassword: pw}",
			wantPlain:  "retention: 7d\ngrafana: {theme: dark}",
			wantSecret: "grafana: {adminPassword: pw}",
		},
		{name: "a whole map is secret", in: "tokens: {a: x, b: y}\nr: 1", wantPlain: "r: 1", wantSecret: "tokens: {a: x, b: y}"},
		{name: "parents emptied by the move are dropped", in: "deep: {er: {key: k}}", wantPlain: "{}", wantSecret: "deep: {er: {key: k}}"},
		{name: "parents with other fields stay", in: "deep: {er: {key: k}, x: 1}", wantPlain: "deep: {x: 1}", wantSecret: "deep: {er: {key: k}}"},
		{name: "a path through a scalar is ignored", in: "grafana: 5", wantPlain: "grafana: 5", wantSecret: "{}"},
		{name: "a secret null still moves", in: "tokens: null", wantPlain: "{}", wantSecret: "tokens: null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := yamlValues(t, tt.in)
			before := in.DeepCopy()
			plain, secret := splitSecret(in, paths)
			if diff := cmp.Diff(yamlValues(t, tt.wantPlain), plain); diff != "" {
				t.Errorf("plain (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(yamlValues(t, tt.wantSecret), secret); diff != "" {
				t.Errorf("secret (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("input modified (-before +after):\n%s", diff)
			}
			if want, got := hasSecret(in, paths), len(secret) > 0; want != got {
				t.Errorf("hasSecret = %v, split found secret fields: %v", want, got)
			}
			if !values.Equal(values.Merge(plain, secret), in) {
				t.Errorf("merging the parts does not give the input back")
			}
		})
	}
}

func TestSnapshotSecrets(t *testing.T) {
	snap := emptySnapshot()
	snap.Global = values.Values{"domain": "example.com"}
	snap.Modules["prometheus"] = values.Values{
		"retention": "7d",
		"grafana":   map[string]any{"adminPassword": "pw-grafana", "theme": "dark"},
		"tokens":    map[string]any{"a": "tok-a", "b": []any{"tok-b", 12345.0, true, nil}},
	}
	got := snap.Secrets(newFakeSchemas())
	slices.Sort(got)
	want := []string{"12345", "pw-grafana", "tok-a", "tok-b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
}
