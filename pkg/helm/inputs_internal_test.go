package helm

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/seedops/addon-operator/pkg/values"
)

// The inputs checksum changes with everything that can change what Helm
// renders, and with nothing else.
func TestInputsChecksum(t *testing.T) {
	baseFiles := map[string]string{
		"modules/010-m/Chart.yaml": "apiVersion: v2\nname: m\nversion: 0.1.0\n" +
			"dependencies:\n- {name: up, version: 1.0.0, alias: m}\n- {name: lib, version: 1.0.0, repository: 'file://../../lib'}\n",
		"modules/010-m/templates/cm.yaml":          "kind: ConfigMap\n{{ semverCompare \">=1.25-0\" .Capabilities.KubeVersion.Version }}\n",
		"modules/010-m/charts/up/Chart.yaml":       "apiVersion: v2\nname: up\nversion: 1.0.0\n",
		"modules/010-m/charts/up/values.yaml":      "replicas: 1\n",
		"modules/010-m/charts/up/templates/a.yaml": "kind: ConfigMap\n",
		"modules/010-m/hooks/discover.sh":          "#!/bin/sh\n",
		"lib/Chart.yaml":                           "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
		"lib/templates/_x.tpl":                     "{{ define \"x\" }}{{ end }}\n",
	}
	baseCaps := func() *chartutil.Capabilities {
		caps := *chartutil.DefaultCapabilities
		caps.KubeVersion = chartutil.KubeVersion{Version: "v1.34.4", Major: "1", Minor: "34"}
		caps.APIVersions = chartutil.VersionSet{"v1", "apps/v1"}
		return &caps
	}
	type input struct {
		files    map[string]string
		name, ns string
		vals     values.Values
		caps     *chartutil.Capabilities
	}
	base := func() input {
		return input{files: maps.Clone(baseFiles), name: "m", ns: "addons", vals: values.Values{"m": map[string]any{"replicas": 2.0}}, caps: baseCaps()}
	}
	sum := func(t *testing.T, in input) string {
		t.Helper()
		root := t.TempDir()
		for name, content := range in.files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ch, err := loadChart(filepath.Join(root, "modules/010-m"), "m")
		if err != nil {
			t.Fatal(err)
		}
		return inputsChecksum(ch, in.name, in.ns, in.vals, in.caps)
	}
	readsAPIs := func(in *input) {
		in.files["modules/010-m/charts/up/templates/a.yaml"] = "{{ if .Capabilities.APIVersions.Has \"example.com/v1\" }}kind: X{{ end }}\n"
	}
	moreAPIs := func(in *input) { in.caps.APIVersions = append(in.caps.APIVersions, "example.com/v1") }

	tests := []struct {
		name     string
		both     func(*input) // applied to the reference too
		change   func(*input)
		wantSame bool
	}{
		{"nothing", nil, func(*input) {}, true},
		{"a hook, not chart content", nil, func(in *input) { in.files["modules/010-m/hooks/discover.sh"] = "#!/bin/sh\necho\n" }, true},
		{"API versions, read by no template", nil, moreAPIs, true},
		{"API versions, read by a dependency", readsAPIs, moreAPIs, false},
		{"a value no template reads", nil, func(in *input) { in.vals["m"].(map[string]any)["unused"] = true }, false},
		{"release name", nil, func(in *input) { in.name = "n" }, false},
		{"namespace", nil, func(in *input) { in.ns = "other" }, false},
		{"kube version", nil, func(in *input) { in.caps.KubeVersion.Version = "v1.35.0" }, false},
		{"a template", nil, func(in *input) { in.files["modules/010-m/templates/cm.yaml"] += "# more\n" }, false},
		{"a vendored dependency's values", nil, func(in *input) { in.files["modules/010-m/charts/up/values.yaml"] = "replicas: 3\n" }, false},
		{"a file:// dependency's template", nil, func(in *input) { in.files["lib/templates/_x.tpl"] += "\n" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := base(), base()
			if tt.both != nil {
				tt.both(&from)
				tt.both(&to)
			}
			tt.change(&to)
			ref, got := sum(t, from), sum(t, to)
			if (got == ref) != tt.wantSame {
				t.Errorf("checksum %s vs %s: same=%v, want %v", got, ref, got == ref, tt.wantSame)
			}
			if len(got) > 63 {
				t.Errorf("checksum %q longer than a label value may be", got)
			}
		})
	}
}

func TestTemplateReadsAPIVersions(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{`{{ .Capabilities.KubeVersion.Version }} {{ $.Capabilities.HelmVersion.Version }}`, false},
		{`{{ if .Capabilities.APIVersions.Has "policy/v1" }}`, true},
		{`{{ toYaml .Capabilities }}`, true},
		{`{{ include "x" (dict "caps" $.Capabilities) }}`, true},
		{`kind: ConfigMap`, false},
	}
	for _, tt := range tests {
		if got := templateReadsAPIVersions(tt.text); got != tt.want {
			t.Errorf("templateReadsAPIVersions(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}
