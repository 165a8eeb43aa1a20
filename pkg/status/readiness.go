package status

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rollout is the readiness of one workload.
type rollout struct {
	ready bool
	// progress describes the counts, e.g. "1/3 ready, 2/3 updated".
	progress string
	// failure is set when waiting will not help (a failed Job).
	failure string
	// generation identifies the spec the workload rolls out; a new one
	// restarts the ready timeout.
	generation int64
	// selector selects the workload's pods, for diagnosis.
	selector *metav1.LabelSelector
	// ignored: the workload is annotated out of the gate
	// (module.AnnotationIgnoreReadiness).
	ignored bool
}

func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// deploymentRollout: ready when the controller observed the current spec
// and the desired number of replicas are updated, ready and available,
// with no old replicas left.
func deploymentRollout(d *appsv1.Deployment) rollout {
	want := replicas(d.Spec.Replicas)
	s := d.Status
	parts := []string{fmt.Sprintf("%d/%d ready", s.ReadyReplicas, want)}
	ok := s.ReadyReplicas >= want
	if s.ObservedGeneration < d.Generation {
		parts = append(parts, "new spec not yet observed")
		ok = false
	}
	if s.UpdatedReplicas < want {
		parts = append(parts, fmt.Sprintf("%d/%d updated", s.UpdatedReplicas, want))
		ok = false
	}
	if old := s.Replicas - s.UpdatedReplicas; old > 0 {
		parts = append(parts, fmt.Sprintf("%d old not yet replaced", old))
		ok = false
	}
	if s.AvailableReplicas < want && s.ReadyReplicas >= want {
		parts = append(parts, fmt.Sprintf("%d/%d available", s.AvailableReplicas, want))
		ok = false
	}
	return rollout{ready: ok, progress: strings.Join(parts, ", "), generation: d.Generation, selector: d.Spec.Selector}
}

// statefulSetRollout: ready when the controller observed the current spec,
// the desired replicas are ready and updated (all of them, or those above
// the partition; not checked with the OnDelete strategy).
func statefulSetRollout(s *appsv1.StatefulSet) rollout {
	want := replicas(s.Spec.Replicas)
	st := s.Status
	parts := []string{fmt.Sprintf("%d/%d ready", st.ReadyReplicas, want)}
	ok := st.ReadyReplicas >= want
	if st.ObservedGeneration < s.Generation {
		parts = append(parts, "new spec not yet observed")
		ok = false
	}
	switch u := s.Spec.UpdateStrategy; {
	case u.Type == appsv1.OnDeleteStatefulSetStrategyType:
	case u.RollingUpdate != nil && u.RollingUpdate.Partition != nil && *u.RollingUpdate.Partition > 0:
		if need := want - *u.RollingUpdate.Partition; st.UpdatedReplicas < need {
			parts = append(parts, fmt.Sprintf("%d/%d updated", st.UpdatedReplicas, need))
			ok = false
		}
	default:
		if st.UpdateRevision != st.CurrentRevision && st.UpdatedReplicas < want {
			parts = append(parts, fmt.Sprintf("%d/%d updated", st.UpdatedReplicas, want))
			ok = false
		}
	}
	return rollout{ready: ok, progress: strings.Join(parts, ", "), generation: s.Generation, selector: s.Spec.Selector}
}

// daemonSetRollout: ready when the controller observed the current spec
// and every node that should run a pod runs an updated, ready one.
func daemonSetRollout(d *appsv1.DaemonSet) rollout {
	s := d.Status
	want := s.DesiredNumberScheduled
	parts := []string{fmt.Sprintf("%d/%d ready", s.NumberReady, want)}
	ok := s.NumberReady >= want
	if s.ObservedGeneration < d.Generation {
		parts = append(parts, "new spec not yet observed")
		ok = false
	}
	if d.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType && s.UpdatedNumberScheduled < want {
		parts = append(parts, fmt.Sprintf("%d/%d updated", s.UpdatedNumberScheduled, want))
		ok = false
	}
	return rollout{ready: ok, progress: strings.Join(parts, ", "), generation: d.Generation, selector: d.Spec.Selector}
}

// jobRollout: ready when the Job is Complete or has as many successful
// pods as completions; failed (no use waiting) when it has the Failed
// condition.
func jobRollout(j *batchv1.Job) rollout {
	r := rollout{generation: j.Generation, selector: j.Spec.Selector}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			r.ready = true
		case batchv1.JobFailed:
			r.failure = "failed: " + joinNonEmpty(": ", c.Reason, c.Message)
		}
	}
	if j.Spec.Completions != nil {
		r.progress = fmt.Sprintf("%d/%d succeeded", j.Status.Succeeded, *j.Spec.Completions)
		if j.Status.Succeeded >= *j.Spec.Completions {
			r.ready = true
		}
	} else {
		r.progress = fmt.Sprintf("%d succeeded", j.Status.Succeeded)
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend && !r.ready {
		r.progress += ", suspended"
	}
	if r.ready {
		r.failure = ""
	}
	return r
}

// podsProblem names the first pod (by name) that is not ready and why, and
// how many more are not ready; "" when every pod is ready or done.
func podsProblem(pods []corev1.Pod) string {
	pods = slices.Clone(pods)
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	first, more := "", 0
	for i := range pods {
		p := podProblem(&pods[i])
		if p == "" {
			continue
		}
		if first == "" {
			first = "pod " + pods[i].Name + ": " + p
			continue
		}
		more++
	}
	if more > 0 {
		first += fmt.Sprintf(" (and %d more pods not ready)", more)
	}
	return first
}

// podProblem says why a pod is not ready: a waiting or failed container
// (ImagePullBackOff, CrashLoopBackOff, ...), scheduling, a failed pod, or
// just not ready. "" for ready and succeeded pods.
func podProblem(p *corev1.Pod) string {
	if p.Status.Phase == corev1.PodSucceeded || p.DeletionTimestamp != nil {
		return ""
	}
	statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			return "container " + cs.Name + ": " + joinNonEmpty(": ", w.Reason, w.Message)
		}
	}
	for _, cs := range statuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("container %s: %s (exit code %d)", cs.Name, joinNonEmpty(": ", t.Reason, t.Message), t.ExitCode)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return joinNonEmpty(": ", cmp.Or(c.Reason, "not scheduled"), c.Message)
		}
	}
	if p.Status.Phase == corev1.PodFailed {
		return joinNonEmpty(": ", "failed", p.Status.Reason, p.Status.Message)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status == corev1.ConditionTrue {
				return ""
			}
			return joinNonEmpty(": ", "not ready", c.Reason, c.Message)
		}
	}
	return strings.ToLower(string(cmp.Or(p.Status.Phase, corev1.PodPending)))
}

func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
