package configstore

import (
	"flag"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigFlags(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want Config
	}{
		{
			name: "defaults",
			want: Config{ConfigMap: "addon-operator", RecreateOnDelete: true},
		},
		{
			name: "environment",
			env:  map[string]string{"ADDON_OPERATOR_NAMESPACE": "d8-system", "ADDON_OPERATOR_CONFIG_MAP": "deckhouse"},
			want: Config{Namespace: "d8-system", ConfigMap: "deckhouse", RecreateOnDelete: true},
		},
		{
			name: "flags win over the environment",
			env:  map[string]string{"ADDON_OPERATOR_NAMESPACE": "d8-system", "ADDON_OPERATOR_CONFIG_MAP": "deckhouse"},
			args: []string{"--namespace", "ops", "--config-map", "addons", "--recreate-config-map=false"},
			want: Config{Namespace: "ops", ConfigMap: "addons"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ADDON_OPERATOR_NAMESPACE", "")
			t.Setenv("ADDON_OPERATOR_CONFIG_MAP", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			got.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if got.SecretName() != got.ConfigMap+"-secrets" {
				t.Errorf("SecretName() = %q", got.SecretName())
			}
		})
	}
}

func TestSecretNameDefault(t *testing.T) {
	if got := (Config{}).SecretName(); got != "addon-operator-secrets" {
		t.Errorf("SecretName() of the zero Config = %q, want addon-operator-secrets", got)
	}
}
