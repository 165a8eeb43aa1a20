package module

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

func chartVersion(v string) string { return "apiVersion: v2\nname: x\nversion: " + v + "\n" }

func TestDefinitionLoads(t *testing.T) {
	root := moduletest.Bundle(t,
		moduletest.Text("modules/cert-manager/Chart.yaml", chartVersion("1.14.2")),
		moduletest.Text("modules/cert-manager/module.yaml", "weight: 30\ndescription: certificates\ntags: [security]\nvalues: unwrapped\nrequirements:\n  kubernetes: \">= 1.29\"\n"),
		moduletest.Text("modules/cert-manager/values.yaml", "cert-manager: {}\n"),
		moduletest.Text("modules/dns/Chart.yaml", chart),
		moduletest.Text("modules/dns/module.yaml", "weight: 10\nrequirements:\n  modules:\n    cert-manager: \">= 1.12\"\n"),
		moduletest.Text("modules/020-legacy/Chart.yaml", chart),
		// Deckhouse's fields load unchanged; the prefix wins over weight.
		moduletest.Text("modules/040-deckhouse-style/module.yaml", "name: deckhouse-style\nweight: 900\nstage: General Availability\nnamespace: d8-x\nsubsystems: [network]\ncritical: true\ndescriptions: {en: x}\n"),
	)
	b, err := Load(DefaultPaths(root), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var order []string
	for _, m := range b.Modules {
		order = append(order, m.Name)
	}
	if diff := cmp.Diff([]string{"dns", "legacy", "cert-manager", "deckhouse-style"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	cm := b.Module("cert-manager")
	if !cm.Unwrapped() || cm.Definition.Description != "certificates" || cm.Version != "1.14.2" || cm.Order != 30 {
		t.Errorf("cert-manager: %+v %+v", cm, cm.Definition)
	}
	// An unwrapped module's values.yaml is never read as keyed.
	if diff := cmp.Diff(map[string]any{"cert-manager": map[string]any{}}, map[string]any(cm.Values)); diff != "" {
		t.Errorf("unwrapped values (-want +got):\n%s", diff)
	}
	if b.Module("deckhouse-style").Order != 40 {
		t.Errorf("deckhouse-style order = %d, want the prefix 40", b.Module("deckhouse-style").Order)
	}
	for _, tt := range []struct{ version, want string }{
		{"v1.34.4", ""},
		{"v1.30.2-eks-1234", ""},
		{"v1.28.9", `requirements.kubernetes ">= 1.29" is not met by the cluster's version v1.28.9`},
		{"banana", `cannot read the cluster version "banana"`},
	} {
		ok, why := cm.Definition.Requirements.KubernetesAllows(tt.version)
		if ok != (tt.want == "") || !strings.Contains(why, tt.want) {
			t.Errorf("KubernetesAllows(%s) = %v, %q; want %q", tt.version, ok, why, tt.want)
		}
	}
	if ok, _ := b.Module("dns").Definition.Requirements.KubernetesAllows("v1.0.0"); !ok {
		t.Error("no kubernetes requirement must allow any version")
	}
}

func TestPrerequisites(t *testing.T) {
	root := moduletest.Bundle(t,
		moduletest.Text("modules/010-a/Chart.yaml", chart),
		moduletest.Text("modules/020-b/Chart.yaml", chart),
		moduletest.Text("modules/c/module.yaml", "weight: 15\n"),
		moduletest.Text("modules/d/module.yaml", "weight: 25\nrequirements: {modules: {a: \"\", c: \"\"}}\n"),
		moduletest.Text("modules/030-e/Chart.yaml", chart),
		moduletest.Text("modules/030-f/Chart.yaml", chart),
	)
	b, err := Load(DefaultPaths(root), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	names := func(ms []*Module) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	want := map[string][]string{
		"d": {"a", "c"},           // module.yaml: only what it requires
		"a": {},                   // no module.yaml: every lower order
		"c": {},                   // module.yaml without requirements: nothing
		"b": {"a", "c"},           // no module.yaml
		"e": {"a", "c", "b", "d"}, // no module.yaml; not f, of the same order
		"f": {"a", "c", "b", "d"},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, names(b.Prerequisites(b.Module(name)))); diff != "" {
			t.Errorf("Prerequisites(%s) (-want +got):\n%s", name, diff)
		}
	}
}

func TestDefinitionRefused(t *testing.T) {
	tests := []struct {
		name  string
		files []moduletest.File
		want  string
	}{
		{
			name:  "unknown field",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "weight: 1\nwieght: 2\n")},
			want:  "<root>/modules/foo/module.yaml: want a module definition (weight, description, tags, values, requirements): yaml: unmarshal errors:\n  line 2: field wieght not found",
		},
		{
			name:  "unknown requirement",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "requirements:\n  helm: \">= 3\"\n")},
			want:  "line 2: field helm not found",
		},
		{
			name:  "bad kubernetes constraint",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "requirements:\n  kubernetes: \"newer than 1.29\"\n")},
			want:  `<root>/modules/foo/module.yaml: requirements.kubernetes "newer than 1.29": want a semver constraint such as ">= 1.29"`,
		},
		{
			name:  "bad module constraint",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "requirements:\n  modules: {bar: \"~> one\"}\n"), moduletest.Text("modules/bar/Chart.yaml", chart)},
			want:  `<root>/modules/foo/module.yaml: requirements.modules.bar "~> one": want a semver constraint`,
		},
		{
			name:  "requires itself",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "requirements:\n  modules: {foo: \"\"}\n")},
			want:  "<root>/modules/foo/module.yaml: requirements.modules.foo: a module cannot require itself",
		},
		{
			name:  "unknown module",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "requirements:\n  modules: {bar: \"\"}\n")},
			want:  `<root>/modules/foo/module.yaml: requirements.modules.bar: no module "bar" in the bundle`,
		},
		{
			name: "version not met",
			files: []moduletest.File{
				moduletest.Text("modules/foo/module.yaml", "requirements:\n  modules: {bar: \">= 2\"}\n"),
				moduletest.Text("modules/bar/Chart.yaml", chartVersion("1.4.0")),
			},
			want: `<root>/modules/foo/module.yaml: requirements.modules.bar ">= 2": module bar is version 1.4.0`,
		},
		{
			name: "version constraint on a module without a version",
			files: []moduletest.File{
				moduletest.Text("modules/foo/module.yaml", "requirements:\n  modules: {bar: \">= 2\"}\n"),
				moduletest.Hook("modules/bar/hooks/a.sh"),
			},
			want: `module bar has no semver version in its Chart.yaml (got "")`,
		},
		{
			name: "cycle of requirements",
			files: []moduletest.File{
				moduletest.Text("modules/foo/module.yaml", "requirements:\n  modules: {bar: \"\"}\n"),
				moduletest.Text("modules/bar/module.yaml", "requirements:\n  modules: {foo: \"\"}\n"),
			},
			want: "modules wait for each other in a cycle: bar requires foo; foo requires bar",
		},
		{
			name: "cycle through a module without module.yaml",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/module.yaml", "requirements:\n  modules: {bar: \"\"}\n"),
				moduletest.Text("modules/020-bar/Chart.yaml", chart),
			},
			want: "modules wait for each other in a cycle: foo requires bar; bar has no module.yaml, so it waits for every module of a lower order, such as foo",
		},
		{
			name:  "bad values mode",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "values: flat\n")},
			want:  `<root>/modules/foo/module.yaml: values "flat": want "wrapped" or "unwrapped"`,
		},
		{
			name:  "negative weight",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "weight: -1\n")},
			want:  "weight -1: want a number ≥ 0",
		},
		{
			name:  "another module's name",
			files: []moduletest.File{moduletest.Text("modules/010-foo/module.yaml", "name: bar\n")},
			want:  `<root>/modules/010-foo/module.yaml: name "bar" differs from the module's name "foo"`,
		},
		{
			name:  "not a map",
			files: []moduletest.File{moduletest.Text("modules/foo/module.yaml", "- weight\n")},
			want:  "<root>/modules/foo/module.yaml: want a module definition",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := moduletest.Bundle(t, tt.files...)
			b, err := Load(DefaultPaths(root), nil)
			if !errors.Is(err, ErrInvalidBundle) {
				t.Fatalf("Load: got (%v, %v), want an error wrapping ErrInvalidBundle", b, err)
			}
			if w := strings.ReplaceAll(tt.want, "<root>", root); !strings.Contains(err.Error(), w) {
				t.Errorf("error does not contain %q:\n%v", w, err)
			}
		})
	}
}

