package hook

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// BenchmarkSynchronization: what the engine does for a kubernetes binding's
// Synchronization when BENCH_SYNC_OBJECTS (10000) ConfigMaps of about 1 KB
// exist and the jqFilter keeps the name: Enable (list, informer sync),
// Snapshots and ContextsJSON, then Disable. It is the operator's share of
// test/bench's BenchmarkSynchronization without the hook process, for
// -cpuprofile and -memprofile. heap-after-MB is the live heap once the
// Synchronization's binding context is written, with the monitor still
// running: what the operator keeps for the binding.
func BenchmarkSynchronization(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("BENCH_SYNC_OBJECTS")); err == nil && v > 0 {
		n = v
	}
	ns := "engine-bench-sync"
	createNamespace(b, ns)
	createConfigMaps(b, ns, n)
	cfg := syncBinding(b, ns)
	e := startEngine(b, &recorder{})
	var heapAfter float64
	for b.Loop() {
		h := &Hook{Name: "sync.sh", ValuesKey: "global", Bindings: cfg}
		syncs, err := e.Enable(h)
		if err != nil {
			b.Fatal(err)
		}
		data, err := ContextsJSON(e.Snapshots(h, syncs[0].Contexts))
		if err != nil {
			b.Fatal(err)
		}
		if c := strings.Count(string(data), `"filterResult"`); c != n {
			b.Fatalf("%d objects in the binding context, want %d", c, n)
		}
		data = nil
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heapAfter = float64(ms.HeapAlloc) / (1 << 20)
		e.Disable(h)
	}
	b.ReportMetric(heapAfter, "heap-after-MB")
}

// createConfigMaps creates n ConfigMaps labelled bench=sync with about
// 1 KB of data each, 8 at a time.
func createConfigMaps(b testing.TB, ns string, n int) {
	b.Helper()
	cfg := rest.CopyConfig(testCluster.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cms := cs.CoreV1().ConfigMaps(ns)
	data := map[string]string{}
	for k := range 4 {
		data[fmt.Sprintf("key-%d", k)] = strings.Repeat(strconv.Itoa(k), 250)
	}
	next := make(chan int)
	var failed sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cm := &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{
						Name:        fmt.Sprintf("sync-%05d", i),
						Labels:      map[string]string{"bench": "sync"},
						Annotations: map[string]string{"bench/index": strconv.Itoa(i)},
					},
					Data: data,
				}
				if _, err := cms.Create(context.Background(), cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					failed.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("create ConfigMaps: %v", firstErr)
	}
}
