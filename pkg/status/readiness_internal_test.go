package status

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

type readiness struct {
	Ready    bool
	Progress string
	Failure  string
}

func readinessOf(r rollout) readiness {
	return readiness{Ready: r.ready, Progress: r.progress, Failure: r.failure}
}

func TestDeploymentRollout(t *testing.T) {
	deploy := func(gen int64, replicas *int32, s appsv1.DeploymentStatus) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: replicas},
			Status:     s,
		}
	}
	tests := []struct {
		name string
		d    *appsv1.Deployment
		want readiness
	}{
		{"rolled out", deploy(2, ptr.To[int32](3), appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}),
			readiness{Ready: true, Progress: "3/3 ready"}},
		{"replicas default to one", deploy(1, nil, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}),
			readiness{Ready: true, Progress: "1/1 ready"}},
		{"scaled to zero", deploy(1, ptr.To[int32](0), appsv1.DeploymentStatus{ObservedGeneration: 1}),
			readiness{Ready: true, Progress: "0/0 ready"}},
		{"new spec not observed", deploy(3, ptr.To[int32](1), appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}),
			readiness{Progress: "1/1 ready, new spec not yet observed"}},
		{"pods not ready", deploy(1, ptr.To[int32](2), appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 0}),
			readiness{Progress: "0/2 ready"}},
		{"rolling update", deploy(2, ptr.To[int32](2), appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2}),
			readiness{Progress: "2/2 ready, 1/2 updated, 2 old not yet replaced"}},
		{"ready but not available yet", deploy(1, ptr.To[int32](2), appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1}),
			readiness{Progress: "2/2 ready, 1/2 available"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readinessOf(deploymentRollout(tt.d))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatefulSetRollout(t *testing.T) {
	sts := func(gen int64, strategy appsv1.StatefulSetUpdateStrategy, s appsv1.StatefulSetStatus) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), UpdateStrategy: strategy},
			Status:     s,
		}
	}
	rolling := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}
	partitioned := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}}
	onDelete := appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	tests := []struct {
		name string
		s    *appsv1.StatefulSet
		want readiness
	}{
		{"rolled out", sts(1, rolling, appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, UpdatedReplicas: 3, CurrentRevision: "a", UpdateRevision: "a"}),
			readiness{Ready: true, Progress: "3/3 ready"}},
		{"same revision counts as updated", sts(1, rolling, appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, UpdatedReplicas: 0, CurrentRevision: "a", UpdateRevision: "a"}),
			readiness{Ready: true, Progress: "3/3 ready"}},
		{"update in progress", sts(2, rolling, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}),
			readiness{Progress: "3/3 ready, 1/3 updated"}},
		{"partition reached", sts(2, partitioned, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}),
			readiness{Ready: true, Progress: "3/3 ready"}},
		{"on delete ignores revisions", sts(2, onDelete, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, CurrentRevision: "a", UpdateRevision: "b"}),
			readiness{Ready: true, Progress: "3/3 ready"}},
		{"pods not ready", sts(1, rolling, appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 1, UpdatedReplicas: 3, CurrentRevision: "a", UpdateRevision: "a"}),
			readiness{Progress: "1/3 ready"}},
		{"not observed", sts(2, rolling, appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, CurrentRevision: "a", UpdateRevision: "a"}),
			readiness{Progress: "3/3 ready, new spec not yet observed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readinessOf(statefulSetRollout(tt.s))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDaemonSetRollout(t *testing.T) {
	ds := func(gen int64, s appsv1.DaemonSetStatus) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Generation: gen}, Status: s}
	}
	tests := []struct {
		name string
		d    *appsv1.DaemonSet
		want readiness
	}{
		{"rolled out", ds(1, appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 3, NumberReady: 3, UpdatedNumberScheduled: 3}),
			readiness{Ready: true, Progress: "3/3 ready"}},
		{"no nodes to run on", ds(1, appsv1.DaemonSetStatus{ObservedGeneration: 1}),
			readiness{Ready: true, Progress: "0/0 ready"}},
		{"pods not ready", ds(1, appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3}),
			readiness{Progress: "2/3 ready"}},
		{"updating", ds(2, appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 3, NumberReady: 3, UpdatedNumberScheduled: 1}),
			readiness{Progress: "3/3 ready, 1/3 updated"}},
		{"not observed", ds(2, appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 1, NumberReady: 1, UpdatedNumberScheduled: 1}),
			readiness{Progress: "1/1 ready, new spec not yet observed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readinessOf(daemonSetRollout(tt.d))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobRollout(t *testing.T) {
	job := func(completions *int32, succeeded int32, conds ...batchv1.JobCondition) *batchv1.Job {
		return &batchv1.Job{
			Spec:   batchv1.JobSpec{Completions: completions},
			Status: batchv1.JobStatus{Succeeded: succeeded, Conditions: conds},
		}
	}
	complete := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}
	failed := batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}
	tests := []struct {
		name string
		j    *batchv1.Job
		want readiness
	}{
		{"complete", job(ptr.To[int32](1), 1, complete), readiness{Ready: true, Progress: "1/1 succeeded"}},
		{"enough succeeded before the condition", job(ptr.To[int32](2), 2), readiness{Ready: true, Progress: "2/2 succeeded"}},
		{"running", job(ptr.To[int32](2), 1), readiness{Progress: "1/2 succeeded"}},
		{"work queue complete", job(nil, 3, complete), readiness{Ready: true, Progress: "3 succeeded"}},
		{"failed", job(ptr.To[int32](1), 0, failed),
			readiness{Progress: "0/1 succeeded", Failure: "failed: BackoffLimitExceeded: Job has reached the specified backoff limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readinessOf(jobRollout(tt.j))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodsProblem(t *testing.T) {
	pod := func(name string, phase corev1.PodPhase, conds []corev1.PodCondition, containers ...corev1.ContainerStatus) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Status:     corev1.PodStatus{Phase: phase, Conditions: conds, ContainerStatuses: containers},
		}
	}
	ready := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	notReady := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: "containers with unready status: [app]"}}
	unschedulable := []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
		Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}}
	waiting := func(reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	tests := []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"all ready", []corev1.Pod{pod("a", corev1.PodRunning, ready)}, ""},
		{"succeeded", []corev1.Pod{pod("a", corev1.PodSucceeded, nil)}, ""},
		{"image pull", []corev1.Pod{pod("a", corev1.PodPending, notReady, waiting("ImagePullBackOff", `Back-off pulling image "nope:1"`))},
			`pod a: container app: ImagePullBackOff: Back-off pulling image "nope:1"`},
		{"err image pull", []corev1.Pod{pod("a", corev1.PodPending, notReady, waiting("ErrImagePull", ""))},
			"pod a: container app: ErrImagePull"},
		{"crash loop", []corev1.Pod{pod("a", corev1.PodRunning, notReady, waiting("CrashLoopBackOff", "back-off 40s restarting failed container"))},
			"pod a: container app: CrashLoopBackOff: back-off 40s restarting failed container"},
		{"creating is no problem yet, but not ready", []corev1.Pod{pod("a", corev1.PodPending, notReady, waiting("ContainerCreating", ""))},
			"pod a: not ready: ContainersNotReady: containers with unready status: [app]"},
		{"terminated with an error", []corev1.Pod{pod("a", corev1.PodRunning, notReady, corev1.ContainerStatus{Name: "app",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}})},
			"pod a: container app: Error (exit code 2)"},
		{"unschedulable", []corev1.Pod{pod("a", corev1.PodPending, unschedulable)},
			"pod a: Unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."},
		{"pending without conditions", []corev1.Pod{pod("a", "", nil)}, "pod a: pending"},
		{"failed pod", []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}}},
			"pod a: failed: Evicted: low on memory"},
		{"first by name, others counted", []corev1.Pod{pod("c", corev1.PodPending, unschedulable), pod("b", corev1.PodRunning, ready), pod("a", corev1.PodPending, unschedulable), pod("d", corev1.PodPending, unschedulable)},
			"pod a: Unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. (and 2 more pods not ready)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, podsProblem(tt.pods)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abc", 10, "0123456..."},
		{"ääääää", 8, "ää..."}, // 2-byte runes are not split
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
