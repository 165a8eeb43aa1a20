package hook

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A hook sees the fixed set of the operator's variables, the protocol's,
// the runner's own (Env) and those --hook-env names; any other variable of
// the operator, such as a secret, is not visible to it.
func TestHookEnvironment(t *testing.T) {
	t.Setenv("SECRET_X", "hunter2")
	t.Setenv("OTHER_SECRET", "hunter3")
	t.Setenv("LC_TIME", "C")
	t.Setenv("TZ", "UTC")
	t.Setenv("KUBECONFIG", "/operator/kubeconfig")
	for _, tt := range []struct {
		name    string
		args    []string
		want    []string // NAME=value
		notWant []string // NAME
	}{
		{
			name:    "fixed set only",
			want:    []string{"LC_TIME=C", "TZ=UTC", "ADDON_OPERATOR_NAMESPACE=ops", "KUBECONFIG=/abs/kubeconfig"},
			notWant: []string{"SECRET_X", "OTHER_SECRET"},
		},
		{
			name:    "--hook-env SECRET_X",
			args:    []string{"--hook-env", "SECRET_X"},
			want:    []string{"SECRET_X=hunter2", "LC_TIME=C"},
			notWant: []string{"OTHER_SECRET"},
		},
		{
			name: "--hook-env repeated and comma-separated",
			args: []string{"--hook-env", "SECRET_X, OTHER_SECRET", "--hook-env", "UNSET_NAME"},
			want: []string{"SECRET_X=hunter2", "OTHER_SECRET=hunter3"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cfg Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			cfg.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg.TmpDir = t.TempDir()
			cfg.Env = []string{"ADDON_OPERATOR_NAMESPACE=ops", "KUBECONFIG=/abs/kubeconfig"}
			dump := filepath.Join(t.TempDir(), "env")
			path := script(t, t.TempDir(), "hook.sh", `env > "`+dump+`"`)
			if _, err := NewRunner(cfg, slog.New(slog.DiscardHandler)).Run(context.Background(), moduleHook(path), Input{}); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(dump)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				name, value, _ := strings.Cut(line, "=")
				got[name] = value
			}
			for _, name := range []string{"PATH", "VALUES_PATH", "BINDING_CONTEXT_PATH", "VALUES_JSON_PATCH_PATH", "METRICS_PATH"} {
				if got[name] == "" {
					t.Errorf("the hook lacks %s", name)
				}
			}
			for _, kv := range tt.want {
				name, value, _ := strings.Cut(kv, "=")
				if got[name] != value {
					t.Errorf("the hook sees %s=%q, want %q", name, got[name], value)
				}
			}
			for _, name := range tt.notWant {
				if v, ok := got[name]; ok {
					t.Errorf("the hook sees the operator's %s=%q", name, v)
				}
			}
		})
	}
}

func TestHookEnvFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
		err  bool
	}{
		{args: nil, want: nil},
		{args: []string{"--hook-env", "HTTPS_PROXY,NO_PROXY", "--hook-env", "_x1"}, want: []string{"HTTPS_PROXY", "NO_PROXY", "_x1"}},
		{args: []string{"--hook-env", "A=B"}, err: true},
		{args: []string{"--hook-env", "1A"}, err: true},
		{args: []string{"--hook-env", "A,,B"}, err: true},
	} {
		var c Config
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.BindFlags(fs)
		err := fs.Parse(tt.args)
		if (err != nil) != tt.err || !tt.err && !slices.Equal(c.PassEnv, tt.want) {
			t.Errorf("%v: %v, %v; want %v (error %v)", tt.args, c.PassEnv, err, tt.want, tt.err)
		}
	}
}

// Only the fixed names and the listed ones pass; a variable set by the
// runner itself wins over the operator's.
func TestHookEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "HOME=/root", "TMPDIR=/tmp", "LANG=C.UTF-8", "LC_ALL=C", "KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443",
		"DB_PASSWORD=x", "KUBECONFIG=rel", "HTTPS_PROXY=http://proxy", "POD_NAME=op-0", "ADDON_OPERATOR_DEBUG_SOCKET=/tmp/s", "LCX=1"}
	got := hookEnv(environ, []string{"HTTPS_PROXY"}, []string{"KUBECONFIG=/abs"})
	want := []string{"PATH=/bin", "HOME=/root", "TMPDIR=/tmp", "LANG=C.UTF-8", "LC_ALL=C", "KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443",
		"KUBECONFIG=rel", "HTTPS_PROXY=http://proxy", "KUBECONFIG=/abs"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hookEnv (-want +got):\n%s", diff)
	}
}
