package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// The operator benchmarks below sample several runs inside one benchmark
// call and report order statistics as metrics; they ignore b.N (one call
// takes far longer than the default -benchtime, so go test calls each once)
// and suppress ns/op, which would only be the benchmark's wall time. B/op
// and allocs/op printed with -benchmem are the test process's own and mean
// nothing here. Each runs once per workload (bundle=shipped,
// bundle=synthetic-50; BenchmarkWarmRestart also synthetic-100 and -200);
// together they take about eight minutes on 2 cores, plus about four for
// the larger warm restarts.
// Settings (environment, since `go test ./...` cannot pass package flags):
// BENCH_RUNS (cold and warm starts, default 3), BENCH_EVENTS (100),
// BENCH_EVENT_GAP (150ms), BENCH_EDITS (20), BENCH_EDIT_GAP (300ms),
// BENCH_IDLE (60s), BENCH_IDLE_SETTLE (10s), BENCH_LOG_DIR (keep the
// operators' logs there), BENCH_PERF_DIR (record perf profiles there),
// BENCH_OPERATOR_BINARY (measure that binary instead of a fresh build).

const (
	readyTimeout    = 3 * time.Minute
	deployedTimeout = time.Minute
)

// BenchmarkColdStart: process start → every release of the bundle
// deployed and /readyz 200, on an empty namespace. Also reported, as
// medians over the runs: load-s (start → bundle loaded and every hook's
// --config parsed: the "operator started" log line), converge-s (the
// operator's own convergence_seconds), hook-s and helm-s (the sums of hook
// run and Helm operation seconds, from /metrics), revisions (the Helm
// revisions one cold start made: one per release).
func BenchmarkColdStart(b *testing.B) {
	eachWorkload(b, func(b *testing.B, w workload) { coldStart(b, w, envInt("BENCH_RUNS", 3)) })
}

// coldStart runs the workload's operator runs times, each on a new empty
// namespace, and reports what BenchmarkColdStart describes.
func coldStart(b *testing.B, w workload, runs int) {
	defer reportLoad(b)()
	cs := testCluster.Client()
	var ready, load, conv, hooks, helmOps, revs, reqs []float64
	var cpu []cpuSeconds
	for i := range runs {
		ns := w.namespace(b, fmt.Sprintf("bench-cold-%s-%d", w.name, i+1))
		r, at, used, api := measuredStart(b, w, ns, "cold-start", i == 0)
		if all := waitDeployed(b, ns, w.releases, deployedTimeout); all.After(at) {
			at = all
		}
		cpu = append(cpu, used)
		reqs = append(reqs, logAPIRequests(b, api[0], api[1]))
		ready = append(ready, at.Sub(r.start).Seconds())
		if t, ok := r.logTime("operator started"); ok {
			load = append(load, t.Sub(r.start).Seconds())
		}
		m := r.metrics(b)
		conv = append(conv, m.sum("addon_operator_convergence_seconds"))
		hooks = append(hooks, m.sum("addon_operator_module_hook_run_seconds_sum")+m.sum("addon_operator_global_hook_run_seconds_sum"))
		helmOps = append(helmOps, m.sum("addon_operator_helm_operation_seconds_sum"))
		n, _ := releases(b, ns)
		revs = append(revs, float64(n))
		r.op.Stop(b)
		w.cleanup(b, ns)
		deleteNamespace(b, cs, ns)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(runs), "runs")
	b.ReportMetric(float64(w.releases), "releases")
	newStats(ready).report(b, "ready-s")
	b.ReportMetric(newStats(load).median(), "load-s-median")
	b.ReportMetric(newStats(conv).median(), "converge-s-median")
	b.ReportMetric(newStats(hooks).median(), "hook-s-median")
	b.ReportMetric(newStats(helmOps).median(), "helm-s-median")
	b.ReportMetric(newStats(revs).median(), "revisions-median")
	b.ReportMetric(newStats(reqs).median(), "api-requests-median")
	reportCPU(b, cpu)
}

