package helm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/helm"
)

// Render shows what Deploy would apply, and its checksum follows the
// manifests, not the values.
func TestRenderChecksum(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	dir := moduleDir("010-echo-server")
	base := "echoServer: {replicas: 2, port: 8080, greeting: hello, tag: '1.0'}"
	ref, err := c.Render(ctx, "echo-server", dir, testValues(t, base))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		module   string
		wantSame bool
	}{
		{"same values", base, true},
		{"same values in another key order", "echoServer: {tag: '1.0', greeting: hello, port: 8080, replicas: 2}", true},
		{"a value no template reads", "echoServer: {replicas: 2, port: 8080, greeting: hello, tag: '1.0', unused: {a: 1}}", true},
		{"changed greeting", "echoServer: {replicas: 2, port: 8080, greeting: bonjour, tag: '1.0'}", false},
		{"changed image tag", "echoServer: {replicas: 2, port: 8080, greeting: hello, tag: '1.1'}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Render(ctx, "echo-server", dir, testValues(t, tt.module))
			if err != nil {
				t.Fatal(err)
			}
			if same := got.Checksum == ref.Checksum; same != tt.wantSame {
				t.Errorf("checksum %s vs %s: same=%v, want %v", got.Checksum, ref.Checksum, same, tt.wantSame)
			}
			if len(got.Checksum) > 63 {
				t.Errorf("checksum %q longer than a label value may be", got.Checksum)
			}
		})
	}

	t.Run("manifest holds labelled objects", func(t *testing.T) {
		for _, want := range []string{
			"# Source: echo-server/templates/deployment.yaml\n",
			"replicas: 2\n",
			helm.ModuleLabel + ": echo-server\n",
			"heritage: addon-operator\n",
			"image: registry.example.com/addons/echo-server:1.0\n",
		} {
			if !strings.Contains(ref.Manifest, want) {
				t.Errorf("manifest lacks %q:\n%s", want, ref.Manifest)
			}
		}
		if len(ref.Objects) != 5 {
			t.Errorf("objects %v, want the chart's 5", ref.Objects)
		}
	})

	t.Run("nothing is deployed", func(t *testing.T) {
		if _, err := c.Status(ctx, "echo-server"); !errors.Is(err, helm.ErrNotFound) {
			t.Errorf("status after render: got %v, want ErrNotFound", err)
		}
	})
}

// A chart that does not render gives ErrRender with Helm's explanation,
// which names the template and the line.
func TestRenderErrors(t *testing.T) {
	ctx := testContext(t)
	c := newClient(t, newNamespace(t))
	tests := []struct {
		name     string
		release  string
		dir      string
		module   string
		wantText []string
	}{
		{
			name: "missing value", release: "broken", dir: moduleDir("060-broken"), module: "broken: {}",
			wantText: []string{"broken/templates/configmap.yaml:7", "nil pointer"},
		},
		{
			name: "template syntax", release: "bad-syntax", dir: moduleDir("070-bad-syntax"), module: "badSyntax: {value: x}",
			wantText: []string{"bad-syntax/templates/configmap.yaml:6"},
		},
		{
			name: "missing chart directory", release: "absent", dir: moduleDir("999-absent"), module: "",
			wantText: []string{"999-absent"},
		},
		{
			name: "invalid release name", release: "Not_Valid", dir: moduleDir("020-plain-module"), module: "",
			wantText: []string{"Not_Valid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Render(ctx, tt.release, tt.dir, testValues(t, tt.module))
			if !errors.Is(err, helm.ErrRender) {
				t.Fatalf("got %v, want ErrRender", err)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// Module directories load like Helm charts, with the conveniences modules
// rely on: no Chart.yaml, file:// libraries, vendored symlinked charts.
func TestDeployChartLayouts(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	tests := []struct {
		name     string
		release  string
		dir      string
		module   string
		wantData map[string]string
		wantLbls map[string]string
	}{
		{
			name: "no Chart.yaml", release: "plain-module", dir: moduleDir("020-plain-module"),
			module:   "plainModule: {logLevel: warn}",
			wantData: map[string]string{"chart": "plain-module-0.1.0", "level": "warn"},
		},
		{
			name: "file:// library not vendored", release: "with-library", dir: moduleDir("030-with-library"),
			module:   "withLibrary: {size: small}",
			wantData: map[string]string{"size": "small"},
			wantLbls: map[string]string{"app.kubernetes.io/name": "with-library", "app.kubernetes.io/part-of": "addons"},
		},
		{
			name: "library vendored as a symlink under charts/", release: "vendored-library", dir: moduleDir("040-vendored-library"),
			module:   "vendoredLibrary: {size: large}",
			wantData: map[string]string{"size": "large"},
			wantLbls: map[string]string{"app.kubernetes.io/name": "vendored-library", "app.kubernetes.io/part-of": "addons"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Deploy(ctx, tt.release, tt.dir, testValues(t, tt.module))
			if err != nil {
				t.Fatal(err)
			}
			if res.Reason != helm.ReasonInstalled {
				t.Errorf("reason %s, want installed", res.Reason)
			}
			cm := configMap(t, ns, tt.release)
			if diff := cmp.Diff(tt.wantData, cm.Data); diff != "" {
				t.Errorf("configmap data (-want +got):\n%s", diff)
			}
			for k, v := range tt.wantLbls {
				if cm.Labels[k] != v {
					t.Errorf("label %s=%q, want %q", k, cm.Labels[k], v)
				}
			}
		})
	}
}
