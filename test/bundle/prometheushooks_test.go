package bundle_test

import (
	"encoding/base64"
	"encoding/json"
	hookpkg "github.com/seedops/addon-operator/pkg/hook"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/flant/shell-operator/pkg/kube/object_patch"
	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/shacrypt"
	"github.com/seedops/addon-operator/pkg/values"
)

func prometheusHook(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(moduleDir(t, "prometheus"), "hooks", name)
}

// prometheusValues are the module's effective values as the operator hands
// them to hooks: global static values, the module's values.yaml section and
// the given config section on top.
func prometheusValues(t *testing.T, config values.Values) values.Values {
	t.Helper()
	static := readYAML(t, filepath.Join(moduleDir(t, "prometheus"), "values.yaml")).Section("prometheus")
	return values.Values{
		"global":     rootValues(t).Section("global"),
		"prometheus": map[string]any(values.Merge(static, config.Section("prometheus"))),
	}
}

// cryptMatches reports whether an "admin:$6$salt$hash" line is the SHA-512
// crypt of password, checked as NGINX would check it: hashed again with the
// line's salt (pkg/shacrypt, tested against the specification's vectors).
func cryptMatches(t *testing.T, line, password string) bool {
	t.Helper()
	m := regexp.MustCompile(`^admin:\$6\$([./0-9A-Za-z]{1,16})\$[./0-9A-Za-z]{86}$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("htpasswd line %q is not admin:<SHA-512 crypt>", line)
	}
	return "admin:"+shacrypt.Crypt512(password, m[1]) == line
}

// applyStrict applies a patch under plain RFC 6902 (no creation of missing
// parents), as stricter operators (flant/addon-operator) do.
func applyStrict(t *testing.T, doc values.Values, p values.Patch) values.Values {
	t.Helper()
	decoded, err := jsonpatch.DecodePatch(p.JSON())
	if err != nil {
		t.Fatal(err)
	}
	out, err := decoded.Apply(doc.JSON())
	if err != nil {
		t.Fatalf("patch %s does not apply under strict RFC 6902 to %s: %v", p.JSON(), doc.JSON(), err)
	}
	v, err := values.FromJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGrafanaPasswordGeneratedWhenAbsent(t *testing.T) {
	hookPath := prometheusHook(t, "generate_grafana_password.sh")
	set := schemas(t, moduleDir(t, "prometheus"))
	tests := []struct {
		name   string
		config string
	}{
		{"no prometheus section", `{}`},
		{"empty section", `prometheus: {}`},
		{"section without grafana", `prometheus: {retention: {time: 30d}}`},
		{"grafana without password", `prometheus: {grafana: {enabled: true}}`},
		{"empty password", `prometheus: {grafana: {adminPassword: ""}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := mustYAML(t, tt.config)
			out := runHook(t, hookPath, hookInput{
				contexts:     encodeContexts(t, lifecycleContext(hookpkg.BeforeHelm, snapshots{"basic_auth_secret": nil})),
				values:       prometheusValues(t, config),
				configValues: config,
			})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			for _, op := range out.configValuesPatch {
				if op.Root() != "prometheus" {
					t.Errorf("config patch operation %s %s is not rooted at /prometheus", op.Op, op.Path)
				}
			}
			patched := applyStrict(t, config, out.configValuesPatch)
			if !cmp.Equal(patched, mustApply(t, config, out.configValuesPatch)) {
				t.Errorf("strict and lenient application of the config patch differ")
			}
			password, _ := patched.Get("prometheus.grafana.adminPassword").Value().(string)
			if !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(password) {
				t.Fatalf("generated password has the wrong shape (len %d)", len(password))
			}
			// Other config fields are kept.
			if diff := cmp.Diff(withoutPassword(config), withoutPassword(patched)); diff != "" {
				t.Errorf("config fields other than the password changed (-want +got):\n%s", diff)
			}
			if err := set.ValidateConfig("prometheus", patched.Section("prometheus")); err != nil {
				t.Errorf("config after the patch is refused by the schema: %v", err)
			}
			if strings.Contains(out.stdout+out.stderr, password) {
				t.Errorf("the hook printed the password")
			}
			htpasswd, _ := mustApply(t, prometheusValues(t, config), out.valuesPatch).Get("prometheus.internal.basicAuth.htpasswd").Value().(string)
			if !cryptMatches(t, htpasswd, password) {
				t.Errorf("htpasswd line does not match the generated password")
			}
		})
	}
}