// measuredStart starts the operator of w on ns and waits until it is
// ready (a perf profile named <perfName>-<w.name> of the first start,
// when profile is set and BENCH_PERF_DIR asks for one). It returns when it
// was ready, where the start's CPU time went until then, and the API
// server's metrics before the start and at ready.
func measuredStart(b *testing.B, w workload, ns, perfName string, profile bool) (*operatorRun, time.Time, cpuSeconds, [2]promText) {
	b.Helper()
	stopPerf := func() {}
	if profile {
		stopPerf = perf(b, perfName+"-"+w.name, 0)
	}
	api, cluster0 := apiserverMetrics(b), controlPlaneTicks()
	r := w.start(b, ns)
	at := r.waitReady(b, readyTimeout)
	stopPerf()
	used := cpuSince(b, r.op.Pid(), cluster0)
	return r, at, used, [2]promText{api, apiserverMetrics(b)}
}

// BenchmarkWarmRestart: the bundle's releases exist and nothing changed;
// process start → /readyz 200. new-revisions counts the Helm revisions made
// by all the restarts together (2 s after each ready, so that a late
// upgrade would be seen); it should be 0. It runs on the shipped bundle and
// on synthetic bundles of 50, 100 and 200 modules, to show how a restart
// grows with the bundle. Also reported, as medians over the restarts:
// hook-s (hook run seconds, from /metrics), and api-get and api-list, the
// GET and LIST requests the API server served from start to ready (its
// apiserver_request_total; the benchmark's own requests are not in that
// window, the controller-manager's are, a few per second).
//
// The synthetic bundles run twice: bundle=synthetic-N gives every module an
// order of its own (one after another, as bundles without module.yaml are
// written), bundle=synthetic-N-yaml a module.yaml without requirements (at
// most --module-parallelism at once).
func BenchmarkWarmRestart(b *testing.B) {
	sizes := []int{DefaultModules, 100, 200}
	eachScale(b, sizes, warmRestart)
	for _, n := range sizes {
		b.Run(fmt.Sprintf("bundle=synthetic-%d-yaml", n), func(b *testing.B) {
			needCluster(b)
			w := syntheticBundle(b, BundleOptions{Modules: n, ModuleYAML: true})
			w.name += "-yaml"
			warmRestart(b, w)
		})
	}
}

func warmRestart(b *testing.B, w workload) {
	defer reportLoad(b)()
	runs := envInt("BENCH_RUNS", 3)
	ns := w.namespace(b, "bench-warm-"+w.name)
	first := w.start(b, ns)
	first.waitReady(b, readyTimeout)
	waitDeployed(b, ns, w.releases, deployedTimeout)
	first.op.Stop(b)

	var ready, hooks, gets, lists []float64
	var cpu []cpuSeconds
	newRevisions := 0
	for i := range runs {
		before, _ := releases(b, ns)
		r, at, used, scrapes := measuredStart(b, w, ns, "warm-restart", i == 0)
		cpu = append(cpu, used)
		api, api2 := scrapes[0], scrapes[1]
		logAPIRequests(b, api, api2)
		ready = append(ready, at.Sub(r.start).Seconds())
		gets = append(gets, api2.sum("apiserver_request_total", `verb="GET"`)-api.sum("apiserver_request_total", `verb="GET"`))
		lists = append(lists, api2.sum("apiserver_request_total", `verb="LIST"`)-api.sum("apiserver_request_total", `verb="LIST"`))
		m := r.metrics(b)
		hooks = append(hooks, m.sum("addon_operator_module_hook_run_seconds_sum")+m.sum("addon_operator_global_hook_run_seconds_sum"))
		time.Sleep(2 * time.Second)
		after, deployed := releases(b, ns)
		if len(deployed) != w.releases {
			b.Errorf("restart %d: %d of %d releases deployed", i+1, len(deployed), w.releases)
		}
		newRevisions += after - before
		r.op.Stop(b)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(runs), "runs")
	b.ReportMetric(float64(w.releases), "releases")
	newStats(ready).report(b, "ready-s")
	b.ReportMetric(newStats(hooks).median(), "hook-s-median")
	b.ReportMetric(newStats(gets).median(), "api-get-median")
	b.ReportMetric(newStats(lists).median(), "api-list-median")
	b.ReportMetric(float64(newRevisions), "new-revisions")
	reportCPU(b, cpu)
}

