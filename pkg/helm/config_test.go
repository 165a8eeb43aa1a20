package helm_test

import (
	"flag"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
)

func TestConfigFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want helm.Config
	}{
		{"defaults", nil, helm.Config{HistoryMax: 10, Timeout: 5 * time.Minute}},
		{"set", []string{"--helm-history-max=3", "--helm-timeout=90s"}, helm.Config{HistoryMax: 3, Timeout: 90 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg helm.Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			cfg.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  helm.Config
	}{
		{"no namespace", helm.Config{}},
		{"negative history", helm.Config{Namespace: "x", HistoryMax: -1}},
		{"negative timeout", helm.Config{Namespace: "x", Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := helm.New(testCluster.Config, tt.cfg, nil); err == nil {
				t.Error("got no error")
			}
		})
	}
}

// Upgrades prune revisions beyond HistoryMax.
func TestDeployKeepsHistoryMax(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c, err := helm.New(testCluster.Config, helm.Config{Namespace: ns, HistoryMax: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []string{"a", "b", "c", "d"} {
		if _, err := c.Deploy(ctx, "plain-module", moduleDir("020-plain-module"), testValues(t, "plainModule: {logLevel: "+level+"}")); err != nil {
			t.Fatal(err)
		}
	}
	secrets, err := kube().CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=plain-module"})
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, s := range secrets.Items {
		versions = append(versions, s.Labels["version"])
	}
	if diff := cmp.Diff([]string{"3", "4"}, versions); diff != "" {
		t.Errorf("stored revisions (-want +got):\n%s", diff)
	}
}
