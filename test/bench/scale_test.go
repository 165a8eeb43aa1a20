package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The scale benchmarks show how the figures grow with their input: the
// number of modules (50/100/200), of watched objects (1k/5k/10k), and
// events flowing to another hook. Sub-benchmark names carry the input as
// key=value (modules=100/variant=module-yaml, objects=5000), which
// test/benchplot reads to draw each figure against its input.

// scaleModules are the bundle sizes of BenchmarkScaleColdConverge.
var scaleModules = []int{50, 100, 200}

// BenchmarkScaleColdConverge: BenchmarkColdStart on generated bundles of
// 50, 100 and 200 modules, each in two variants: variant=plain (every
// module in its own NNN- order group, as bundles without module.yaml are
// written) and variant=module-yaml (a module.yaml with a weight and no
// requirements: no dependency orders the modules). BENCH_SCALE_RUNS (1)
// cold starts per bundle. ready-s is the figure; revisions-median the Helm
// revisions made (one per module).
func BenchmarkScaleColdConverge(b *testing.B) {
	runs := envInt("BENCH_SCALE_RUNS", 1)
	for _, n := range scaleModules {
		for _, v := range []struct {
			name string
			yaml bool
		}{{"plain", false}, {"module-yaml", true}} {
			b.Run(fmt.Sprintf("modules=%d/variant=%s", n, v.name), func(b *testing.B) {
				needCluster(b)
				w := syntheticBundle(b, BundleOptions{Modules: n, ModuleYAML: v.yaml})
				if v.yaml {
					w.name += "-yaml"
				}
				coldStart(b, w, runs)
			})
		}
	}
}

// syncObjects are the numbers of watched ConfigMaps of
// BenchmarkSynchronization.
var syncObjects = []int{1000, 5000, 10000}

// BenchmarkSynchronization: a global hook watches the ConfigMaps labelled
// bench=sync of its namespace with a jqFilter that keeps the name (the
// bundle's sync.sh), and 1k, 5k and 10k such ConfigMaps exist when the
// operator starts (created once, the count grows between sub-benchmarks).
// Each ConfigMap carries about 1 KB of data, labels and an annotation,
// like a small real one. Reported:
//   - sync-run-s: the hook's Synchronization run as the operator measures
//     it (global_hook_run_seconds: binding context file, values, the
//     process with its jq read of the objects, results);
//   - sync-hook-s: the hook process alone, from its first line to its end
//     (jq reading the binding context);
//   - start-to-sync-s: process start → the hook's first line (bundle load,
//     the initial list, informer sync, snapshot and binding context);
//   - sync-total-s: the whole Synchronization, from the "operator started"
//     log line (bundle loaded, hooks configured) to the hook's end: the
//     initial list and informer sync, binding context and hook run;
//   - ready-s: process start → /readyz 200;
//   - rss-MB (VmRSS 2 s after ready), hwm-MB (VmHWM: the peak, during the
//     Synchronization), rss-anon-MB and heap-inuse-MB at the same time;
//   - objects: what the hook counted in its binding context (= the input).
func BenchmarkSynchronization(b *testing.B) {
	ns := namespace(b, "bench-sync")
	dir := bundle(b, BundleOptions{Modules: 1, SyncHook: true})
	created := 0
	for _, n := range syncObjects {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			createSyncObjects(b, ns, created, n)
			created = n
			defer reportLoad(b)()
			file := filepath.Join(b.TempDir(), "sync")
			r := startOperator(b, dir, ns, EnvWatchNamespace+"="+ns, EnvSyncFile+"="+file)
			stopPerf := perf(b, fmt.Sprintf("sync-%d", n), 0)
			ready := r.waitReady(b, readyTimeout)
			stopPerf()
			waitDeployed(b, ns, 1, deployedTimeout)
			time.Sleep(2 * time.Second)
			pid := r.op.Pid()
			rss, err := statusKB(pid, "VmRSS")
			if err != nil {
				b.Fatal(err)
			}
			hwm, _ := statusKB(pid, "VmHWM")
			anon, _ := statusKB(pid, "RssAnon")
			m := r.metrics(b)
			start, end, seen := readSyncLine(b, file)
			r.op.Stop(b)

			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(seen), "objects")
			b.ReportMetric(m.sum("addon_operator_global_hook_run_seconds_sum", `binding="objects"`), "sync-run-s")
			b.ReportMetric(end.Sub(start).Seconds(), "sync-hook-s")
			b.ReportMetric(start.Sub(r.start).Seconds(), "start-to-sync-s")
			if t, ok := r.logTime("operator started"); ok {
				b.ReportMetric(end.Sub(t).Seconds(), "sync-total-s")
			}
			b.ReportMetric(ready.Sub(r.start).Seconds(), "ready-s")
			b.ReportMetric(float64(rss)/1024, "rss-MB")
			b.ReportMetric(float64(hwm)/1024, "hwm-MB")
			b.ReportMetric(float64(anon)/1024, "rss-anon-MB")
			b.ReportMetric(m.sum("go_memstats_heap_inuse_bytes")/(1<<20), "heap-inuse-MB")
			if seen != n {
				b.Errorf("the sync hook saw %d objects, want %d", seen, n)
			}
		})
	}
}