// BenchmarkEventToHook: a ConfigMap labelled bench=event is created in the
// operator's namespace → the global hook bound to it starts. Latency is
// from just before the client's Create call (so it includes the API
// server's write and watch delivery) to the hook's first line
// ($EPOCHREALTIME in bash, so it includes the hook process's exec and bash
// start-up). The ConfigMaps are created one at a time, BENCH_EVENT_GAP
// (150 ms) apart, so that runs do not merge; merged counts events that
// shared a hook run anyway. create-rtt is the client's Create round trip;
// watch-p50 is Create → the Added event at a watch of this process (the
// API server's share), after-watch the rest (the operator's share: its
// informer, dispatch, queue, hook files, exec and bash start-up).
// The operator runs the 50-module bundle beside the hook.
func BenchmarkEventToHook(b *testing.B) {
	defer reportLoad(b)()
	n := envInt("BENCH_EVENTS", 100)
	gap := envDuration("BENCH_EVENT_GAP", 150*time.Millisecond)
	ns := namespace(b, "bench-events")
	events := filepath.Join(b.TempDir(), "events")
	dir := bundle(b, BundleOptions{WatchHook: true})
	r := startOperator(b, dir, ns, EnvWatchNamespace+"="+ns, EnvEventsFile+"="+events)
	r.waitReady(b, readyTimeout)
	waitDeployed(b, ns, DefaultModules, deployedTimeout)
	time.Sleep(2 * time.Second)
	eventToHook(b, r, ns, events, n, gap)
}

// eventToHook creates n ConfigMaps labelled bench=event in ns, gap apart,
// waits for the watch hook of r to have started for each (its lines in
// the events file) and reports the latencies BenchmarkEventToHook
// describes.
func eventToHook(b *testing.B, r *operatorRun, ns, events string, n int, gap time.Duration) {
	b.Helper()
	ctx := context.Background()
	cms := testCluster.Client().CoreV1().ConfigMaps(ns)
	watched := watchAdded(b, cms, WatchLabelKey+"="+WatchLabelValue)
	created := map[string]time.Time{}
	var rtt []float64
	stopPerf := perf(b, "event-to-hook", r.op.Pid())
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name:   fmt.Sprintf("event-%03d", i),
			Labels: map[string]string{WatchLabelKey: WatchLabelValue},
		}}
		t0 := time.Now()
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		rtt = append(rtt, ms(time.Since(t0)))
		created[cm.Name] = t0
		time.Sleep(gap)
	}
	stopPerf()

	starts, merged := waitHookStarts(b, events, created, 30*time.Second)
	seen := watched()
	var lat, api, op []float64
	for name, t0 := range created {
		lat = append(lat, ms(starts[name].Sub(t0)))
		if t, ok := seen[name]; ok {
			api = append(api, ms(t.Sub(t0)))
			op = append(op, ms(starts[name].Sub(t)))
		}
	}
	s := newStats(lat)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "events")
	b.ReportMetric(s.min(), "min-ms")
	b.ReportMetric(s.pct(50), "p50-ms")
	b.ReportMetric(s.pct(90), "p90-ms")
	b.ReportMetric(s.pct(99), "p99-ms")
	b.ReportMetric(s.max(), "max-ms")
	b.ReportMetric(newStats(rtt).pct(50), "create-rtt-p50-ms")
	b.ReportMetric(newStats(api).pct(50), "watch-p50-ms")
	b.ReportMetric(newStats(op).pct(50), "after-watch-p50-ms")
	b.ReportMetric(newStats(op).pct(99), "after-watch-p99-ms")
	b.ReportMetric(float64(merged), "merged")
}

