package operator

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/converge"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/pkg/values"
)

// bundleRuntime is the updater's view of the running operator: it loads
// bundles and swaps the one in force, and reports the converge state and
// the workloads' health. conv and writer are set once built, before the
// updater starts.
type bundleRuntime struct {
	runner  *hook.Runner
	schemas *bundleSchemas
	store   *configstore.Store
	conv    *converge.Converger
	writer  *status.Writer
	metrics *metrics.Metrics
	log     *slog.Logger
}

// Load reads a bundle directory and its hooks' configurations.
func (r *bundleRuntime) Load(ctx context.Context, dir string) (module.Loaded, error) {
	b, err := module.Load(module.DefaultPaths(dir), r.log)
	if err != nil {
		return module.Loaded{}, fmt.Errorf("load bundle: %w", err)
	}
	return loadHooks(ctx, r.runner, b)
}

// Swap puts b in force: the config store answers with b's schemas (the
// sections of modules b lacks are ignored with a warning), the converger
// swaps, the metrics' series follow b's modules and hooks, then
// the configuration is parsed again.
func (r *bundleRuntime) Swap(ctx context.Context, b module.Loaded) error {
	r.schemas.set(b.Modules)
	if err := r.conv.Swap(ctx, b); err != nil {
		return err
	}
	r.metrics.Preset(seriesOf(b))
	r.store.Resync()
	return nil
}

func (r *bundleRuntime) Ready() <-chan struct{}               { return r.conv.Ready() }
func (r *bundleRuntime) GlobalStatus() module.GlobalStatus    { return r.conv.GlobalStatus() }
func (r *bundleRuntime) Statuses() []module.Status            { return r.conv.Statuses() }
func (r *bundleRuntime) Subscribe() (<-chan struct{}, func()) { return r.conv.Subscribe() }

func (r *bundleRuntime) Health() map[string]module.Health { return r.writer.Health() }
func (r *bundleRuntime) HealthChanges() (<-chan struct{}, func()) {
	return r.writer.HealthChanges()
}

// secretGetter reads Secrets of the operator's namespace.
type secretGetter struct {
	client    kubernetes.Interface
	namespace string
}

func (s secretGetter) Get(ctx context.Context, name string) (map[string][]byte, error) {
	sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return sec.Data, nil
}

// startUpdater builds the updater and chooses the bundle to start with:
// the deployed release's when there is one, else builtin (the bundle the
// process was started with). It blocks until the deployed release is
// restored (see Updater.Restore), the leader not ready meanwhile with the
// reason; its error is ctx's. It sets the schemas to the chosen bundle.
// operatorChanged signals a changed operator section (operatorChanges).
func startUpdater(ctx context.Context, cfg Config, client kubernetes.Interface, rels *updater.KubeReleases, rt *bundleRuntime, operatorChanged <-chan struct{}, builtin module.Loaded, leader *leaderState, m *metrics.Metrics, log *slog.Logger) (*updater.Updater, module.Loaded, error) {
	ns := cfg.Store.Namespace
	up := updater.New(cfg.Updater, updater.Deps{
		Namespace:     ns,
		Releases:      rels,
		Runtime:       rt,
		Convergence:   rt,
		Health:        rt,
		Config:        rt.store,
		ConfigChanges: operatorChanged,
		Secrets:       secretGetter{client: client, namespace: ns},
		Observer:      m,
		Restoring:     leader.restoring,
		Log:           log,
	})
	section := func(ctx context.Context) values.Values { return operatorSection(ctx, client, cfg.Store, log) }
	b, err := up.Restore(ctx, builtin, section)
	if err != nil {
		return nil, module.Loaded{}, err
	}
	rt.schemas.set(b.Modules)
	return up, b, nil
}

// operatorSection reads the ConfigMap's operator section directly, before
// the config store runs; empty when it cannot.
func operatorSection(ctx context.Context, client kubernetes.Interface, c configstore.Config, log *slog.Logger) values.Values {
	cm, err := client.CoreV1().ConfigMaps(c.Namespace).Get(ctx, cmp.Or(c.ConfigMap, configstore.DefaultConfigMap), metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			log.Warn("configmap not read for the release restore", "error", err)
		}
		return nil
	}
	v, err := values.FromYAML([]byte(cm.Data[values.OperatorKey]))
	if err != nil {
		return nil
	}
	return v
}
