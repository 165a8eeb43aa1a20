// Command hooks is a module's hooks compiled into one binary with
// deckhouse/module-sdk, as Deckhouse modules ship them; the batch-hook e2e
// test builds it into a module's hooks/ directory. module-sdk names each hook after
// its file under a hooks/ directory, hence this one's path.
//
// Its kubernetes hook copies the `replicas` key of ConfigMap
// e2e-watch/batchhook-source into the module's values and a metric; its
// readiness probe fails while the file $E2E_DIR/batchhook-not-ready exists.
package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/deckhouse/module-sdk/pkg"
	"github.com/deckhouse/module-sdk/pkg/app"
)

func main() {
	app.Run(app.WithReadiness(&app.ReadinessConfig{
		IntervalInSeconds: 1,
		ProbeFunc: func(context.Context, *pkg.HookInput) error {
			if _, err := os.Stat(filepath.Join(os.Getenv("E2E_DIR"), "batchhook-not-ready")); err == nil {
				return errors.New("the not-ready switch is on")
			}
			return nil
		},
	}))
}
