package helm_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
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
