package configstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func TestPlanPatch(t *testing.T) {
	tests := []struct {
		name       string
		cm         map[string]string
		secret     map[string]string
		patch      string
		wantCM     map[string]string // compared as YAML content
		wantSecret map[string]string // compared as YAML content
		keepText   []string          // ConfigMap keys whose text must stay byte for byte
		wantMoved  []string
	}{
		{
			name:       "plain fields go to the configmap, x-secret fields to the secret",
			patch:      `[{"op":"add","path":"/prometheus/retention","value":"7d"},{"op":"add","path":"/prometheus/grafana/adminPassword","value":"pw"}]`,
			wantCM:     map[string]string{"prometheus": "retention: 7d"},
			wantSecret: map[string]string{"prometheus": "grafana: {adminPassword: pw}"},
		},
		{
			name:     "untouched sections keep their text",
			cm:       map[string]string{"global": "# set by the admin\na: 1\n", "ingressNginx": "replicas: 2\n", "ingressNginxEnabled": "true"},
			patch:    `[{"op":"replace","path":"/ingressNginx/replicas","value":3}]`,
			wantCM:   map[string]string{"global": "a: 1", "ingressNginx": "replicas: 3", "ingressNginxEnabled": "true"},
			keepText: []string{"global", "ingressNginxEnabled"},
		},
		{
			name:       "keys of no known module stay as they are",
			cm:         map[string]string{"dropped": "anything: [1]\n", "droppedEnabled": "true", "ingressNginx": "replicas: 2\n"},
			secret:     map[string]string{"dropped": "password: x\n"},
			patch:      `[{"op":"replace","path":"/ingressNginx/replicas","value":3}]`,
			wantCM:     map[string]string{"dropped": "anything: [1]", "droppedEnabled": "true", "ingressNginx": "replicas: 3"},
			keepText:   []string{"dropped", "droppedEnabled"},
			wantSecret: map[string]string{"dropped": "password: x"},
		},
		{
			name:       "an x-secret field found in the configmap moves to the secret",
			cm:         map[string]string{"prometheus": "grafana: {adminPassword: pw, theme: dark}\nretention: 1d\n", "global": "a: 1\n"},
			patch:      `[{"op":"add","path":"/global/b","value":2}]`,
			wantCM:     map[string]string{"prometheus": "grafana: {theme: dark}\nretention: 1d", "global": "{a: 1, b: 2}"},
			wantSecret: map[string]string{"prometheus": "grafana: {adminPassword: pw}"},
			wantMoved:  []string{"prometheus"},
		},
		{
			name:       "changing a secret field leaves the configmap text alone",
			cm:         map[string]string{"prometheus": "# keep me\nretention: 1d\n"},
			secret:     map[string]string{"prometheus": "grafana: {adminPassword: old}\n"},
			patch:      `[{"op":"replace","path":"/prometheus/grafana/adminPassword","value":"new"}]`,
			wantCM:     map[string]string{"prometheus": "retention: 1d"},
			wantSecret: map[string]string{"prometheus": "grafana: {adminPassword: new}"},
			keepText:   []string{"prometheus"},
		},
		{
			name:   "removing a section removes both parts",
			cm:     map[string]string{"prometheus": "retention: 1d\n", "global": "a: 1\n"},
			secret: map[string]string{"prometheus": "tokens: {a: x}\n"},
			patch:  `[{"op":"remove","path":"/prometheus"}]`,
			wantCM: map[string]string{"global": "a: 1"},
		},
		{
			name:   "move between sections",
			cm:     map[string]string{"global": "x: {y: 1}\nz: 2\n", "certManager": "a: 1\n"},
			patch:  `[{"op":"move","from":"/global/x","path":"/certManager/x"}]`,
			wantCM: map[string]string{"global": "z: 2", "certManager": "{a: 1, x: {y: 1}}"},
		},
		{
			name:     "a patch that changes nothing writes nothing",
			cm:       map[string]string{"global": "# c\na: 1\n"},
			patch:    `[{"op":"remove","path":"/global/absent"}]`,
			wantCM:   map[string]string{"global": "a: 1"},
			keepText: []string{"global"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := values.ParsePatch([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := planPatch(tt.cm, secretBytes(tt.secret), p, newFakeSchemas())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(dataValues(t, tt.wantCM), dataValues(t, plan.cm)); diff != "" {
				t.Errorf("configmap (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(dataValues(t, tt.wantSecret), dataValues(t, secretStrings(plan.secret))); diff != "" {
				t.Errorf("secret (-want +got):\n%s", diff)
			}
			for _, key := range tt.keepText {
				if plan.cm[key] != tt.cm[key] {
					t.Errorf("configmap key %q rewritten: %q, want %q", key, plan.cm[key], tt.cm[key])
				}
			}
			if diff := cmp.Diff(tt.wantMoved, plan.moved); diff != "" {
				t.Errorf("moved sections (-want +got):\n%s", diff)
			}
			wantCMChanged := !cmp.Equal(dataValues(t, tt.cm), dataValues(t, tt.wantCM)) || len(tt.wantMoved) > 0
			if plan.cmChanged != wantCMChanged {
				t.Errorf("cmChanged = %v, want %v", plan.cmChanged, wantCMChanged)
			}
			wantSecretChanged := !cmp.Equal(dataValues(t, tt.secret), dataValues(t, tt.wantSecret))
			if plan.secretChanged != wantSecretChanged {
				t.Errorf("secretChanged = %v, want %v", plan.secretChanged, wantSecretChanged)
			}
			merged, err := parse(plan.cm, plan.secret, newFakeSchemas())
			if err != nil {
				t.Fatalf("written data is not accepted: %v", err)
			}
			if diff := cmp.Diff(merged.snap, plan.snap); diff != "" {
				t.Errorf("plan snapshot differs from the written data (-data +plan):\n%s", diff)
			}
		})
	}
}

func TestPlanPatchRefuses(t *testing.T) {
	tests := []struct {
		name    string
		cm      map[string]string
		patch   string
		wantIs  []error
		wantMsg []string
	}{
		{
			name:    "a result that violates the schema",
			cm:      map[string]string{"ingressNginx": "replicas: 2\n"},
			patch:   `[{"op":"replace","path":"/ingressNginx/replicas","value":0}]`,
			wantIs:  []error{ErrInvalidConfig, ErrSchema},
			wantMsg: []string{"result of the patch", "ingressNginx.replicas"},
		},
		{
			name:    "a section replaced by a scalar",
			patch:   `[{"op":"add","path":"/global","value":5}]`,
			wantIs:  []error{ErrInvalidConfig, ErrBadSection, values.ErrNotMap},
			wantMsg: []string{`section "global"`, "got number"},
		},
		{
			name:    "a path rooted at no section",
			patch:   `[{"op":"add","path":"/fooBar/x","value":1}]`,
			wantIs:  []error{values.ErrInvalidPatch, ErrUnknownKey},
			wantMsg: []string{`"fooBar" is not a section`, "operation 0"},
		},
		{
			name:    "an enabled flag is not a section",
			patch:   `[{"op":"add","path":"/ingressNginxEnabled","value":true}]`,
			wantIs:  []error{ErrUnknownKey},
			wantMsg: []string{`"ingressNginxEnabled" is not a section`},
		},
		{
			name:    "move from no section",
			patch:   `[{"op":"add","path":"/global/a","value":1},{"op":"move","from":"/fooBar/x","path":"/global/x"}]`,
			wantIs:  []error{ErrUnknownKey},
			wantMsg: []string{"operation 1", `"fooBar"`},
		},
		{
			name:    "an operation that fails",
			cm:      map[string]string{"global": "a: 1\n"},
			patch:   `[{"op":"replace","path":"/global/missing","value":1}]`,
			wantIs:  []error{values.ErrPatchFailed},
			wantMsg: []string{"/global/missing"},
		},
		{
			name:    "a stored configuration that is itself rejected",
			cm:      map[string]string{"global": "a: [\n"},
			patch:   `[{"op":"add","path":"/certManager/a","value":1}]`,
			wantIs:  []error{ErrInvalidConfig, ErrBadSection},
			wantMsg: []string{"fix it first", `configmap key "global"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := values.ParsePatch([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			_, err = planPatch(tt.cm, nil, p, newFakeSchemas())
			if err == nil {
				t.Fatal("planPatch accepted the patch, want an error")
			}
			for _, target := range tt.wantIs {
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

// dataValues parses every value of ConfigMap-like data as YAML so that
// formatting does not matter; nil and empty data are equal.
func dataValues(t *testing.T, data map[string]string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range data {
		if strings.HasSuffix(k, enabledSuffix) {
			out[k] = v
			continue
		}
		out[k] = yamlValues(t, v)
	}
	return out
}

func secretStrings(data map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range data {
		out[k] = string(v)
	}
	return out
}
