package status

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
)

// workloads follows the rollout of the releases' Deployments,
// StatefulSets, DaemonSets and Jobs. The informers select objects carrying
// helm.ModuleLabel in all namespaces; every change of one calls onChange.
// evaluate is not safe for concurrent use (the Writer's loop calls it).
type workloads struct {
	kube    kubernetes.Interface
	timeout time.Duration
	clock   clock.WithDelayedExecution
	log     *slog.Logger

	factory      informers.SharedInformerFactory
	deployments  appslisters.DeploymentLister
	statefulSets appslisters.StatefulSetLister
	daemonSets   appslisters.DaemonSetLister
	jobs         batchlisters.JobLister

	// notReady is when each workload was first seen not ready, at which
	// generation.
	notReady map[workloadKey]notReadySince
	// revisions is the Helm revision each module had at the last evaluate;
	// floors the generation of a workload read from the API server when
	// its module's revision changed. The informer's copy may lag behind a
	// Helm upgrade that just returned: a copy older than its floor is of
	// the replaced release and does not count as ready. A floor is dropped
	// once the copy reaches it.
	revisions map[string]int
	floors    map[workloadKey]int64
}

type workloadKey struct {
	kind, namespace, name string
}

type notReadySince struct {
	since      time.Time
	generation int64
	// diagnosis is the last pod diagnosis of the timed-out workload, made
	// at diagnosed.
	diagnosis string
	diagnosed time.Time
}

// diagnoseEvery is how often the pods of a timed-out workload are listed
// again for its message; syncs in between reuse the last diagnosis.
const diagnoseEvery = 30 * time.Second

// report is the state of one module's workloads.
type report struct {
	total int
	// waiting: not ready yet, within the timeout ("Deployment ns/x: 1/3 ready").
	waiting []string
	// failed: timed out or failed, with the reason.
	failed []string
	// ungated: the module's chart opts out of the gate (total stays 0).
	ungated bool
}

func newWorkloads(kube kubernetes.Interface, timeout time.Duration, clk clock.WithDelayedExecution, log *slog.Logger, onChange func()) *workloads {
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = helm.ModuleLabel }))
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { onChange() },
		UpdateFunc: func(any, any) { onChange() },
		DeleteFunc: func(any) { onChange() },
	}
	apps, batch := factory.Apps().V1(), factory.Batch().V1()
	for _, inf := range []cache.SharedIndexInformer{
		apps.Deployments().Informer(), apps.StatefulSets().Informer(),
		apps.DaemonSets().Informer(), batch.Jobs().Informer(),
	} {
		_ = inf.SetTransform(dropManagedFields)
		_, _ = inf.AddEventHandler(h)
	}
	return &workloads{
		kube: kube, timeout: timeout, clock: clk, log: log, factory: factory,
		deployments: apps.Deployments().Lister(), statefulSets: apps.StatefulSets().Lister(),
		daemonSets: apps.DaemonSets().Lister(), jobs: batch.Jobs().Lister(),
		notReady:  map[workloadKey]notReadySince{},
		revisions: map[string]int{}, floors: map[workloadKey]int64{},
	}
}

// dropManagedFields keeps the caches small.
func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// cacheSyncWarning is how long start waits for the caches before it says
// so (missing list/watch rights keep them from syncing).
const cacheSyncWarning = 30 * time.Second

// start runs the informers until ctx is done and waits for their caches;
// false when ctx ended first. Call shutdown after ctx is done.
func (w *workloads) start(ctx context.Context) bool {
	w.factory.Start(ctx.Done())
	warn := w.clock.AfterFunc(cacheSyncWarning, func() {
		w.log.Warn("workload caches not synced yet, module status waits; check list and watch rights on deployments, statefulsets, daemonsets and jobs")
	})
	defer warn.Stop()
	for _, ok := range w.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return false
		}
	}
	return true
}

func (w *workloads) shutdown() { w.factory.Shutdown() }

// workloadKeyOf picks the kinds whose readiness counts.
func workloadKeyOf(o helm.ObjectRef) (workloadKey, bool) {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return workloadKey{}, false
	}
	switch {
	case gv.Group == "apps" && (o.Kind == "Deployment" || o.Kind == "StatefulSet" || o.Kind == "DaemonSet"),
		gv.Group == "batch" && o.Kind == "Job":
		return workloadKey{kind: o.Kind, namespace: o.Namespace, name: o.Name}, true
	}
	return workloadKey{}, false
}

// rollout looks a workload up in the informers' caches; a workload that is
// absent is reported not ready ("not found").
func (w *workloads) rollout(k workloadKey) rollout {
	r, err := w.lookup(k)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			w.log.Warn("workload lookup failed", "error", err)
		}
		return rollout{progress: "not found", generation: -1}
	}
	return r
}