// fastClient is a client for creating many objects quickly (the shared
// one is limited to 200 QPS).
func fastClient(b *testing.B) kubernetes.Interface {
	b.Helper()
	cfg := rest.CopyConfig(testCluster.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

// createSyncObjects creates the ConfigMaps sync-<from> … sync-<to-1>,
// labelled bench=sync, with 8 workers.
func createSyncObjects(b *testing.B, ns string, from, to int) {
	b.Helper()
	cms := fastClient(b).CoreV1().ConfigMaps(ns)
	data := map[string]string{}
	for k := range 4 {
		data[fmt.Sprintf("key-%d", k)] = strings.Repeat(strconv.Itoa(k), 250)
	}
	next := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cm := &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{
						Name:        fmt.Sprintf("sync-%05d", i),
						Labels:      map[string]string{WatchLabelKey: SyncLabelValue, "app.kubernetes.io/part-of": "bench"},
						Annotations: map[string]string{"bench/index": strconv.Itoa(i)},
					},
					Data: data,
				}
				if _, err := cms.Create(context.Background(), cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- err
					return
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			b.Fatalf("create sync objects: %v", err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("create sync objects: %v", err)
	default:
	}
}

// readSyncLine reads the sync hook's last line: its start and end times
// and the number of objects it read.
func readSyncLine(b *testing.B, file string) (start, end time.Time, objects int) {
	b.Helper()
	f, err := os.Open(file)
	if err != nil {
		b.Fatalf("the sync hook did not run: %v", err)
	}
	defer f.Close()
	var last string
	s := bufio.NewScanner(f)
	for s.Scan() {
		last = s.Text()
	}
	fields := strings.Fields(last)
	if len(fields) != 3 {
		b.Fatalf("sync hook line %q: want <start> <end> <objects>", last)
	}
	if start, err = parseEpoch(fields[0]); err != nil {
		b.Fatal(err)
	}
	if end, err = parseEpoch(fields[1]); err != nil {
		b.Fatal(err)
	}
	if objects, err = strconv.Atoi(fields[2]); err != nil {
		b.Fatalf("sync hook line %q: %v", last, err)
	}
	return start, end, objects
}

// noiseRate is the number of events a second that flow to the noise hook
// in BenchmarkEventToHookUnderLoad.
const noiseRate = 100

// BenchmarkEventToHookUnderLoad: BenchmarkEventToHook (BENCH_EVENTS
// ConfigMaps labelled bench=event, BENCH_EVENT_GAP apart, Create → the
// watch hook's first line) while noiseRate (100) unrelated events a second
// flow to another global hook (noise.sh: merge patches to 20 ConfigMaps
// labelled bench=noise, round robin). noise-queue=main puts the noise hook
// on the main queue with the watch hook (a hook's default),
// noise-queue=noise on a queue of its own. The bundle has one module
// beside the hooks. noise-events-per-s is the rate the patches reached.
func BenchmarkEventToHookUnderLoad(b *testing.B) {
	for _, queue := range []string{"main", "noise"} {
		b.Run("noise-queue="+queue, func(b *testing.B) {
			defer reportLoad(b)()
			n := envInt("BENCH_EVENTS", 100)
			gap := envDuration("BENCH_EVENT_GAP", 150*time.Millisecond)
			ns := namespace(b, "bench-noise-"+queue)
			events := filepath.Join(b.TempDir(), "events")
			noiseQueue := ""
			if queue != "main" {
				noiseQueue = queue
			}
			dir := bundle(b, BundleOptions{Modules: 1, WatchHook: true, NoiseHook: true, NoiseQueue: noiseQueue})
			r := startOperator(b, dir, ns, EnvWatchNamespace+"="+ns, EnvEventsFile+"="+events)
			r.waitReady(b, readyTimeout)
			waitDeployed(b, ns, 1, deployedTimeout)
			stop := noise(b, ns, noiseRate)
			time.Sleep(2 * time.Second)
			eventToHook(b, r, ns, events, n, gap)
			b.ReportMetric(stop(), "noise-events-per-s")
		})
	}
}

// noise patches 20 ConfigMaps labelled bench=noise in ns, round robin, at
// rate patches a second until the returned func is called; that func
// returns the rate reached.
func noise(b *testing.B, ns string, rate int) (stop func() float64) {
	b.Helper()
	const objects = 20
	cms := fastClient(b).CoreV1().ConfigMaps(ns)
	ctx := context.Background()
	for i := range objects {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name:   fmt.Sprintf("noise-%02d", i),
			Labels: map[string]string{WatchLabelKey: NoiseLabelValue},
		}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	done := make(chan struct{})
	var sent atomic.Int64
	var wg sync.WaitGroup
	// Four workers, each at a quarter of the rate, so that one slow patch
	// does not hold the rest back.
	const workers = 4
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second * workers / time.Duration(rate))
			defer tick.Stop()
			for i := w; ; i += workers {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				patch := fmt.Sprintf(`{"data":{"n":"%d"}}`, i)
				if _, err := cms.Patch(ctx, fmt.Sprintf("noise-%02d", i%objects), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err == nil {
					sent.Add(1)
				}
			}
		}()
	}
	var once sync.Once
	var reached float64
	stop = func() float64 {
		once.Do(func() {
			close(done)
			wg.Wait()
			reached = float64(sent.Load()) / time.Since(t0).Seconds()
		})
		return reached
	}
	b.Cleanup(func() { stop() })
	return stop
}
