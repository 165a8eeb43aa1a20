package status

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module"
)

// listedItems is how many items of a list a message names.
const listedItems = 3

// desired computes a Module's status from the converger's status, the
// module's workloads and the status written before (for the conditions'
// transition times). Times are cut to seconds, as the API stores them, so
// that an unchanged status compares equal to the stored one.
func desired(st module.Status, wl report, prev ModuleStatus, now time.Time) ModuleStatus {
	out := ModuleStatus{
		Enabled:    st.Enabled,
		Phase:      st.Phase,
		FailedStep: st.FailedStep,
		Failures:   int64(st.Failures),
		Revision:   int64(st.Revision),
	}
	if !st.LastRun.IsZero() {
		t := apiTime(st.LastRun)
		out.LastRun = &t
	}
	switch st.Phase {
	case module.PhaseDisabled:
		out.Message = disabledMessage(st)
	case module.PhaseReconciling:
		out.Message = "module run in progress"
		if st.Message != "" {
			out.Message += "; last error: " + st.Message
		}
	case module.PhaseError:
		out.Message = st.Message
	case module.PhaseReady:
		switch {
		case len(wl.failed) > 0:
			out.Phase, out.FailedStep, out.Message = module.PhaseError, StepWorkloads, listMessage(wl.failed)
		case len(wl.waiting) > 0:
			out.Phase, out.Message = module.PhaseReconciling, "waiting for "+listMessage(wl.waiting)
		}
	default:
		out.Phase, out.Message = module.PhaseReconciling, st.Message
	}
	out.Message = truncate(out.Message, maxMessage)
	out.Conditions = withTransitions(conditions(st, wl), prev.Conditions, now)
	return out
}

func apiTime(t time.Time) metav1.Time {
	return metav1.NewTime(t.UTC().Truncate(time.Second))
}

func disabledMessage(st module.Status) string {
	switch {
	case st.EnabledByScript != nil && !*st.EnabledByScript:
		return joinNonEmpty(": ", "disabled by the enabled script", st.EnabledReason)
	case !st.EnabledByConfig:
		return "disabled by configuration"
	case st.EnabledReason != "":
		// Enabled by configuration, refused by its module.yaml
		// requirements.
		return "disabled: " + st.EnabledReason
	}
	return ""
}

// listMessage joins the first listedItems items with "; " and counts the
// rest.
func listMessage(items []string) string {
	if len(items) <= listedItems {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:listedItems], "; "), len(items)-listedItems)
}

// conditions computes the five conditions, without transition times.
func conditions(st module.Status, wl report) []metav1.Condition {
	disabled := st.Phase == module.PhaseDisabled
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: truncate(msg, maxMessage)}
	}
	var out []metav1.Condition

	if st.EnabledByConfig {
		out = append(out, cond(ConditionEnabledByConfig, metav1.ConditionTrue, "Enabled", ""))
	} else {
		out = append(out, cond(ConditionEnabledByConfig, metav1.ConditionFalse, "Disabled", ""))
	}

	switch {
	case st.FailedStep == module.StepEnabled:
		out = append(out, cond(ConditionEnabledByScript, metav1.ConditionUnknown, "ScriptFailed", st.Message))
	case st.EnabledByScript != nil && *st.EnabledByScript:
		out = append(out, cond(ConditionEnabledByScript, metav1.ConditionTrue, "Enabled", st.EnabledReason))
	case st.EnabledByScript != nil:
		out = append(out, cond(ConditionEnabledByScript, metav1.ConditionFalse, "Disabled", st.EnabledReason))
	case !st.EnabledByConfig:
		out = append(out, cond(ConditionEnabledByScript, metav1.ConditionUnknown, "NotRun", "the module is disabled by configuration"))
	case !st.Enabled && st.EnabledReason != "":
		out = append(out, cond(ConditionEnabledByScript, metav1.ConditionUnknown, "NotRun", st.EnabledReason))
	default:
		out = append(out, cond(ConditionEnabledByScript, metav1.ConditionTrue, "NoScript", "the module has no enabled script"))
	}

	switch {
	case disabled:
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionFalse, "ModuleDisabled", ""))
	case st.FailedStep == module.StepHelm:
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionFalse, "HelmFailed", st.Message))
	case st.FailedStep == module.StepDelete:
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionUnknown, "DeleteFailed", st.Message))
	case st.Revision > 0:
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionTrue, "Deployed", fmt.Sprintf("revision %d", st.Revision)))
	case len(st.Objects) > 0:
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionTrue, "Deployed", ""))
	case st.LastRun.IsZero() || st.FailedStep != "":
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionUnknown, "NotRun", "Helm has not run yet"))
	default:
		out = append(out, cond(ConditionHelmReleaseDeployed, metav1.ConditionFalse, "NoRelease", "the module has no Helm release"))
	}

	switch {
	case disabled:
		out = append(out, cond(ConditionHooksOK, metav1.ConditionUnknown, "ModuleDisabled", ""))
	case st.FailedStep == module.StepHooks:
		out = append(out, cond(ConditionHooksOK, metav1.ConditionFalse, "HookFailed", st.Message))
	case st.LastRun.IsZero():
		out = append(out, cond(ConditionHooksOK, metav1.ConditionUnknown, "NotRun", "the module has not run yet"))
	default:
		out = append(out, cond(ConditionHooksOK, metav1.ConditionTrue, "Succeeded", ""))
	}

	switch {
	case disabled:
		out = append(out, cond(ConditionWorkloadsReady, metav1.ConditionUnknown, "ModuleDisabled", ""))
	case len(wl.failed) > 0:
		out = append(out, cond(ConditionWorkloadsReady, metav1.ConditionFalse, "WorkloadsFailed", listMessage(wl.failed)))
	case len(wl.waiting) > 0:
		out = append(out, cond(ConditionWorkloadsReady, metav1.ConditionFalse, "RollingOut", listMessage(wl.waiting)))
	case wl.ungated:
		out = append(out, cond(ConditionWorkloadsReady, metav1.ConditionTrue, "NotGated", "the chart's "+module.AnnotationWorkloadReady+" annotation is \"false\""))
	case wl.total == 0:
		out = append(out, cond(ConditionWorkloadsReady, metav1.ConditionTrue, "NoWorkloads", "the release has no Deployments, StatefulSets, DaemonSets or Jobs"))
	default:
		out = append(out, cond(ConditionWorkloadsReady, metav1.ConditionTrue, "Ready", fmt.Sprintf("%d workloads ready", wl.total)))
	}
	return out
}

// withTransitions sets each condition's transition time: kept from the
// previous condition of the type when its status did not change, now
// otherwise.
func withTransitions(conds, prev []metav1.Condition, now time.Time) []metav1.Condition {
	for i := range conds {
		conds[i].LastTransitionTime = apiTime(now)
		for _, p := range prev {
			if p.Type == conds[i].Type && p.Status == conds[i].Status {
				conds[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return conds
}
