package status_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/status"
)

// The operator keeps running without the CRD and publishes the status as
// soon as the CRD is installed. Not parallel: it removes the CRD, so it
// runs before the parallel tests.
func TestCRDMissing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := deleteCRD(ctx); err != nil {
		t.Fatal(err)
	}
	src := newSource(true, module.Status{Module: "crd-late", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, LastRun: time.Now()})
	logs := startWriter(t, status.Config{Namespace: "crd-missing", Resync: 2 * time.Second}, src)

	waitReads(t, src, 3) // the first sync and two retries
	if n := logs.count("module CRD not installed, module status is not published; retrying"); n != 1 {
		t.Errorf("logged the missing CRD %d times, want once", n)
	}
	if err := applyCRD(ctx); err != nil {
		t.Fatal(err)
	}
	waitModule(t, "crd-late", phaseIs(module.PhaseReady))
}

func TestPhases(t *testing.T) {
	t.Parallel()
	setup(t)
	lastRun := time.Now().Add(-90 * time.Second)
	src := newSource(true,
		module.Status{Module: "phases-ready", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 3, LastRun: lastRun},
		module.Status{Module: "phases-error", Enabled: true, EnabledByConfig: true, Phase: module.PhaseError, FailedStep: module.StepHelm,
			Message: `render chart: template: web/templates/deploy.yaml:3: unexpected "}"`, Failures: 2, Revision: 1, LastRun: lastRun},
		module.Status{Module: "phases-off", Phase: module.PhaseDisabled},
		module.Status{Module: "phases-script-off", EnabledByConfig: true, EnabledByScript: ptr.To(false), EnabledReason: "no ingress nodes", Phase: module.PhaseDisabled},
		module.Status{Module: "phases-running", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReconciling},
	)
	startWriter(t, status.Config{Namespace: "phases"}, src)

	type cond struct{ Type, Status, Reason string }
	type view struct {
		Label      string
		Enabled    bool
		Phase      module.Phase
		Message    string
		FailedStep string
		Revision   int64
		LastRun    bool
		Conditions []cond
	}
	tests := []struct {
		module string
		want   view
	}{
		{"phases-ready", view{Label: "phases", Enabled: true, Phase: "Ready", Revision: 3, LastRun: true, Conditions: []cond{
			{"EnabledByConfig", "True", "Enabled"}, {"EnabledByScript", "True", "NoScript"},
			{"HelmReleaseDeployed", "True", "Deployed"}, {"HooksOK", "True", "Succeeded"}, {"WorkloadsReady", "True", "NoWorkloads"},
		}}},
		{"phases-error", view{Label: "phases", Enabled: true, Phase: "Error", FailedStep: "helm", Revision: 1, LastRun: true,
			Message: `render chart: template: web/templates/deploy.yaml:3: unexpected "}"`, Conditions: []cond{
				{"EnabledByConfig", "True", "Enabled"}, {"EnabledByScript", "True", "NoScript"},
				{"HelmReleaseDeployed", "False", "HelmFailed"}, {"HooksOK", "True", "Succeeded"}, {"WorkloadsReady", "True", "NoWorkloads"},
			}}},
		{"phases-off", view{Label: "phases", Phase: "Disabled", Message: "disabled by configuration", Conditions: []cond{
			{"EnabledByConfig", "False", "Disabled"}, {"EnabledByScript", "Unknown", "NotRun"},
			{"HelmReleaseDeployed", "False", "ModuleDisabled"}, {"HooksOK", "Unknown", "ModuleDisabled"}, {"WorkloadsReady", "Unknown", "ModuleDisabled"},
		}}},
		{"phases-script-off", view{Label: "phases", Phase: "Disabled", Message: "disabled by the enabled script: no ingress nodes", Conditions: []cond{
			{"EnabledByConfig", "True", "Enabled"}, {"EnabledByScript", "False", "Disabled"},
			{"HelmReleaseDeployed", "False", "ModuleDisabled"}, {"HooksOK", "Unknown", "ModuleDisabled"}, {"WorkloadsReady", "Unknown", "ModuleDisabled"},
		}}},
		{"phases-running", view{Label: "phases", Enabled: true, Phase: "Reconciling", Message: "module run in progress", Conditions: []cond{
			{"EnabledByConfig", "True", "Enabled"}, {"EnabledByScript", "True", "NoScript"},
			{"HelmReleaseDeployed", "Unknown", "NotRun"}, {"HooksOK", "Unknown", "NotRun"}, {"WorkloadsReady", "True", "NoWorkloads"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			obj, st := waitModule(t, tt.module, func(st status.ModuleStatus) bool { return st.Phase != "" })
			got := view{Label: obj.GetLabels()[status.NamespaceLabel], Enabled: st.Enabled, Phase: st.Phase, Message: st.Message,
				FailedStep: st.FailedStep, Revision: st.Revision, LastRun: st.LastRun != nil}
			for _, c := range st.Conditions {
				got.Conditions = append(got.Conditions, cond{c.Type, string(c.Status), c.Reason})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("kubectl get modules", func(t *testing.T) {
		out := kubectl(t, "get", "modules", "-l", status.NamespaceLabel+"=phases")
		t.Logf("kubectl get modules:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if diff := cmp.Diff([]string{"NAME", "ENABLED", "PHASE", "RELEASE", "LAST", "RUN", "MESSAGE"}, strings.Fields(lines[0])); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		// name, enabled, phase, release, last run age, message
		want := map[string]*regexp.Regexp{
			"phases-ready":      regexp.MustCompile(`^phases-ready +true +Ready +3 +\d+s *$`),
			"phases-error":      regexp.MustCompile(`^phases-error +true +Error +1 +\d+s +render chart: template: web/templates/deploy.yaml:3: unexpected "}"$`),
			"phases-off":        regexp.MustCompile(`^phases-off +false +Disabled +disabled by configuration$`),
			"phases-script-off": regexp.MustCompile(`^phases-script-off +false +Disabled +disabled by the enabled script: no ingress nodes$`),
			"phases-running":    regexp.MustCompile(`^phases-running +true +Reconciling +module run in progress$`),
		}
		for _, line := range lines[1:] {
			name := strings.Fields(line)[0]
			re, ok := want[name]
			if !ok {
				t.Errorf("unexpected row %q", line)
				continue
			}
			if !re.MatchString(line) {
				t.Errorf("row %q does not match %s", line, re)
			}
			delete(want, name)
		}
		for name := range want {
			t.Errorf("no row for %s", name)
		}
	})
}

// A module whose Deployment's pods cannot be scheduled yet is Reconciling,
// naming the Deployment; once a node for them appears and kwok runs them,
// it is Ready.
func TestRolloutBecomesReady(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	ns := newNamespace(t, "rollout")
	nodeLabel := map[string]string{"status-test": "rollout"}
	cs := testCluster.Client()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", "rollout", 2, nodeLabel), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	src := newSource(true, module.Status{Module: "rollout", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 1,
		LastRun: time.Now(), Objects: []helm.ObjectRef{ref("apps/v1", "Deployment", ns, "web"), ref("v1", "Service", ns, "web")}})
	startWriter(t, status.Config{Namespace: "rollout", WorkloadReadyTimeout: time.Hour}, src)

	_, st := waitModule(t, "rollout", phaseIs(module.PhaseReconciling))
	if want := "waiting for Deployment " + ns + "/web: 0/2 ready"; !strings.HasPrefix(st.Message, want) {
		t.Errorf("message %q, want it to start with %q", st.Message, want)
	}
	if c := conditionOf(st, status.ConditionWorkloadsReady); c.Status != metav1.ConditionFalse || c.Reason != "RollingOut" {
		t.Errorf("WorkloadsReady = %s/%s, want False/RollingOut", c.Status, c.Reason)
	}

	if err := testCluster.AddNode(ctx, nodeFor("status-rollout", nodeLabel)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testCluster.DeleteNode(context.Background(), "status-rollout") })
	_, st = waitModule(t, "rollout", phaseIs(module.PhaseReady))
	if st.Message != "" {
		t.Errorf("message %q, want none", st.Message)
	}
	if c := conditionOf(st, status.ConditionWorkloadsReady); c.Status != metav1.ConditionTrue || c.Message != "1 workloads ready" {
		t.Errorf("WorkloadsReady = %s/%q, want True/\"1 workloads ready\"", c.Status, c.Message)
	}
}

// A Deployment whose pods can never be scheduled turns its module to Error
// after the timeout, naming the Deployment and the pods' problem.
func TestRolloutTimeout(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	ns := newNamespace(t, "stuck")
	cs := testCluster.Client()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "stuck", "stuck", 1, map[string]string{"status-test": "nowhere"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	src := newSource(true, module.Status{Module: "stuck", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 1,
		LastRun: time.Now(), Objects: []helm.ObjectRef{ref("apps/v1", "Deployment", ns, "stuck")}})
	startWriter(t, status.Config{Namespace: "stuck", WorkloadReadyTimeout: 3 * time.Second}, src)

	_, st := waitModule(t, "stuck", func(st status.ModuleStatus) bool { return st.Phase != "" })
	if st.Phase != module.PhaseReconciling {
		t.Errorf("phase before the timeout %s, want Reconciling", st.Phase)
	}
	start := time.Now()
	_, st = waitModule(t, "stuck", phaseIs(module.PhaseError))
	t.Logf("Error after %s: %s", time.Since(start).Round(100*time.Millisecond), st.Message)
	want := regexp.MustCompile(`^Deployment ` + ns + `/stuck not ready after 3s: 0/1 ready; pod stuck-[a-z0-9-]+: Unschedulable: 0/\d+ nodes are available: .*node affinity/selector`)
	if !want.MatchString(st.Message) {
		t.Errorf("message %q does not match %s", st.Message, want)
	}
	if st.FailedStep != status.StepWorkloads {
		t.Errorf("failedStep %q, want %q", st.FailedStep, status.StepWorkloads)
	}
	if c := conditionOf(st, status.ConditionWorkloadsReady); c.Status != metav1.ConditionFalse || c.Reason != "WorkloadsFailed" || c.Message != st.Message {
		t.Errorf("WorkloadsReady = %+v, want False/WorkloadsFailed with the message", c)
	}
}

// Every kind of workload counts, and a settled module is not rewritten by
// changes, workload events or resyncs.
func TestAllKindsReadyAndNoRewrites(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	ns := newNamespace(t, "kinds")
	cs := testCluster.Client()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", "kinds", 2, poolLabel), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, statefulSet(ns, "db", "kinds"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, daemonSet(ns, "agent", "kinds"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, job(ns, "migrate", "kinds"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	statuses := []module.Status{
		{Module: "kinds", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 1, LastRun: time.Now(), Objects: []helm.ObjectRef{
			ref("apps/v1", "DaemonSet", ns, "agent"), ref("apps/v1", "Deployment", ns, "web"), ref("apps/v1", "StatefulSet", ns, "db"),
			ref("batch/v1", "Job", ns, "migrate"), ref("v1", "ConfigMap", ns, "settings"),
		}},
		{Module: "kinds-off", Phase: module.PhaseDisabled},
	}
	src := newSource(true, statuses...)
	logs := startWriter(t, status.Config{Namespace: "kinds", Resync: 300 * time.Millisecond}, src)

	_, st := waitModule(t, "kinds", phaseIs(module.PhaseReady))
	if c := conditionOf(st, status.ConditionWorkloadsReady); c.Status != metav1.ConditionTrue || c.Message != "4 workloads ready" {
		t.Errorf("WorkloadsReady = %s/%q, want True/\"4 workloads ready\"", c.Status, c.Message)
	}
	waitModule(t, "kinds-off", phaseIs(module.PhaseDisabled))

	versions := func() map[string]string {
		out := map[string]string{}
		for _, name := range []string{"kinds", "kinds-off"} {
			obj, _ := moduleObject(t, name)
			out[name] = obj.GetResourceVersion()
		}
		return out
	}
	before, writes := versions(), logs.count("module status written")
	for range 3 {
		src.set(statuses...) // a change signal with nothing changed
		waitReads(t, src, 1)
	}
	waitReads(t, src, 3) // resyncs
	if diff := cmp.Diff(before, versions()); diff != "" {
		t.Errorf("resourceVersions changed with nothing to change (-before +after):\n%s", diff)
	}
	if n := logs.count("module status written"); n != writes {
		t.Errorf("%d status writes with nothing to change", n-writes)
	}
}

// Module objects of modules the bundle no longer has are deleted; others
// stay as they are.
func TestRemovedModule(t *testing.T) {
	t.Parallel()
	setup(t)
	keep := module.Status{Module: "removed-keep", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, LastRun: time.Now()}
	gone := module.Status{Module: "removed-gone", Phase: module.PhaseDisabled, EnabledByConfig: true, EnabledByScript: ptr.To(false)}
	src := newSource(true, keep, gone)
	startWriter(t, status.Config{Namespace: "removed"}, src)
	kept, _ := waitModule(t, "removed-keep", phaseIs(module.PhaseReady))
	waitModule(t, "removed-gone", phaseIs(module.PhaseDisabled))

	src.set(keep)
	waitGone(t, "removed-gone")
	after, _ := moduleObject(t, "removed-keep")
	if kept.GetUID() != after.GetUID() || kept.GetResourceVersion() != after.GetResourceVersion() {
		t.Errorf("removed-keep was changed: uid %s -> %s, resourceVersion %s -> %s", kept.GetUID(), after.GetUID(), kept.GetResourceVersion(), after.GetResourceVersion())
	}
}

// Module objects labelled with another operator's namespace (or with none)
// are neither updated nor deleted, even for a module of the same name.
func TestOtherOperatorsModules(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	mods := dynamicClient().Resource(status.ModuleResource)
	create := func(name string, labels map[string]string) *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(status.ModuleKind)
		obj.SetName(name)
		obj.SetLabels(labels)
		created, err := mods.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Object["status"] = map[string]any{"enabled": true, "phase": "Ready"}
		updated, err := mods.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return updated
	}
	other := map[string]string{status.NamespaceLabel: "other-operator"}
	sameName := create("others-shared", other)
	notOurs := create("others-theirs", other)
	unlabelled := create("others-unlabelled", nil)

	src := newSource(true,
		module.Status{Module: "others-shared", Phase: module.PhaseDisabled, EnabledByConfig: true, EnabledByScript: ptr.To(false)},
		module.Status{Module: "others-unlabelled", Phase: module.PhaseError, Enabled: true, EnabledByConfig: true, Message: "boom"},
		module.Status{Module: "others-ours", Phase: module.PhaseReady, Enabled: true, EnabledByConfig: true},
	)
	logs := startWriter(t, status.Config{Namespace: "others"}, src)
	waitModule(t, "others-ours", phaseIs(module.PhaseReady))
	for range 3 {
		src.notify()
		waitReads(t, src, 1)
	}
	for _, before := range []*unstructured.Unstructured{sameName, notOurs, unlabelled} {
		after, st := moduleObject(t, before.GetName())
		if after == nil {
			t.Errorf("%s was deleted", before.GetName())
			continue
		}
		if after.GetResourceVersion() != before.GetResourceVersion() || st.Phase != "Ready" {
			t.Errorf("%s was changed: resourceVersion %s -> %s, phase %s", before.GetName(), before.GetResourceVersion(), after.GetResourceVersion(), st.Phase)
		}
	}
	if n := logs.count("module object belongs to another operator, leaving it"); n != 2 {
		t.Errorf("logged %d conflicts, want 2 (once per module)", n)
	}
}

// Before the Source's first converge is done, modules it has not touched
// keep their Module objects as they are, and nothing is deleted.
func TestBeforeFirstConverge(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := context.Background()
	// The objects a previous operator process left.
	prev := newSource(true,
		module.Status{Module: "restart-a", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 2, LastRun: time.Now()},
		module.Status{Module: "restart-b", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, Revision: 5, LastRun: time.Now()},
		module.Status{Module: "restart-old", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, LastRun: time.Now()},
	)
	prevCtx, stopPrev := context.WithCancel(ctx)
	w, err := status.New(status.Config{Namespace: "restart"}, testCluster.Client(), dynamicClient(), prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Start(prevCtx) }()
	waitModule(t, "restart-a", phaseIs(module.PhaseReady))
	waitModule(t, "restart-b", phaseIs(module.PhaseReady))
	waitModule(t, "restart-old", phaseIs(module.PhaseReady))
	stopPrev()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, _ := moduleObject(t, "restart-b")

	// The new process: restart-a is running, restart-b not yet discovered.
	src := newSource(false,
		module.Status{Module: "restart-a", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReconciling, Revision: 2},
		module.Status{Module: "restart-b", Phase: module.PhaseDisabled},
	)
	startWriter(t, status.Config{Namespace: "restart"}, src)
	waitModule(t, "restart-a", phaseIs(module.PhaseReconciling))
	waitReads(t, src, 2)
	if after, st := moduleObject(t, "restart-b"); after.GetResourceVersion() != b.GetResourceVersion() || st.Phase != module.PhaseReady {
		t.Errorf("restart-b changed before the first converge: phase %s", st.Phase)
	}
	if obj, _ := moduleObject(t, "restart-old"); obj == nil {
		t.Error("restart-old deleted before the first converge")
	}

	close(src.ready)
	waitModule(t, "restart-b", phaseIs(module.PhaseDisabled))
	waitGone(t, "restart-old")
}

// Every module's phase, as written to its Module object, reaches the
// observer (the module_phase metric); a module the bundle drops leaves it,
// and a stopped Writer (a replica no longer leading) leaves no phases.
func TestPhaseObserver(t *testing.T) {
	t.Parallel()
	setup(t)
	ready := module.Status{Module: "observed-ready", Enabled: true, EnabledByConfig: true, Phase: module.PhaseReady, LastRun: time.Now()}
	src := newSource(true, ready,
		module.Status{Module: "observed-error", Enabled: true, EnabledByConfig: true, Phase: module.PhaseError, FailedStep: module.StepHooks, Message: "hook a.sh (beforeHelm): exit status 1", LastRun: time.Now()},
		module.Status{Module: "observed-off", Phase: module.PhaseDisabled},
	)
	obs := &phaseRecorder{}
	w, err := status.New(status.Config{Namespace: "observed"}, testCluster.Client(), dynamicClient(), src, nil, status.WithPhaseObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	obs.waitPhases(t, map[string]module.Phase{"observed-ready": "Ready", "observed-error": "Error", "observed-off": "Disabled"})

	src.set(ready)
	obs.waitPhases(t, map[string]module.Phase{"observed-ready": "Ready"})

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	obs.waitPhases(t, map[string]module.Phase{})
}

func TestSecretsMasked(t *testing.T) {
	t.Parallel()
	setup(t)
	const secret = "s3cr3t-status-v"
	masker := mask.New()
	masker.Update([]string{secret})
	src := newSource(true,
		module.Status{Module: "masked-hook", Enabled: true, EnabledByConfig: true, Phase: module.PhaseError, FailedStep: module.StepHooks,
			Message: "hook a.sh (beforeHelm): exit status 1: token " + secret + " refused", LastRun: time.Now()},
		module.Status{Module: "masked-script", EnabledByConfig: true, EnabledByScript: ptr.To(false), EnabledReason: "no " + secret, Phase: module.PhaseDisabled},
	)
	startWriterFor(t, status.Config{Namespace: "masked"}, src, status.WithMasker(masker))

	for _, name := range []string{"masked-hook", "masked-script"} {
		obj, _ := waitModule(t, name, func(st status.ModuleStatus) bool { return st.Phase != "" })
		data, err := json.Marshal(obj.Object["status"])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) || !strings.Contains(string(data), mask.Text) {
			t.Errorf("status of %s = %s: want the secret masked as %q", name, data, mask.Text)
		}
	}
}