// watchAdded watches ConfigMaps with the label selector from this process
// and records when each one's Added event arrives; the returned func stops
// the watch and gives the times by name. It splits the event latency into
// the API server's part (write, watch fan-out; the operator's informer gets
// the same event at about the same time) and the operator's part.
func watchAdded(b *testing.B, cms interface {
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}, selector string) func() map[string]time.Time {
	b.Helper()
	w, err := cms.Watch(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			now := time.Now()
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added {
				seen[cm.Name] = now
			}
		}
	}()
	return func() map[string]time.Time {
		w.Stop()
		<-done
		return seen
	}
}

// waitHookStarts reads the watch hook's lines until every created object
// has a start time, and returns them with the number of objects whose run
// was shared with another object.
func waitHookStarts(b *testing.B, file string, created map[string]time.Time, timeout time.Duration) (map[string]time.Time, int) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		starts, merged, err := readHookStarts(file)
		if err != nil {
			b.Fatal(err)
		}
		missing := 0
		for name := range created {
			if _, ok := starts[name]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return starts, merged
		}
		if time.Now().After(deadline) {
			b.Fatalf("the watch hook did not run for %d of %d ConfigMaps", missing, len(created))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readHookStarts(file string) (map[string]time.Time, int, error) {
	starts := map[string]time.Time{}
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return starts, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	merged := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) != 2 {
			continue
		}
		t, err := parseEpoch(fields[0])
		if err != nil {
			return nil, 0, err
		}
		names := strings.Split(fields[1], ",")
		if len(names) > 1 {
			merged += len(names)
		}
		for _, n := range names {
			if _, seen := starts[n]; !seen {
				starts[n] = t
			}
		}
	}
	return starts, merged, s.Err()
}

// parseEpoch parses bash's $EPOCHREALTIME ("1795400106.541414").
func parseEpoch(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse hook start %q: %w", s, err)
	}
	frac = (frac + "000000000")[:9]
	nsec, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse hook start %q: %w", s, err)
	}
	return time.Unix(secs, nsec), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkConfigEditToDeployment: one setting is changed in the