func TestUnwrappedSchema(t *testing.T) {
	chartSchema := `{"type":"object","required":["image"],"properties":{"image":{"type":"string"},"replicaCount":{"type":"integer"}}}`
	root := moduletest.Bundle(t,
		// values.schema.json validates the config section over values.yaml.
		moduletest.Text("modules/cert-manager/Chart.yaml", chart),
		moduletest.Text("modules/cert-manager/module.yaml", "values: unwrapped\n"),
		moduletest.Text("modules/cert-manager/values.yaml", "image: quay.io/x\nreplicaCount: 1\n"),
		moduletest.Text("modules/cert-manager/values.schema.json", chartSchema),
		// openapi/ wins over values.schema.json.
		moduletest.Text("modules/with-openapi/Chart.yaml", chart),
		moduletest.Text("modules/with-openapi/module.yaml", "values: unwrapped\n"),
		moduletest.Text("modules/with-openapi/values.schema.json", chartSchema),
		moduletest.Text("modules/with-openapi/openapi/config-values.yaml", "type: object\nproperties:\n  replicaCount: {type: string}\n"),
		// A wrapped module's values.schema.json stays Helm's alone.
		moduletest.Text("modules/wrapped/Chart.yaml", chart),
		moduletest.Text("modules/wrapped/values.schema.json", chartSchema),
	)
	b, err := Load(DefaultPaths(root), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		module, key string
		config      map[string]any
		want        string // "" when valid
	}{
		{"cert-manager", "certManager", map[string]any{"replicaCount": 2}, ""},
		{"cert-manager", "certManager", map[string]any{"replicaCount": "2"}, "certManager.replicaCount must be of type integer, got string"},
		{"with-openapi", "withOpenapi", map[string]any{"replicaCount": "2"}, ""},
		{"with-openapi", "withOpenapi", map[string]any{"replicaCount": 2}, "withOpenapi.replicaCount must be of type string"},
		{"wrapped", "wrapped", map[string]any{"replicaCount": "2"}, ""},
	}
	for _, tt := range tests {
		err := b.Module(tt.module).Schema.ValidateConfig(tt.key, tt.config)
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ValidateConfig(%v) = %v, want %q", tt.module, tt.config, err, tt.want)
		}
	}
}
