package helm_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/test/poll"
)

// BenchmarkDeployUnchanged measures the common case of the converge loop: a
// Deploy whose manifests did not change (render, read the release record,
// check that the chart's 5 objects exist; no Helm upgrade).
func BenchmarkDeployUnchanged(b *testing.B) {
	ctx := context.Background()
	c := newClient(b, newNamespace(b))
	dir := moduleDir("010-echo-server")
	vals := testValues(b, "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}")
	if _, err := c.Deploy(ctx, "echo-server", dir, vals); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := c.Deploy(ctx, "echo-server", dir, vals)
		if err != nil {
			b.Fatal(err)
		}
		if res.Reason != helm.ReasonUnchanged {
			b.Fatalf("reason %s, want unchanged", res.Reason)
		}
	}
}

// correctionSignal is a DriftObserver that signals every correction.
type correctionSignal chan helm.DriftCorrection

func (correctionSignal) DriftChecked(string) {}

func (c correctionSignal) DriftCorrected(d helm.DriftCorrection) { c <- d }

// BenchmarkDriftCorrection measures the time from an edit of a chart-set
// field (the image of a Deployment, as `kubectl set image` does) to the
// end of its correction: the watch event, the dry run, the apply. The
// correction back-off is lifted, since one object is corrected b.N times.
func BenchmarkDriftCorrection(b *testing.B) {
	ctx := context.Background()
	ns := newNamespace(b)
	c := newClient(b, ns)
	res, err := c.Deploy(ctx, "echo-server", moduleDir("010-echo-server"), testValues(b, echoValues))
	if err != nil {
		b.Fatal(err)
	}
	m, err := helm.NewMonitor(testCluster.Config, nil)
	if err != nil {
		b.Fatal(err)
	}
	corrected := make(correctionSignal, 1)
	m.WatchDrift(c, corrected)
	m.SetFightLimit(1 << 30)
	m.SetDriftPolicy(helm.DriftPolicy{})
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Start(mctx) }()
	defer func() {
		cancel()
		<-done
	}()
	m.Track("echo-server", res.Objects)
	deployments := kube().AppsV1().Deployments(ns)
	var took []time.Duration
	i := 0
	for b.Loop() {
		i++
		d, err := deployments.Get(ctx, "echo-server", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("evil:%d", i)
		edited := time.Now()
		if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-set"}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-corrected:
			took = append(took, time.Since(edited))
		case <-time.After(10 * time.Second):
			b.Fatal("no correction within 10s")
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkWarmCheck measures what a warm restart of the operator asks of
// Helm: a Deploy with nothing changed of every one of 200 releases of 5
// objects (3 kinds in the release namespace, one in another namespace, one
// cluster-scoped), through a new Client with the operator's default rate
// limit (50 requests/s, burst 100), with the objects read from the API
// server one by one (cache=off) or held by a Monitor's watches
// (cache=on). object-gets is the GETs of single objects per op.
func BenchmarkWarmCheck(b *testing.B) {
	const releases = 200
	ctx := context.Background()
	ns, other := newNamespace(b), newNamespace(b)
	dir := spreadChart(b)
	vals := testValues(b, fmt.Sprintf("spread: {other: %s, prefix: %s}", other, ns))
	setup := newClient(b, ns)
	objects := map[string][]helm.ObjectRef{}
	for i := range releases {
		name := fmt.Sprintf("spread-%03d", i+1)
		res, err := setup.Deploy(ctx, name, dir, vals)
		if err != nil {
			b.Fatal(err)
		}
		objects[name] = res.Objects
		b.Cleanup(func() {
			_ = kube().RbacV1().ClusterRoles().Delete(context.Background(), ns+"-"+name, metav1.DeleteOptions{})
		})
	}
	m := startTrackingMonitor(b, testCluster.Config)
	for name, objs := range objects {
		m.Track(name, objs)
	}
	poll.Until(b, 50*time.Millisecond, time.Minute, "the monitor's watches synced", func() error {
		if n := m.SyncedWatches(); n != 5 {
			return fmt.Errorf("%d of 5 watches synced", n)
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		opts []helm.Option
	}{
		{"cache=off", nil},
		{"cache=on", []helm.Option{helm.WithObjectCache(m)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var log requestLog
			gets := 0
			for b.Loop() {
				cfg := log.config()
				cfg.QPS, cfg.Burst = 50, 100
				c, err := helm.New(cfg, helm.Config{Namespace: ns, Timeout: time.Minute}, nil, tc.opts...)
				if err != nil {
					b.Fatal(err)
				}
				for name := range objects {
					res, err := c.Deploy(ctx, name, dir, vals)
					if err != nil {
						b.Fatal(err)
					}
					if res.Reason != helm.ReasonUnchanged {
						b.Fatalf("%s: reason %s, want unchanged", name, res.Reason)
					}
				}
				for _, r := range log.objectReads("configmaps", "secrets", "serviceaccounts", "clusterroles") {
					if strings.HasPrefix(r, "GET ") {
						gets++
					}
				}
			}
			b.ReportMetric(float64(gets)/float64(b.N), "object-gets/op")
		})
	}
}
