package updater

import (
	"fmt"
	"time"

	"github.com/seedops/addon-operator/pkg/bundle"
)

// decision says whether a release is applied now, and if not, why (the
// message shown on the Pending release).
type decision struct {
	apply  bool
	reason string
}

// decide applies the update policy to a candidate release, the newest on
// the channel, given the version running ("" for the built-in bundle,
// which any release may replace) and the time:
//
//  1. a release already Deployed (the operator could not restore it at
//     start) is applied again at once;
//  2. a version older than the running one is held unless
//     update.allowDowngrade;
//  3. Manual mode waits for the approval annotation (and then ignores the
//     windows: an approval means now);
//  4. Auto mode waits for an update window, when any are set.
func decide(s Settings, running string, cand Release, now time.Time) decision {
	if cand.Phase == PhaseDeployed {
		return decision{apply: true}
	}
	if running != "" && !s.AllowDowngrade && older(cand.Version, running) {
		return decision{reason: fmt.Sprintf("held: %s is older than the running %s (set update.allowDowngrade to go back)", cand.Version, running)}
	}
	if s.Mode == ModeManual {
		if !cand.Approved {
			return decision{reason: fmt.Sprintf("waiting for approval: annotate with %s=true", AnnotationApproved)}
		}
		return decision{apply: true}
	}
	if !inWindows(s.Windows, now) {
		msg := "waiting for an update window"
		if next := nextOpening(s.Windows, now); !next.IsZero() {
			msg += " (next opens " + next.Format("Mon 2006-01-02 15:04") + " UTC)"
		}
		return decision{reason: msg}
	}
	return decision{apply: true}
}

// older reports whether version a is lower than b; versions that do not
// parse are never older.
func older(a, b string) bool {
	va, err := bundle.ParseVersion(a)
	if err != nil {
		return false
	}
	vb, err := bundle.ParseVersion(b)
	if err != nil {
		return false
	}
	return va.LessThan(vb)
}
