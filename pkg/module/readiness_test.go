package module

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

func TestReadinessAnnotations(t *testing.T) {
	const head = "apiVersion: v2\nname: m\nversion: 0.1.0\n"
	tests := []struct {
		name    string
		chart   string // "" for no Chart.yaml
		want    Readiness
		wantErr string // substring; <root> is the bundle dir
	}{
		{name: "no chart", want: Readiness{}},
		{name: "no annotations", chart: head, want: Readiness{}},
		{name: "other annotations", chart: head + "annotations:\n  category: network\n", want: Readiness{}},
		{name: "a timeout", chart: head + "annotations:\n  addons.seedops.io/workload-ready-timeout: 10m\n", want: Readiness{Timeout: 10 * time.Minute}},
		{name: "opted out", chart: head + "annotations:\n  addons.seedops.io/workload-ready: \"false\"\n", want: Readiness{Ungated: true}},
		{name: "gated explicitly", chart: head + "annotations:\n  addons.seedops.io/workload-ready: \"true\"\n", want: Readiness{}},
		{
			name: "a timeout that is not a duration", chart: head + "annotations:\n  addons.seedops.io/workload-ready-timeout: ten minutes\n",
			wantErr: "<root>/modules/010-m/Chart.yaml: annotations: addons.seedops.io/workload-ready-timeout: want a positive duration such as \"10m\" or \"90s\", got ten minutes",
		},
		{
			name: "a timeout of zero", chart: head + "annotations:\n  addons.seedops.io/workload-ready-timeout: 0s\n",
			wantErr: "addons.seedops.io/workload-ready-timeout: want a positive duration",
		},
		{
			name: "an unquoted bool", chart: head + "annotations:\n  addons.seedops.io/workload-ready: false\n",
			wantErr: "<root>/modules/010-m/Chart.yaml: annotations: addons.seedops.io/workload-ready: want the string \"true\" or \"false\"",
		},
		{
			name: "annotations that are not a map", chart: head + "annotations: [a]\n",
			wantErr: "<root>/modules/010-m/Chart.yaml: annotations: want a map of strings",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []moduletest.File{moduletest.Text("modules/010-m/templates/cm.yaml", "kind: ConfigMap\n")}
			if tt.chart != "" {
				files = append(files, moduletest.Text("modules/010-m/Chart.yaml", tt.chart))
			}
			root := moduletest.Bundle(t, files...)
			b, err := Load(DefaultPaths(root), nil)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "<root>", root)
				if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidBundle) {
					t.Fatalf("Load error %v, want ErrInvalidBundle containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Module("m").Readiness; got != tt.want {
				t.Errorf("Readiness %+v, want %+v", got, tt.want)
			}
		})
	}
}
