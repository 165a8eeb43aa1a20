package module

import (
	"fmt"
	"time"

	"github.com/seedops/addon-operator/pkg/values"
)

// Chart.yaml annotations by which a module's author sets how its workloads
// gate it (see Readiness), and the workload annotation that leaves one
// workload out.
const (
	// AnnotationWorkloadReady set to "false" does not gate the module on its
	// workloads at all.
	AnnotationWorkloadReady = "addons.seedops.io/workload-ready"
	// AnnotationWorkloadReadyTimeout is a Go duration ("10m") replacing the
	// operator's --workload-ready-timeout for this module.
	AnnotationWorkloadReadyTimeout = "addons.seedops.io/workload-ready-timeout"
	// AnnotationIgnoreReadiness set to "true" on a Deployment, StatefulSet,
	// DaemonSet or Job of a release leaves that workload out of the gate.
	AnnotationIgnoreReadiness = "addons.seedops.io/ignore-readiness"
)

// Readiness is how a module's workloads gate its Ready phase and the
// release of a bundle, as its chart's annotations set it. The zero value
// gates on every workload with the operator's default timeout.
type Readiness struct {
	// Ungated: the module is Ready (and a release Deployed) without
	// waiting for its workloads.
	Ungated bool
	// Timeout replaces the operator's default when not 0.
	Timeout time.Duration
}

// readinessOf reads the gate from the annotations of the Chart.yaml file
// parsed as meta (nil: no chart, the defaults).
func readinessOf(file string, meta values.Values) (Readiness, error) {
	var r Readiness
	if meta == nil || meta["annotations"] == nil {
		return r, nil
	}
	ann, ok := meta["annotations"].(map[string]any)
	if !ok {
		return r, fmt.Errorf("%w: %s: annotations: want a map of strings, got %T", ErrInvalidBundle, file, meta["annotations"])
	}
	if v, ok := ann[AnnotationWorkloadReady]; ok {
		switch v {
		case "true":
		case "false":
			r.Ungated = true
		default:
			return r, fmt.Errorf("%w: %s: annotations: %s: want the string \"true\" or \"false\" (quoted: Helm reads annotations as strings), got %v", ErrInvalidBundle, file, AnnotationWorkloadReady, v)
		}
	}
	if v, ok := ann[AnnotationWorkloadReadyTimeout]; ok {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("%w: %s: annotations: %s: want a positive duration such as \"10m\" or \"90s\", got %v", ErrInvalidBundle, file, AnnotationWorkloadReadyTimeout, v)
		}
		r.Timeout = d
	}
	return r, nil
}