func (w *workloads) lookup(k workloadKey) (rollout, error) {
	var (
		obj metav1.Object
		r   rollout
	)
	switch k.kind {
	case "Deployment":
		d, err := w.deployments.Deployments(k.namespace).Get(k.name)
		if err != nil {
			return rollout{}, err
		}
		obj, r = d, deploymentRollout(d)
	case "StatefulSet":
		st, err := w.statefulSets.StatefulSets(k.namespace).Get(k.name)
		if err != nil {
			return rollout{}, err
		}
		obj, r = st, statefulSetRollout(st)
	case "DaemonSet":
		d, err := w.daemonSets.DaemonSets(k.namespace).Get(k.name)
		if err != nil {
			return rollout{}, err
		}
		obj, r = d, daemonSetRollout(d)
	case "Job":
		j, err := w.jobs.Jobs(k.namespace).Get(k.name)
		if err != nil {
			return rollout{}, err
		}
		obj, r = j, jobRollout(j)
	default:
		return rollout{}, fmt.Errorf("workload kind %q not followed", k.kind)
	}
	r.ignored = obj.GetAnnotations()[module.AnnotationIgnoreReadiness] == "true"
	return r, nil
}

// evaluate reports the workloads of every module that is not Disabled, and
// the earliest time a waiting workload reaches its timeout (zero: none).
// It records when workloads are first seen not ready and forgets those no
// module has any more. A module's Readiness replaces the default timeout or
// leaves its workloads out; so does a workload's AnnotationIgnoreReadiness.
func (w *workloads) evaluate(ctx context.Context, statuses []module.Status, now time.Time) (map[string]report, time.Time) {
	reports := make(map[string]report, len(statuses))
	seen := map[workloadKey]bool{}
	var deadline time.Time
	for _, st := range statuses {
		if st.Phase == module.PhaseDisabled {
			continue
		}
		var rep report
		if st.Readiness.Ungated {
			rep.ungated = true
			reports[st.Module] = rep
			continue
		}
		timeout := cmp.Or(st.Readiness.Timeout, w.timeout)
		prevRev, known := w.revisions[st.Module]
		newRevision := known && prevRev != st.Revision
		w.revisions[st.Module] = st.Revision
		for _, o := range st.Objects {
			key, ok := workloadKeyOf(o)
			if !ok {
				continue
			}
			if newRevision {
				w.setFloor(ctx, key)
			}
			ro := w.rollout(key)
			if fl, ok := w.floors[key]; ok {
				if ro.generation < fl {
					ro.ready, ro.progress = false, "the watch has not seen the new spec yet"
				} else {
					delete(w.floors, key) // caught up; a re-created workload restarts at 1
				}
			}
			if ro.ignored {
				continue
			}
			rep.total++
			seen[key] = true
			if ro.ready {
				delete(w.notReady, key)
				continue
			}
			nr, ok := w.notReady[key]
			if !ok || nr.generation != ro.generation {
				nr = notReadySince{since: now, generation: ro.generation}
				w.notReady[key] = nr
			}
			switch {
			case ro.failure != "":
				rep.failed = append(rep.failed, o.String()+" "+ro.failure)
			case now.Sub(nr.since) >= timeout:
				if nr.diagnosed.IsZero() || now.Sub(nr.diagnosed) >= diagnoseEvery {
					nr.diagnosis, nr.diagnosed = w.diagnose(ctx, key.namespace, ro.selector), now
					w.notReady[key] = nr
				}
				rep.failed = append(rep.failed, fmt.Sprintf("%s not ready after %s: %s%s", o, timeout, ro.progress, nr.diagnosis))
			default:
				rep.waiting = append(rep.waiting, o.String()+": "+ro.progress)
				if d := nr.since.Add(timeout); deadline.IsZero() || d.Before(deadline) {
					deadline = d
				}
			}
		}
		reports[st.Module] = rep
	}
	for k := range w.notReady {
		if !seen[k] {
			delete(w.notReady, k)
		}
	}
	for k := range w.floors {
		if !seen[k] {
			delete(w.floors, k)
		}
	}
	for m := range w.revisions {
		if _, ok := reports[m]; !ok {
			delete(w.revisions, m)
		}
	}
	return reports, deadline
}

// setFloor reads the workload's generation from the API server; a failed
// read sets no floor (the cache is then trusted as before).
func (w *workloads) setFloor(ctx context.Context, k workloadKey) {
	var (
		obj metav1.Object
		err error
	)
	get := metav1.GetOptions{}
	switch k.kind {
	case "Deployment":
		obj, err = w.kube.AppsV1().Deployments(k.namespace).Get(ctx, k.name, get)
	case "StatefulSet":
		obj, err = w.kube.AppsV1().StatefulSets(k.namespace).Get(ctx, k.name, get)
	case "DaemonSet":
		obj, err = w.kube.AppsV1().DaemonSets(k.namespace).Get(ctx, k.name, get)
	case "Job":
		obj, err = w.kube.BatchV1().Jobs(k.namespace).Get(ctx, k.name, get)
	default:
		return
	}
	if err != nil {
		delete(w.floors, k)
		if !apierrors.IsNotFound(err) {
			w.log.Debug("read workload generation failed", "error", err)
		}
		return
	}
	w.floors[k] = obj.GetGeneration()
}

// diagnose names a pod of the workload that is not ready and why, as
// "; pod x: reason", or "" when it finds none.
func (w *workloads) diagnose(ctx context.Context, namespace string, selector *metav1.LabelSelector) string {
	if selector == nil {
		return ""
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return ""
	}
	pods, err := w.kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		w.log.Debug("list pods for diagnosis failed", "error", err)
		return ""
	}
	if p := podsProblem(pods.Items); p != "" {
		return "; " + p
	}
	return ""
}
