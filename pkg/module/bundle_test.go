package module

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/seedops/addon-operator/pkg/values"
)

const fixture = "testdata/bundle"

// fixtureExecutables are the files of testdata/bundle that must keep mode
// 0755 in git: the loader only takes executables as hooks.
var fixtureExecutables = []string{
	"global-hooks/.hidden.sh",
	"global-hooks/discovery/cluster_domain.sh",
	"global-hooks/hooks/startup.sh",
	"global-hooks/lib/helpers.sh",
	"modules/010-ingress-nginx/enabled",
	"modules/010-ingress-nginx/hooks/discover_nodes.sh",
	"modules/010-ingress-nginx/hooks/discovery/ensure_class.py",
	"modules/010-ingress-nginx/hooks/lib/common.sh",
	"modules/030-prometheus/hooks/generate_password.sh",
}

func abs(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(fixture, rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func TestLoadFixtureBundle(t *testing.T) {
	for _, f := range fixtureExecutables {
		info, err := os.Stat(filepath.Join(fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o111 == 0 {
			t.Fatalf("fixture %s lost its executable bit (git core.fileMode?): chmod 0755 it", f)
		}
	}

	log, logged := newLogRecorder()
	b, err := Load(DefaultPaths(fixture), log)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	t.Run("static values: root values.yaml with modules/values.yaml over it", func(t *testing.T) {
		want := values.Values{
			"global": map[string]any{
				"clusterName":  "dev",
				"storageClass": "local-path",
				"modules": map[string]any{
					"publicDomainTemplate": "%s.example.com",
					"https":                map[string]any{"mode": "CertManager"},
				},
			},
			"ingressNginx":        map[string]any{"replicas": 2.0},
			"ingressNginxEnabled": true,
			"certManagerEnabled":  false,
			"prometheusEnabled":   true,
		}
		if diff := cmp.Diff(want, b.Values); diff != "" {
			t.Errorf("Values (-want +got):\n%s", diff)
		}
	})

	t.Run("global hooks", func(t *testing.T) {
		want := []Hook{
			{Path: abs(t, "global-hooks/discovery/cluster_domain.sh"), Name: "discovery/cluster_domain.sh"},
			{Path: abs(t, "global-hooks/hooks/startup.sh"), Name: "hooks/startup.sh"},
		}
		if diff := cmp.Diff(want, b.GlobalHooks); diff != "" {
			t.Errorf("GlobalHooks (-want +got):\n%s", diff)
		}
	})

	t.Run("global schema", func(t *testing.T) {
		if b.GlobalSchema.Config == nil || b.GlobalSchema.Values == nil {
			t.Fatalf("GlobalSchema: got %+v, want both schemas", b.GlobalSchema)
		}
		if err := b.GlobalSchema.ValidateValues("global", b.Values.Section("global")); err != nil {
			t.Errorf("static global values do not validate: %v", err)
		}
	})

	t.Run("modules", func(t *testing.T) {
		want := []*Module{
			{
				Name:             "ingress-nginx",
				Order:            10,
				Dir:              abs(t, "modules/010-ingress-nginx"),
				ValuesKey:        "ingressNginx",
				EnabledKey:       "ingressNginxEnabled",
				Values:           values.Values{"replicas": 1.0, "class": "nginx", "internal": map[string]any{}},
				EnabledByDefault: ptr(true), // modules/values.yaml wins over the module's false
				Hooks: []Hook{
					{Path: abs(t, "modules/010-ingress-nginx/hooks/discover_nodes.sh"), Name: "010-ingress-nginx/hooks/discover_nodes.sh", Module: "ingress-nginx"},
					{Path: abs(t, "modules/010-ingress-nginx/hooks/discovery/ensure_class.py"), Name: "010-ingress-nginx/hooks/discovery/ensure_class.py", Module: "ingress-nginx"},
				},
				EnabledScript: abs(t, "modules/010-ingress-nginx/enabled"),
				CRDs: []string{
					abs(t, "modules/010-ingress-nginx/crds/backends.json"),
					abs(t, "modules/010-ingress-nginx/crds/ingressclassparams.yaml"),
				},
				HasChart: true,
				Releases: true,
				Version:  "0.1.0",
			},
			{
				Name:             "cert-manager",
				Order:            20,
				Dir:              abs(t, "modules/020-cert-manager"),
				ValuesKey:        "certManager",
				EnabledKey:       "certManagerEnabled",
				Values:           values.Values{"issuer": "letsencrypt", "acme": map[string]any{"email": "admin@example.com"}},
				EnabledByDefault: ptr(false),
				HasChart:         true,
				Releases:         true,
				Version:          "1.2.3",
			},
			{
				Name:             "prometheus",
				Order:            30,
				Dir:              abs(t, "modules/030-prometheus"),
				ValuesKey:        "prometheus",
				EnabledKey:       "prometheusEnabled",
				Values:           values.Values{},
				EnabledByDefault: ptr(true), // the bundle's values.yaml wins over the module's false
				Hooks: []Hook{
					{Path: abs(t, "modules/030-prometheus/hooks/generate_password.sh"), Name: "030-prometheus/hooks/generate_password.sh", Module: "prometheus"},
				},
			},
		}
		if diff := cmp.Diff(want, b.Modules, cmpopts.IgnoreFields(Module{}, "Schema")); diff != "" {
			t.Errorf("Modules (-want +got):\n%s", diff)
		}
	})

	t.Run("module schemas", func(t *testing.T) {
		tests := []struct {
			module        string
			secrets       [][]string
			valuesDefault map[string]any
		}{
			{
				module:        "ingress-nginx",
				secrets:       [][]string{{"auth", "password"}},
				valuesDefault: map[string]any{"class": "nginx", "replicas": 1.0, "mode": "Deployment", "internal": map[string]any{}},
			},
			{
				module:        "cert-manager",
				secrets:       [][]string{{"acme", "eabKey"}},
				valuesDefault: map[string]any{},
			},
			{
				module:        "prometheus",
				secrets:       [][]string{{"grafana", "adminPassword"}},
				valuesDefault: map[string]any{"retentionDays": 15.0, "grafana": map[string]any{}},
			},
		}
		for _, tt := range tests {
			m := b.Module(tt.module)
			if diff := cmp.Diff(tt.secrets, m.Schema.SecretPaths()); diff != "" {
				t.Errorf("%s: SecretPaths (-want +got):\n%s", tt.module, diff)
			}
			if diff := cmp.Diff(tt.valuesDefault, m.Schema.ValuesDefaults(nil)); diff != "" {
				t.Errorf("%s: ValuesDefaults (-want +got):\n%s", tt.module, diff)
			}
			static := values.Merge(b.Values.Section(m.ValuesKey), m.Values)
			if err := m.Schema.ValidateValues(m.ValuesKey, m.Schema.ValuesDefaults(static)); err != nil {
				t.Errorf("%s: static values do not validate: %v", tt.module, err)
			}
		}
	})

	t.Run("lookups", func(t *testing.T) {
		if m := b.Module("cert-manager"); m == nil || m.ValuesKey != "certManager" {
			t.Errorf("Module(cert-manager) = %+v", m)
		}
		if m := b.ModuleByValuesKey("ingressNginx"); m == nil || m.Name != "ingress-nginx" {
			t.Errorf("ModuleByValuesKey(ingressNginx) = %+v", m)
		}
		for _, missing := range []string{"Helpers", "helpers", "010-ingress-nginx", "global"} {
			if m := b.Module(missing); m != nil {
				t.Errorf("Module(%q) = %s, want nil", missing, m.Name)
			}
			if m := b.ModuleByValuesKey(missing); m != nil {
				t.Errorf("ModuleByValuesKey(%q) = %s, want nil", missing, m.Name)
			}
		}
		var nilBundle *Bundle
		if nilBundle.Module("x") != nil || nilBundle.ModuleByValuesKey("x") != nil {
			t.Error("lookups on a nil Bundle must return nil")
		}
	})

	t.Run("warnings name the skipped files", func(t *testing.T) {
		want := []logEntry{
			{Level: slog.LevelWarn, Msg: "hook file skipped: not executable", Attrs: map[string]string{
				"module": "ingress-nginx", "file": abs(t, "modules/010-ingress-nginx/hooks/README.md"),
			}},
			{Level: slog.LevelWarn, Msg: "directory skipped: not a module directory (want NNN-name, lower-case letters, digits and dashes)", Attrs: map[string]string{
				"file": abs(t, "modules/Helpers"),
			}},
		}
		if diff := cmp.Diff(want, logged(), cmpopts.SortSlices(func(a, b logEntry) bool { return a.Msg < b.Msg })); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})
}

func TestLoadMissingParts(t *testing.T) {
	tests := []struct {
		name  string
		paths Paths
	}{
		{name: "nothing on disk", paths: DefaultPaths(filepath.Join(t.TempDir(), "absent"))},
		{name: "empty bundle dir", paths: DefaultPaths(t.TempDir())},
		{name: "zero Paths", paths: Paths{}},
		{name: "empty entries in a modules dir list", paths: Paths{ModulesDirs: []string{"", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Load(tt.paths, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(b.Values) != 0 || len(b.GlobalHooks) != 0 || len(b.Modules) != 0 ||
				b.GlobalSchema.Config != nil || b.GlobalSchema.Values != nil {
				t.Fatalf("got %+v, want an empty bundle", b)
			}
		})
	}
}
