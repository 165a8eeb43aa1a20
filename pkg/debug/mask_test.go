package debug

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func TestMaskSections(t *testing.T) {
	vals := func() values.Values {
		v, err := values.FromYAML([]byte(`
global:
  registry: {host: r.example.com, password: g-secret}
app:
  auth:
    oidc: {clientID: app, clientSecret: o-secret}
  tokens: [t1, t2]
  empty: null
  plain: 3
`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		paths map[string][][]string
		show  bool
		want  string
	}{
		{
			name:  "nested paths of two sections, list subtree",
			paths: map[string][][]string{"global": {{"registry", "password"}}, "app": {{"auth", "oidc", "clientSecret"}, {"tokens"}}},
			want:  `{"app":{"auth":{"oidc":{"clientID":"app","clientSecret":"***"}},"empty":null,"plain":3,"tokens":"***"},"global":{"registry":{"host":"r.example.com","password":"***"}}}`,
		},
		{
			name:  "a secret map is masked whole",
			paths: map[string][][]string{"app": {{"auth"}}},
			want:  `{"app":{"auth":"***","empty":null,"plain":3,"tokens":["t1","t2"]},"global":{"registry":{"host":"r.example.com","password":"g-secret"}}}`,
		},
		{
			name:  "absent, null, through a scalar and unknown sections are left alone",
			paths: map[string][][]string{"app": {{"missing"}, {"empty"}, {"plain", "x"}, {"auth", "nope", "x"}}, "other": {{"a"}}},
			want:  `{"app":{"auth":{"oidc":{"clientID":"app","clientSecret":"o-secret"}},"empty":null,"plain":3,"tokens":["t1","t2"]},"global":{"registry":{"host":"r.example.com","password":"g-secret"}}}`,
		},
		{
			name:  "show",
			paths: map[string][][]string{"global": {{"registry", "password"}}},
			show:  true,
			want:  `{"app":{"auth":{"oidc":{"clientID":"app","clientSecret":"o-secret"}},"empty":null,"plain":3,"tokens":["t1","t2"]},"global":{"registry":{"host":"r.example.com","password":"g-secret"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := vals()
			got, err := maskSections(in, tt.paths, tt.show)
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(data)); diff != "" {
				t.Errorf("masked (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(vals(), in); diff != "" {
				t.Errorf("the input changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretStrings(t *testing.T) {
	v, err := values.FromYAML([]byte("app: {pin: 1234, on: true, creds: {user: u1, keys: [k1, k2]}, plain: p}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := secretStrings(v, map[string][][]string{"app": {{"pin"}, {"on"}, {"creds"}}})
	want := map[string]bool{"1234": true, "u1": true, "k1": true, "k2": true}
	if diff := cmp.Diff(want, toSet(got)); diff != "" {
		t.Errorf("secret strings (-want +got):\n%s", diff)
	}
}

func TestManifestSecrets(t *testing.T) {
	manifest := `---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: not-secret}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {password: cGFzcw==}
stringData:
  key: |
    line1
    line2
`
	want := map[string]bool{"cGFzcw==": true, "line1\nline2": true}
	if diff := cmp.Diff(want, toSet(manifestSecrets(manifest))); diff != "" {
		t.Errorf("manifest secrets (-want +got):\n%s", diff)
	}
}

func toSet(list []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range list {
		out[s] = true
	}
	return out
}
