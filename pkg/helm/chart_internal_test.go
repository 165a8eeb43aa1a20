package helm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A module directory loads as a chart without its hooks, scripts, schemas
// and CRDs; .helmignore excludes more; symlinked charts are followed.
func TestLoadChartFiles(t *testing.T) {
	tests := []struct {
		name      string
		dir       string
		wantFiles []string
		wantDeps  []string
	}{
		{
			name: "module with hooks and openapi",
			dir:  "testdata/bundle/modules/010-echo-server",
			wantFiles: []string{
				"Chart.yaml", "templates/_helpers.tpl", "templates/configmap.yaml", "templates/deployment.yaml",
				"templates/secret.yaml", "templates/service.yaml", "templates/serviceaccount.yaml", "values.yaml",
			},
		},
		{
			name:      "module without Chart.yaml",
			dir:       "testdata/bundle/modules/020-plain-module",
			wantFiles: []string{"Chart.yaml", "templates/configmap.yaml"},
		},
		{
			name:      "file:// dependency",
			dir:       "testdata/bundle/modules/030-with-library",
			wantFiles: []string{"Chart.yaml", "templates/configmap.yaml"},
			wantDeps:  []string{"helm-lib"},
		},
		{
			name:      "symlinked vendored dependency",
			dir:       "testdata/bundle/modules/040-vendored-library",
			wantFiles: []string{"Chart.yaml", "charts/helm-lib/Chart.yaml", "charts/helm-lib/templates/_labels.tpl", "templates/configmap.yaml"},
			wantDeps:  []string{"helm-lib"},
		},
		{
			name:      "crds directory",
			dir:       "testdata/bundle/modules/050-backup",
			wantFiles: []string{"Chart.yaml", "templates/schedule.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.SplitN(filepath.Base(tt.dir), "-", 2)[1]
			ch, err := loadChart(tt.dir, name)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, f := range ch.Raw {
				files = append(files, f.Name)
			}
			slices.Sort(files)
			if diff := cmp.Diff(tt.wantFiles, files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			var deps []string
			for _, d := range ch.Dependencies() {
				deps = append(deps, d.Name())
			}
			if diff := cmp.Diff(tt.wantDeps, deps); diff != "" {
				t.Errorf("dependencies (-want +got):\n%s", diff)
			}
			if ch.Name() != name {
				t.Errorf("chart name %q, want %q", ch.Name(), name)
			}
		})
	}
}

func TestLoadChartRefusesBrokenLayouts(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		symlink [2]string
		want    string
	}{
		{
			name:  "dependency neither vendored nor file://",
			files: map[string]string{"Chart.yaml": "apiVersion: v2\nname: m\nversion: 0.1.0\ndependencies:\n- name: lib\n  version: 1.0.0\n  repository: https://example.com\n"},
			want:  `dependency "lib" is not vendored`,
		},
		{
			name:  "file:// dependency that does not exist",
			files: map[string]string{"Chart.yaml": "apiVersion: v2\nname: m\nversion: 0.1.0\ndependencies:\n- name: lib\n  version: 1.0.0\n  repository: file://../nowhere\n"},
			want:  `dependency "lib"`,
		},
		{
			name:    "symlink cycle",
			files:   map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"},
			symlink: [2]string{".", "templates/loop"},
			want:    "symlink cycle",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.symlink[1] != "" {
				if err := os.Symlink(filepath.Join(dir, tt.symlink[0]), filepath.Join(dir, tt.symlink[1])); err != nil {
					t.Fatal(err)
				}
			}
			_, err := loadChart(dir, "m")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
