package configstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func yamlValues(t *testing.T, s string) values.Values {
	t.Helper()
	v, err := values.FromYAML([]byte(s))
	if err != nil {
		t.Fatalf("FromYAML(%q): %v", s, err)
	}
	return v
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name   string
		cm     map[string]string
		secret map[string]string
		want   func(t *testing.T) Snapshot
	}{
		{
			name: "no objects give an empty configuration",
			want: func(*testing.T) Snapshot { return emptySnapshot() },
		},
		{
			name: "sections, flags and the secret part merged in",
			cm: map[string]string{
				"global":              "clusterName: prod\nmodules: {https: {mode: Disabled}}\n",
				"operator":            "releaseChannel: stable\n",
				"ingressNginx":        "replicas: 2\nclass: nginx\n",
				"ingressNginxEnabled": "true",
				"certManagerEnabled":  "false\n",
				"prometheus":          "retention: 7d\ngrafana: {theme: dark}\n",
			},
			secret: map[string]string{"prometheus": "grafana: {adminPassword: s3cret}\n"},
			want: func(t *testing.T) Snapshot {
				s := emptySnapshot()
				s.Global = yamlValues(t, "clusterName: prod\nmodules: {https: {mode: Disabled}}")
				s.Operator = yamlValues(t, "releaseChannel: stable")
				s.Modules["ingressNginx"] = yamlValues(t, "replicas: 2\nclass: nginx")
				s.Modules["prometheus"] = yamlValues(t, "retention: 7d\ngrafana: {theme: dark, adminPassword: s3cret}")
				s.Enabled["ingressNginx"] = true
				s.Enabled["certManager"] = false
				return s
			},
		},
		{
			name:   "a section only in the secret",
			secret: map[string]string{"prometheus": "tokens: {a: x}\n"},
			want: func(t *testing.T) Snapshot {
				s := emptySnapshot()
				s.Modules["prometheus"] = yamlValues(t, "tokens: {a: x}")
				return s
			},
		},
		{
			name: "keys of no known module are ignored and listed, the rest is in force",
			cm: map[string]string{
				"ingressNginx":         "replicas: 2\n",
				"droppedModule":        "anything: [1, 2]\n",
				"droppedModuleEnabled": "true",
				"notYAML":              "a: [\n",
			},
			secret: map[string]string{"droppedModule": "password: x\n"},
			want: func(t *testing.T) Snapshot {
				s := emptySnapshot()
				s.Modules["ingressNginx"] = yamlValues(t, "replicas: 2")
				s.Unknown = []string{
					`configmap key "droppedModule": unknown key: no module of the running bundle has this values key (not "global", "operator" or a module's values key); ignored`,
					`configmap key "droppedModuleEnabled": unknown key: no module of the running bundle has values key "droppedModule"; ignored`,
					`configmap key "notYAML": unknown key: no module of the running bundle has this values key (not "global", "operator" or a module's values key); ignored`,
					`secret key "droppedModule": unknown key: no module of the running bundle has this values key (not "global", "operator" or a module's values key); ignored`,
				}
				return s
			},
		},
		{
			name: "an empty section is an empty map",
			cm:   map[string]string{"certManager": ""},
			want: func(t *testing.T) Snapshot {
				s := emptySnapshot()
				s.Modules["certManager"] = values.Values{}
				return s
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.cm, secretBytes(tt.secret), newFakeSchemas())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(t), got.snap); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		cm      map[string]string
		secret  map[string]string
		wantIs  []error
		wantMsg []string
	}{
		{
			name:    "section that is not YAML names key and line",
			cm:      map[string]string{"global": "a: 1\nb: [\n"},
			wantIs:  []error{ErrBadSection},
			wantMsg: []string{`configmap key "global"`, "line 2", "not valid YAML", "want a YAML map"},
		},
		{
			name:    "YAML problem on the first line names line 1",
			cm:      map[string]string{"prometheus": "a: b: c"},
			wantIs:  []error{ErrBadSection},
			wantMsg: []string{`configmap key "prometheus"`, "line 1"},
		},
		{
			name:    "section that is a list",
			cm:      map[string]string{"ingressNginx": "- a\n- b\n"},
			wantIs:  []error{ErrBadSection, values.ErrNotMap},
			wantMsg: []string{`configmap key "ingressNginx"`, "want a map", "got list"},
		},
		{
			name:    "section that is a scalar",
			cm:      map[string]string{"global": "hello"},
			wantIs:  []error{ErrBadSection, values.ErrNotMap},
			wantMsg: []string{`configmap key "global"`, "got string"},
		},
		{
			name:    "enabled flag that is not true or false",
			cm:      map[string]string{"ingressNginxEnabled": "yes"},
			wantIs:  []error{ErrBadEnabled},
			wantMsg: []string{`configmap key "ingressNginxEnabled"`, `want "true" or "false"`},
		},
		{
			name:    "global cannot be switched off",
			cm:      map[string]string{"globalEnabled": "false"},
			wantIs:  []error{ErrUnknownKey},
			wantMsg: []string{`configmap key "globalEnabled"`},
		},
		{
			name:    "operator cannot be switched off",
			cm:      map[string]string{"operatorEnabled": "false"},
			wantIs:  []error{ErrUnknownKey},
			wantMsg: []string{`configmap key "operatorEnabled"`, "cannot be switched off"},
		},
		{
			name:    "schema violation names the field path",
			cm:      map[string]string{"ingressNginx": "replicas: 0\n"},
			wantIs:  []error{ErrSchema},
			wantMsg: []string{`section "ingressNginx"`, "ingressNginx.replicas: want a number >= 1"},
		},
		{
			name:    "schema violation of the merged section",
			cm:      map[string]string{"ingressNginx": "replicas: 2\n"},
			secret:  map[string]string{"ingressNginx": "replicas: -1\n"},
			wantIs:  []error{ErrSchema},
			wantMsg: []string{`section "ingressNginx"`, "replicas"},
		},
		{
			name:    "secret section that is not YAML",
			secret:  map[string]string{"prometheus": "grafana: [\n"},
			wantIs:  []error{ErrBadSection},
			wantMsg: []string{`secret key "prometheus"`, "line"},
		},
		{
			name:    "enabled flag in the secret",
			secret:  map[string]string{"prometheusEnabled": "true"},
			wantIs:  []error{ErrUnknownKey},
			wantMsg: []string{`secret key "prometheusEnabled"`, "belong in the configmap"},
		},
		{
			name: "every problem of one edit at once",
			cm: map[string]string{
				"global":              "a: [\n",
				"ingressNginx":        "replicas: 0\nclass: 5\n",
				"ingressNginxEnabled": "on",
				"globalEnabled":       "false",
				"fooBar":              "{}",
				"prometheus":          "retention: 7d\n",
			},
			wantIs: []error{ErrBadSection, ErrSchema, ErrBadEnabled, ErrUnknownKey},
			wantMsg: []string{
				"5 problems", `"global"`, `"ingressNginxEnabled"`, `"globalEnabled"`,
				"ingressNginx.replicas", "ingressNginx.class",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.cm, secretBytes(tt.secret), newFakeSchemas())
			if err == nil {
				t.Fatal("parse accepted the configuration, want an error")
			}
			for _, target := range append([]error{ErrInvalidConfig}, tt.wantIs...) {
				if !errors.Is(err, target) {
					t.Errorf("error does not wrap %q: %v", target, err)
				}
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q: %v", s, err)
				}
			}
		})
	}
}

// An error never quotes the offending values, which may be secret.
func TestParseErrorsDoNotQuoteValues(t *testing.T) {
	_, err := parse(map[string]string{"ingressNginxEnabled": "hunter2"}, nil, newFakeSchemas())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error = %v, want a rejection that does not quote the value", err)
	}
}

func secretBytes(m map[string]string) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}
