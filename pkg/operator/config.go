package operator

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/server"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/pkg/webhook"
)

// Config is everything the operator is started with. Each part binds its
// own flags; flags default to the environment variables of the
// compatibility contract.
type Config struct {
	// Kubeconfig is a kubeconfig path; empty means $KUBECONFIG, then the
	// in-cluster service account.
	Kubeconfig string
	// KubeQPS and KubeBurst rate-limit the operator's own Kubernetes
	// client (not the hooks' kubectl).
	KubeQPS   float64
	KubeBurst int
	// envErr holds environment values that could not be parsed as the
	// default of their flag; Run refuses to start with it.
	envErr error
	// ModulesDir (colon-separated list), GlobalHooksDir and ValuesFile
	// locate the bundle; empty parts default to BundleDir's layout.
	BundleDir      string
	ModulesDir     string
	GlobalHooksDir string
	LogLevel       string
	LogFormat      string

	Store  configstore.Config
	Helm   helm.Config
	Hook   hook.Config
	Queue  queue.Config
	Server server.Config
	HA     HAConfig
	// Updater follows the release channel (leader only).
	Updater updater.Config
	// Status writes Module objects and rejected-config Events.
	Status status.Config
	// Debug is the CLI's unix socket.
	Debug debug.Config
	// Webhook validates ConfigMap edits at admission (every replica).
	Webhook webhook.Config
	// Converge bounds the module runs of a converge.
	Converge converge.Config
}

// BindFlags registers all flags.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Kubeconfig, "kubeconfig", cmp.Or(os.Getenv("KUBECONFIG"), os.Getenv("KUBE_CONFIG")), "kubeconfig file; empty means in-cluster (env KUBECONFIG, then the peer's KUBE_CONFIG)")
	fs.Float64Var(&c.KubeQPS, "kube-client-qps", 50, "queries per second of the operator's Kubernetes client (env KUBE_CLIENT_QPS)")
	fs.IntVar(&c.KubeBurst, "kube-client-burst", 100, "burst of the operator's Kubernetes client (env KUBE_CLIENT_BURST)")
	c.envErr = errors.Join(envDefault(fs, "kube-client-qps", "KUBE_CLIENT_QPS"), envDefault(fs, "kube-client-burst", "KUBE_CLIENT_BURST"))
	fs.StringVar(&c.BundleDir, "bundle-dir", cmp.Or(os.Getenv("ADDON_OPERATOR_BUNDLE_DIR"), "."), "bundle directory with values.yaml, modules/ and global-hooks/ (env ADDON_OPERATOR_BUNDLE_DIR)")
	fs.StringVar(&c.ModulesDir, "modules-dir", cmp.Or(os.Getenv("ADDON_OPERATOR_MODULES_DIR"), os.Getenv("MODULES_DIR")), "modules directories, colon-separated (env MODULES_DIR); default <bundle-dir>/modules")
	fs.StringVar(&c.GlobalHooksDir, "global-hooks-dir", cmp.Or(os.Getenv("ADDON_OPERATOR_GLOBAL_HOOKS_DIR"), os.Getenv("GLOBAL_HOOKS_DIR")), "global hooks directory (env GLOBAL_HOOKS_DIR); default <bundle-dir>/global-hooks")
	fs.StringVar(&c.LogLevel, "log-level", cmp.Or(os.Getenv("LOG_LEVEL"), "info"), "debug, info, warn or error (env LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", cmp.Or(os.Getenv("LOG_TYPE"), "text"), "text, json, or color: text coloured by level when stderr is a terminal (env LOG_TYPE)")
	c.Store.BindFlags(fs)
	c.Helm.BindFlags(fs)
	c.Hook.BindFlags(fs)
	c.Queue.BindFlags(fs)
	c.Server.BindFlags(fs)
	c.HA.BindFlags(fs)
	c.Updater.BindFlags(fs)
	c.Status.BindFlags(fs)
	c.Debug.BindFlags(fs)
	c.Webhook.BindFlags(fs)
	c.Converge.BindFlags(fs)
}

// envDefault makes the environment variable env the default of the
// already bound flag name, so an explicit flag still wins. Only flags whose
// default is not a string need it; string flags take os.Getenv directly.
func envDefault(fs *flag.FlagSet, name, env string) error {
	v, ok := os.LookupEnv(env)
	if !ok {
		return nil
	}
	f := fs.Lookup(name)
	if err := f.Value.Set(v); err != nil {
		return fmt.Errorf("environment %s=%q (--%s): %w", env, v, name, err)
	}
	f.DefValue = v
	return nil
}

// Paths returns where the bundle is.
func (c *Config) Paths() module.Paths {
	p := module.DefaultPaths(c.BundleDir)
	if c.ModulesDir != "" {
		p.ModulesDirs = strings.Split(c.ModulesDir, ":")
	}
	if c.GlobalHooksDir != "" {
		p.GlobalHooksDir = c.GlobalHooksDir
	}
	return p
}