// operator's ConfigMap → the Deployment it shapes shows the change in the
// cluster (shipped bundle: ingressNginx.replicas → the ingress controller's
// spec.replicas; synthetic: addon-25's setting → its pod template
// annotation bench/setting). Latency is from just before the client's
// Update call to the watch event (in this process) that shows the new
// Deployment spec: it includes the ConfigMap watch, validation, the
// module's hooks, render and the Helm upgrade. accepted-p50 and applied-p50
// split it with the operator's log: edit → "config accepted", edit →
// "release applied" (Helm logs it after the objects are patched, so it may
// come after the Deployment is seen); hook-ms-per-edit and
// helm-ms-per-edit are the hook run and Helm operation seconds the edits
// cost, from /metrics, divided by the number of edits. Edits are BENCH_EDIT_GAP (300 ms) apart; with the
// default 20 edits p99 is the largest sample.
func BenchmarkConfigEditToDeployment(b *testing.B) {
	eachWorkload(b, func(b *testing.B, w workload) {
		defer reportLoad(b)()
		n := envInt("BENCH_EDITS", 20)
		gap := envDuration("BENCH_EDIT_GAP", 300*time.Millisecond)
		ctx := context.Background()
		cs := testCluster.Client()
		ns := w.namespace(b, "bench-edit-"+w.name)
		cms := cs.CoreV1().ConfigMaps(ns)
		r := w.start(b, ns)
		r.waitReady(b, readyTimeout)
		waitDeployed(b, ns, w.releases, deployedTimeout)
		time.Sleep(2 * time.Second)
		revBefore, _ := releases(b, ns)

		deps := cs.AppsV1().Deployments(ns)
		list, err := deps.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + w.editTarget})
		if err != nil {
			b.Fatal(err)
		}
		if len(list.Items) != 1 || w.editShows(&list.Items[0]) == w.editWant(1) {
			b.Fatalf("Deployment %s missing, or it shows the first edit already: %+v", w.editTarget, list.Items)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		watcher, err := deps.Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=" + w.editTarget, ResourceVersion: list.ResourceVersion})
		if err != nil {
			b.Fatal(err)
		}
		defer watcher.Stop()
		type seen struct {
			value string
			at    time.Time
		}
		observed := make(chan seen, 1024)
		go func() {
			for ev := range watcher.ResultChan() {
				if d, ok := ev.Object.(*appsv1.Deployment); ok {
					observed <- seen{w.editShows(d), time.Now()}
				}
			}
			close(observed)
		}()

		hookSeconds := func(m promText) float64 {
			return m.sum("addon_operator_module_hook_run_seconds_sum") + m.sum("addon_operator_global_hook_run_seconds_sum")
		}
		m0 := r.metrics(b)
		stopPerf := perf(b, "config-edit-"+w.name, r.op.Pid())
		var lat []float64
		var key string
		edited := make([]time.Time, 0, n)
		for i := 1; i <= n; i++ {
			var value string
			key, value = w.edit(ns, i)
			want := w.editWant(i)
			t0 := updateConfig(b, cms, key, value)
			edited = append(edited, t0)
			timeout := time.After(30 * time.Second)
		wait:
			for {
				select {
				case s, ok := <-observed:
					if !ok {
						b.Fatal("the Deployment watch ended")
					}
					if s.value == want {
						lat = append(lat, ms(s.at.Sub(t0)))
						break wait
					}
				case <-timeout:
					b.Fatalf("Deployment %s does not show %s after 30s:\n%s", w.editTarget, want, r.op.Tail(40))
				}
			}
			time.Sleep(gap)
		}
		stopPerf()
		m1 := r.metrics(b)
		revAfter, _ := releases(b, ns)
		// Where the time goes, from the operator's log (millisecond
		// precision): edit → "config accepted" (watch, parse, validate)
		// and edit → "release applied" (queue, hooks, render, upgrade).
		lines := parseLog(r.op.Logs())
		var accepted, applied []float64
		for _, t0 := range edited {
			if t, ok := firstLogAfter(lines, "config accepted", "section", key, t0); ok {
				accepted = append(accepted, ms(t.Sub(t0)))
			}
			if t, ok := firstLogAfter(lines, "release applied", "release", w.editRelease, t0); ok {
				applied = append(applied, ms(t.Sub(t0)))
			}
		}
		s := newStats(lat)
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(float64(n), "edits")
		b.ReportMetric(newStats(accepted).pct(50), "accepted-p50-ms")
		b.ReportMetric(newStats(applied).pct(50), "applied-p50-ms")
		b.ReportMetric((hookSeconds(m1)-hookSeconds(m0))*1000/float64(n), "hook-ms-per-edit")
		b.ReportMetric((m1.sum("addon_operator_helm_operation_seconds_sum")-m0.sum("addon_operator_helm_operation_seconds_sum"))*1000/float64(n), "helm-ms-per-edit")
		b.ReportMetric(s.min(), "min-ms")
		b.ReportMetric(s.pct(50), "p50-ms")
		b.ReportMetric(s.pct(90), "p90-ms")
		b.ReportMetric(s.pct(99), "p99-ms")
		b.ReportMetric(s.max(), "max-ms")
		b.ReportMetric(float64(revAfter-revBefore), "new-revisions")
	})
}