func TestGrafanaPasswordKeptWhenPresent(t *testing.T) {
	hookPath := prometheusHook(t, "generate_grafana_password.sh")
	const password = "s3cr3t-Pa55word-that-stays"
	config := mustYAML(t, `prometheus: {grafana: {adminPassword: "`+password+`"}}`)
	for run := 0; run < 3; run++ {
		out := runHook(t, hookPath, hookInput{
			contexts:     encodeContexts(t, lifecycleContext(hookpkg.BeforeHelm, snapshots{"basic_auth_secret": nil})),
			values:       prometheusValues(t, config),
			configValues: config,
		})
		if out.exitCode != 0 {
			t.Fatalf("run %d: exit code %d: %s", run, out.exitCode, out.stderr)
		}
		if len(out.configValuesPatch) != 0 {
			t.Fatalf("run %d: existing password replaced: config patch %d operations", run, len(out.configValuesPatch))
		}
		if strings.Contains(out.stdout+out.stderr, password) {
			t.Errorf("run %d: the hook printed the password", run)
		}
		if len(out.valuesPatch) != 1 || out.valuesPatch[0].Path != "/prometheus/internal/basicAuth" {
			t.Fatalf("run %d: values patch = %s, want one operation on /prometheus/internal/basicAuth", run, out.valuesPatch.JSON())
		}
		htpasswd, _ := mustApply(t, prometheusValues(t, config), out.valuesPatch).Get("prometheus.internal.basicAuth.htpasswd").Value().(string)
		if !cryptMatches(t, htpasswd, password) {
			t.Errorf("run %d: htpasswd line does not match the password", run)
		}
	}
}

// TestGrafanaPasswordHtpasswdStable: the line already in the cluster's
// Secret is reused while it matches the password (stable manifests), and
// replaced when the password changed.
func TestGrafanaPasswordHtpasswdStable(t *testing.T) {
	hookPath := prometheusHook(t, "generate_grafana_password.sh")
	const password = "first-Password-0123456789"
	config := mustYAML(t, `prometheus: {grafana: {adminPassword: "`+password+`"}}`)
	first := runHook(t, hookPath, hookInput{values: prometheusValues(t, config), configValues: config,
		contexts: encodeContexts(t, lifecycleContext(hookpkg.BeforeHelm, snapshots{"basic_auth_secret": nil}))})
	line, _ := mustApply(t, prometheusValues(t, config), first.valuesPatch).Get("prometheus.internal.basicAuth.htpasswd").Value().(string)

	secretSnapshot := func(line string) string {
		secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
			"metadata": map[string]any{"name": "prometheus-basic-auth", "namespace": "addon-operator", "labels": map[string]any{
				"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "addon-operator"}},
			"data": map[string]any{"auth": base64.StdEncoding.EncodeToString([]byte(line))}}
		return encodeContexts(t, lifecycleContext(hookpkg.BeforeHelm, snapshots{
			"basic_auth_secret": watched(t, hookPath, false, "basic_auth_secret", secret),
		}))
	}
	tests := []struct {
		name      string
		password  string
		reuse     bool
		inCluster string
	}{
		{"same password: reused", password, true, line},
		{"password changed: new line", "second-Password-0123456789", false, line},
		{"garbage in the Secret: new line", password, false, "admin:plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := mustYAML(t, `prometheus: {grafana: {adminPassword: "`+tt.password+`"}}`)
			out := runHook(t, hookPath, hookInput{values: prometheusValues(t, config), configValues: config, contexts: secretSnapshot(tt.inCluster)})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			got, _ := mustApply(t, prometheusValues(t, config), out.valuesPatch).Get("prometheus.internal.basicAuth.htpasswd").Value().(string)
			if tt.reuse && got != tt.inCluster {
				t.Errorf("line in the cluster not reused")
			}
			if !tt.reuse && got == tt.inCluster {
				t.Errorf("stale line reused")
			}
			if !cryptMatches(t, got, tt.password) {
				t.Errorf("htpasswd line does not match the password")
			}
			if err := schemas(t, moduleDir(t, "prometheus")).ValidateValues("prometheus",
				mustApply(t, prometheusValues(t, config), out.valuesPatch).Section("prometheus")); err != nil {
				t.Errorf("values after the patch are refused by the values schema: %v", err)
			}
		})
	}
}

