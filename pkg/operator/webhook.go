package operator

import (
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/seedops/addon-operator/pkg/webhook"
)

// newWebhook builds the admission webhook (--webhook). Every replica runs
// it, with the schemas the config store uses, so that it follows bundle
// swaps made by this replica's updater.
func newWebhook(cfg Config, restCfg *rest.Config, schemas *bundleSchemas, log *slog.Logger) (*webhook.Webhook, error) {
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return webhook.New(cfg.Webhook, webhook.Deps{Client: client, Schemas: schemas, Store: cfg.Store, Log: log})
}
