package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/seedops/addon-operator/test/process"
)

const (
	burstObjects = 5000
	// burstMemoryLimit is the operator's peak resident memory allowed
	// through the burst: the informer cache of 5,000 ConfigMaps, the merged
	// binding contexts of the waiting hook run and Helm's work, with room
	// to spare (it stays far below; see docs/reliability.md).
	burstMemoryLimit = 500 << 20
)

// parallel runs f(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, f func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// lastBurstRun returns the snapshot size the hook saw on its last run with
// a Group context and the number of runs so far.
func (e *env) lastBurstRun() (size, runs int) {
	size = -1
	for _, l := range e.traceLines() {
		if rest, ok := strings.CutPrefix(l, "burst run "); ok {
			runs++
			if n, err := strconv.Atoi(strings.Fields(rest)[0]); err == nil {
				size = n
			}
		}
	}
	return size, runs
}

// 5,000 watched ConfigMaps created within a minute: the hook sees every
// one of them (one Added event each, a final snapshot of 5,000, rendered
// into the chart), the operator's memory stays bounded, a single event
// afterwards is handled within seconds, and changes the binding's jqFilter
// hides (annotations) run nothing.
func TestFaultEventBurst(t *testing.T) {
	ctx := context.Background()
	// The memory limit keeps a runaway hook from taking the machine down.
	e := newEnv(t, faultBundle("burst"), append([]string{"--hook-memory-limit", "1Gi"}, fastRetry...)...)
	ns := e.ns + "-objects"
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	e.op = process.Start(t, process.Options{
		Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
		Env: []string{"E2E_TRACE=" + e.trace, "E2E_BURST_NS=" + ns}, Args: e.args,
	})
	e.op.WaitReady(t, 60*time.Second)
	e.eventually(10*time.Second, func() string {
		if size, _ := e.lastBurstRun(); size != 0 {
			return "the hook did not run its Synchronization"
		}
		return ""
	})

	cfg := rest.CopyConfig(testCluster.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	fast := kubernetes.NewForConfigOrDie(cfg).CoreV1().ConfigMaps(ns)
	name := func(i int) string { return fmt.Sprintf("cm-%04d", i) }
	start := time.Now()
	err := parallel(burstObjects, 16, func(i int) error {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name(i), Labels: map[string]string{"faults": "burst"}},
			Data:       map[string]string{"n": "0"},
		}
		_, err := fast.Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Since(start)
	t.Logf("%d ConfigMaps created in %s", burstObjects, created.Round(time.Millisecond))
	if created > time.Minute {
		t.Errorf("creating the burst took %s, over a minute: the case does not test a burst", created)
	}

	t.Run("every event is processed", func(t *testing.T) {
		e.eventually(3*time.Minute, func() string {
			if size, runs := e.lastBurstRun(); size != burstObjects {
				return fmt.Sprintf("the hook's last run (of %d) saw %d objects, want %d", runs, size, burstObjects)
			}
			return ""
		})
		_, runs := e.lastBurstRun()
		t.Logf("all processed %s after the first create, in %d hook runs", time.Since(start).Round(time.Millisecond), runs)
		added := map[string]int{}
		for _, l := range e.traceLines() {
			if n, ok := strings.CutPrefix(l, "burst Added "); ok {
				added[n]++
			}
		}
		for i := range burstObjects {
			if added[name(i)] != 1 {
				t.Fatalf("the hook got %d Added events for %s, want 1", added[name(i)], name(i))
			}
		}
		e.eventually(30*time.Second, func() string {
			if got := e.configMapData(e.ns, "burst")["count"]; got != strconv.Itoa(burstObjects) {
				return "the burst ConfigMap shows count " + got
			}
			return ""
		})
	})

	t.Run("memory stays bounded", func(t *testing.T) {
		rss, peak := e.memory()
		t.Logf("operator memory: rss %d MiB, peak %d MiB", rss>>20, peak>>20)
		if peak > burstMemoryLimit {
			t.Errorf("peak memory %d MiB, want under %d MiB", peak>>20, burstMemoryLimit>>20)
		}
	})

	t.Run("changes hidden by the jqFilter run nothing", func(t *testing.T) {
		_, runs := e.lastBurstRun()
		err := parallel(1000, 16, func(i int) error {
			_, err := fast.Patch(ctx, name(i), types.MergePatchType, []byte(`{"metadata":{"annotations":{"touched":"yes"}}}`), metav1.PatchOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// A visible change after them: the queue is FIFO, so once it is
		// handled every earlier event was.
		if _, err := fast.Patch(ctx, name(burstObjects-1), types.MergePatchType, []byte(`{"data":{"n":"1"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(30*time.Second, func() string {
			// The hook traces the events first, then its "burst run" line.
			if _, after := e.lastBurstRun(); e.count("burst Modified "+name(burstObjects-1)) != 1 || after == runs {
				return "the data change was not handled"
			}
			return ""
		})
		// The data change is one event for each of the two bindings: one
		// run, or two when the first starts before the second arrives.
		if _, after := e.lastBurstRun(); after-runs < 1 || after-runs > 2 {
			t.Errorf("%d hook runs for 1,000 annotation changes and one data change, want 1 or 2", after-runs)
		}
		for _, l := range e.traceLines() {
			if strings.HasPrefix(l, "burst Modified ") && l != "burst Modified "+name(burstObjects-1) {
				t.Fatalf("an annotation change reached the hook: %q", l)
			}
		}
	})

	t.Run("latency recovers", func(t *testing.T) {
		sent := time.Now()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late", Labels: map[string]string{"faults": "burst"}}, Data: map[string]string{"n": "0"}}
		if _, err := fast.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, func() string {
			if e.count("burst Added late") != 1 {
				return "the late object was not handled"
			}
			return ""
		})
		if d := time.Since(sent); d > 5*time.Second {
			t.Errorf("a single event after the burst took %s", d)
		} else {
			t.Logf("a single event after the burst took %s", d.Round(time.Millisecond))
		}
	})
}