func TestRecreateStatefulSetOnStorageChange(t *testing.T) {
	hookPath := prometheusHook(t, "recreate_statefulset_on_storage_change.sh")
	sts := func(class, size string, deleting bool) map[string]any {
		tpl := map[string]any{"metadata": map[string]any{"name": "data"}, "spec": map[string]any{
			"accessModes": []any{"ReadWriteOnce"},
			"resources":   map[string]any{"requests": map[string]any{"storage": size}},
		}}
		if class != "" {
			tpl["spec"].(map[string]any)["storageClassName"] = class
		}
		meta := map[string]any{"name": "prometheus", "namespace": "addon-operator", "labels": map[string]any{
			"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "addon-operator"}}
		if deleting {
			meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
		}
		return map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
			"spec": map[string]any{"volumeClaimTemplates": []any{tpl}}}
	}
	deleteOp := `{"operation":"DeleteNonCascading","apiVersion":"apps/v1","kind":"StatefulSet","namespace":"addon-operator","name":"prometheus"}`
	tests := []struct {
		name      string
		objects   []map[string]any
		discovery string // global.discovery.defaultStorageClass
		config    string
		namespace string // ADDON_OPERATOR_NAMESPACE
		want      string // "" for no operation
	}{
		{"no StatefulSet yet", nil, "standard", `{}`, "", ""},
		{"unchanged, no class anywhere", []map[string]any{sts("", "20Gi", false)}, "", `{}`, "", ""},
		{"unchanged, discovered class", []map[string]any{sts("standard", "20Gi", false)}, "standard", `{}`, "", ""},
		{"same size in other units", []map[string]any{sts("", "1Gi", false)}, "", `prometheus: {storage: {size: 1024Mi}}`, "", ""},
		{"default class appeared", []map[string]any{sts("", "20Gi", false)}, "standard", `{}`, "", deleteOp},
		{"explicit class wins over discovered", []map[string]any{sts("standard", "20Gi", false)}, "standard", `prometheus: {storage: {storageClass: fast}}`, "", deleteOp},
		{"explicit class unchanged", []map[string]any{sts("fast", "20Gi", false)}, "standard", `prometheus: {storage: {storageClass: fast}}`, "", ""},
		{"size changed", []map[string]any{sts("", "20Gi", false)}, "", `prometheus: {storage: {size: 50Gi}}`, "", deleteOp},
		{"already being deleted", []map[string]any{sts("", "20Gi", true)}, "standard", `{}`, "", ""},
		{"operator namespace set: its StatefulSet", []map[string]any{sts("", "20Gi", false)}, "standard", `{}`, "addon-operator", deleteOp},
		{"operator namespace set: another namespace's StatefulSet", []map[string]any{sts("", "20Gi", false)}, "standard", `{}`, "other-operator", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := mustYAML(t, tt.config)
			vals := prometheusValues(t, config)
			vals = mustApply(t, vals, values.Patch{{Op: "add", Path: "/global/discovery/defaultStorageClass", Value: []byte(`"` + tt.discovery + `"`)}})
			snapshot := watched(t, hookPath, false, "statefulset", tt.objects...)
			out := runHook(t, hookPath, hookInput{
				contexts: encodeContexts(t, lifecycleContext(hookpkg.BeforeHelm, snapshots{"statefulset": snapshot})),
				values:   vals, configValues: config,
				env: envIf("ADDON_OPERATOR_NAMESPACE", tt.namespace),
			})
			if out.exitCode != 0 {
				t.Fatalf("exit code %d: %s", out.exitCode, out.stderr)
			}
			// Compared as JSON: jq implementations differ in key order
			// (gojq sorts keys), and the operator reads it as JSON.
			got := strings.TrimSpace(string(out.kubernetesPatch))
			if (got == "") != (tt.want == "") || got != "" && !cmp.Equal(decodeJSON(t, got), decodeJSON(t, tt.want)) {
				t.Fatalf("kubernetes patch = %q, want %q", got, tt.want)
			}
			if got != "" {
				parsed, err := object_patch.ParseOperations([]byte(got))
				if err != nil || len(parsed) != 1 {
					t.Fatalf("shell-operator refuses the operation: %v (%d operations)", err, len(parsed))
				}
			}
			if len(out.valuesPatch)+len(out.configValuesPatch) != 0 {
				t.Errorf("hook wrote values patches: %s %s", out.valuesPatch.JSON(), out.configValuesPatch.JSON())
			}
		})
	}
}

// withoutPassword is the prometheus config section without
// grafana.adminPassword (and without a grafana map left empty).
func withoutPassword(config values.Values) values.Values {
	section := config.Section("prometheus")
	grafana := section.Section("grafana")
	delete(grafana, "adminPassword")
	delete(section, "grafana")
	if len(grafana) > 0 {
		section["grafana"] = map[string]any(grafana)
	}
	return section
}

// decodeJSON is one JSON document, decoded.
func decodeJSON(t *testing.T, doc string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("not one JSON document: %q: %v", doc, err)
	}
	return v
}

// envIf is []string{name=value}, or nothing for an empty value.
func envIf(name, value string) []string {
	if value == "" {
		return nil
	}
	return []string{name + "=" + value}
}
