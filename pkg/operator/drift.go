package operator

import (
	"strings"
	"time"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/pkg/updater"
)

// driftObserver reports the Monitor's drift checks and corrections as
// metrics and Events.
type driftObserver struct {
	metrics *metrics.Metrics
	events  *status.DriftEvents
}

func (o driftObserver) DriftChecked(release string) { o.metrics.DriftChecked(release) }

func (o driftObserver) DriftCorrected(c helm.DriftCorrection) {
	o.metrics.DriftCorrected(c.Release, c.Object.Kind)
	o.events.Corrected(status.DriftCorrection{
		Module: c.Release, APIVersion: c.Object.APIVersion, Kind: c.Object.Kind, Namespace: c.Object.Namespace,
		Name: c.Object.Name, UID: c.UID, Revision: c.Revision, Paths: c.Paths, At: time.Now(),
	})
}

// driftSummary is the Module status' view of the drift left in place.
type driftSummary struct{ monitor *helm.Monitor }

func (d driftSummary) DriftSummary(module string) []string {
	var out []string
	for _, o := range d.monitor.Drift(module) {
		out = append(out, o.Object.String()+": "+strings.Join(o.Paths, ", "))
	}
	return out
}

func (d driftSummary) DriftChanges() <-chan struct{} { return d.monitor.DriftChanges() }

// driftPolicy passes the drift policy of every accepted operator section
// to the Monitor (a configstore listener). A rejected section changes
// nothing: the last accepted policy stays.
func driftPolicy(monitor *helm.Monitor) func(configstore.Event) {
	return func(ev configstore.Event) {
		if ev.Err != nil && ev.Change.Empty() {
			return
		}
		s, err := updater.ParseSettings(ev.Snapshot.Operator)
		if err != nil {
			// The store accepted only a valid section.
			return
		}
		monitor.SetDriftPolicy(s.Drift)
	}
}
