package debug_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/helm"
)

// fakeDrift stands in for *helm.Monitor.
type fakeDrift map[string][]helm.DriftObject

func (f fakeDrift) Drift(release string) []helm.DriftObject { return f[release] }

func TestModuleDrift(t *testing.T) {
	fx := newFixture(t)
	src := fx.sources()
	src.Drift = fakeDrift{"echo-server": {{
		Object:   helm.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "addons", Name: "echo"},
		Revision: 3,
		Paths:    []string{"/spec/replicas"},
		Diff:     "- /spec/replicas: 5\n+ /spec/replicas: 1\n",
	}, {
		Object:   helm.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "addons", Name: "echo-config"},
		Revision: 3,
		Paths:    []string{"/data/token"},
		Diff:     "- /data/token: \"changed\"\n+ /data/token: \"" + moduleToken + "\"\n",
	}}}
	_, socket := startServer(t, &src)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{
			name: "diff",
			args: []string{"module", "drift", "echo-server"},
			wantOut: "--- Deployment addons/echo (live)\n+++ Deployment addons/echo (revision 3)\n- /spec/replicas: 5\n+ /spec/replicas: 1\n" +
				"--- ConfigMap addons/echo-config (live)\n+++ ConfigMap addons/echo-config (revision 3)\n- /data/token: \"changed\"\n+ /data/token: \"***\"\n",
		},
		{
			name:       "in sync",
			args:       []string{"module", "drift", "plain-module"},
			wantStderr: "no drift: the objects of release plain-module match its deployed revision\n",
		},
		{
			name:       "unknown module",
			args:       []string{"module", "drift", "nope"},
			wantCode:   debug.ExitFailed,
			wantStderr: `module "nope"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := cli(socket, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if out != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantStderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		out, errOut, code := cli(socket, "module", "drift", "echo-server", "-o", "json")
		if code != debug.ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got debug.ModuleDrift
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Objects) != 2 || got.Objects[0].Kind != "Deployment" || got.Objects[0].Paths[0] != "/spec/replicas" {
			t.Errorf("answer %+v", got)
		}
	})

	t.Run("without drift detection", func(t *testing.T) {
		src := fx.sources()
		_, socket := startServer(t, &src)
		_, errOut, code := cli(socket, "module", "drift", "echo-server")
		if code != debug.ExitFailed || !strings.Contains(errOut, "does not check its releases for drift") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}