// updateConfig sets one key of the operator's ConfigMap and returns the
// time just before the successful Update call.
func updateConfig(b *testing.B, cms interface {
	Get(context.Context, string, metav1.GetOptions) (*corev1.ConfigMap, error)
	Update(context.Context, *corev1.ConfigMap, metav1.UpdateOptions) (*corev1.ConfigMap, error)
}, key, value string) time.Time {
	b.Helper()
	ctx := context.Background()
	for range 10 {
		cm, err := cms.Get(ctx, "addon-operator", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cm.Data[key] = value
		t0 := time.Now()
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		if err == nil {
			return t0
		}
		if !apierrors.IsConflict(err) {
			b.Fatal(err)
		}
	}
	b.Fatal("could not update the operator's ConfigMap")
	return time.Time{}
}

// BenchmarkIdle: the operator with the bundle converged, after
// BENCH_IDLE_SETTLE (10 s), left alone for BENCH_IDLE (60 s). cpu-pct is
// the operator process's user+system CPU time over the window
// (/proc/<pid>/stat) as a percentage of one core; child-cpu-pct the same
// for hook processes it waited for. rss-MB is VmRSS at the end, rss-max-MB
// the largest VmRSS of the 1 s samples, hwm-MB the process's lifetime peak
// (VmHWM, reached during the cold start); rss-anon-MB and rss-file-MB
// split VmRSS into heap/stacks and mapped binary pages, heap-inuse-MB and
// heap-unreleased-MB (idle heap not yet returned to the OS) come from the
// Go collector on /metrics. hook-runs and helm-ops count what ran during the
// window (from /metrics).
//
// Each workload runs twice: drift=Correct (the default drift policy) and
// drift=Ignore (no drift checks), for the cost of drift detection at idle.
func BenchmarkIdle(b *testing.B) {
	eachWorkload(b, func(b *testing.B, w workload) {
		for _, policy := range []string{"Correct", "Ignore"} {
			b.Run("drift="+policy, func(b *testing.B) { idle(b, w.withDrift(policy)) })
		}
	})
}

func idle(b *testing.B, w workload) {
	defer reportLoad(b)()
	settle := envDuration("BENCH_IDLE_SETTLE", 10*time.Second)
	window := envDuration("BENCH_IDLE", time.Minute)
	ns := w.namespace(b, "bench-idle-"+w.name)
	r := w.start(b, ns)
	r.waitReady(b, readyTimeout)
	waitDeployed(b, ns, w.releases, deployedTimeout)
	time.Sleep(settle)
	pid := r.op.Pid()

	runs := func(m promText) float64 {
		return m.sum("addon_operator_module_hook_run_seconds_count") + m.sum("addon_operator_global_hook_run_seconds_count")
	}
	m0 := r.metrics(b)
	stopPerf := perf(b, "idle-"+w.name, pid)
	s0, err := readStat(pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	var rssMax int64
	for time.Since(t0) < window {
		time.Sleep(time.Second)
		if kb, err := statusKB(pid, "VmRSS"); err == nil && kb > rssMax {
			rssMax = kb
		}
	}
	s1, err := readStat(pid)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(t0).Seconds()
	stopPerf()
	rss, err := statusKB(pid, "VmRSS")
	if err != nil {
		b.Fatal(err)
	}
	hwm, err := statusKB(pid, "VmHWM")
	if err != nil {
		b.Fatal(err)
	}
	anon, _ := statusKB(pid, "RssAnon")
	fileBacked, _ := statusKB(pid, "RssFile")
	m1 := r.metrics(b)

	pct := func(ticks int64) float64 { return float64(ticks) / clockTicks / elapsed * 100 }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(elapsed, "window-s")
	b.ReportMetric(pct(s1.utime+s1.stime-s0.utime-s0.stime), "cpu-pct")
	b.ReportMetric(pct(s1.cutime+s1.cstime-s0.cutime-s0.cstime), "child-cpu-pct")
	b.ReportMetric(float64(rss)/1024, "rss-MB")
	b.ReportMetric(float64(rssMax)/1024, "rss-max-MB")
	b.ReportMetric(float64(hwm)/1024, "hwm-MB")
	b.ReportMetric(float64(anon)/1024, "rss-anon-MB")
	b.ReportMetric(float64(fileBacked)/1024, "rss-file-MB")
	b.ReportMetric(m1.sum("go_memstats_heap_inuse_bytes")/(1<<20), "heap-inuse-MB")
	b.ReportMetric(m1.sum("go_memstats_heap_idle_bytes")/(1<<20)-m1.sum("go_memstats_heap_released_bytes")/(1<<20), "heap-unreleased-MB")
	b.ReportMetric(m1.sum("go_goroutines"), "goroutines")
	b.ReportMetric(runs(m1)-runs(m0), "hook-runs")
	b.ReportMetric(m1.sum("addon_operator_helm_operation_seconds_count")-m0.sum("addon_operator_helm_operation_seconds_count"), "helm-ops")
}
