package operator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/pkg/webhook"
)

// newWebhook builds the admission webhook (--webhook). Every replica runs
// it, with the schemas the config store uses: on the leader they follow
// the bundle swaps of its updater, on a follower the Deployed release
// (newFollower).
func newWebhook(cfg Config, restCfg *rest.Config, schemas *bundleSchemas, log *slog.Logger) (*webhook.Webhook, error) {
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return webhook.New(cfg.Webhook, webhook.Deps{Client: client, Schemas: schemas, Store: cfg.Store, Log: log})
}

// newFollower builds the releaseFollower of a replica with --ha and the
// webhook: it fetches bundles like the updater does (cache, then the
// registry with the operator section's or the flags' settings).
func newFollower(cfg Config, restCfg *rest.Config, schemas *bundleSchemas, builtin *module.Bundle, log *slog.Logger) (*releaseFollower, error) {
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	ns := cfg.Store.Namespace
	rels := updater.NewKubeReleases(dyn, ns, time.Now)
	up := updater.New(cfg.Updater, updater.Deps{Namespace: ns, Releases: rels, Secrets: secretGetter{client: client, namespace: ns}, Log: log})
	return &releaseFollower{
		releases: rels,
		fetch: func(ctx context.Context, rel updater.Release) (string, error) {
			return up.Fetch(ctx, rel, operatorSection(ctx, client, cfg.Store, log))
		},
		load:    func(dir string) (*module.Bundle, error) { return module.Load(module.DefaultPaths(dir), log) },
		schemas: schemas,
		builtin: builtin,
		log:     log,
	}, nil
}
