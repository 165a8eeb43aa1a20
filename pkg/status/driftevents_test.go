package status_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/seedops/addon-operator/pkg/status"
)

// A correction is an Event on the corrected object and one on its Module,
// both found by `kubectl describe` (the objects' UIDs), naming the fields.
func TestDriftCorrectedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cs := testCluster.Client()
	ns := newNamespace(t, "drift-events")
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "changed", Namespace: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, log := newLogs(t)
	rec := status.NewDriftEvents(cs, dynamic.NewForConfigOrDie(testCluster.Config), log)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rec.Start(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	rec.Corrected(status.DriftCorrection{
		Module: "mod-" + ns, APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: cm.Name, UID: string(cm.UID),
		Revision: 2, Paths: []string{"/data/a", "/metadata/labels/app"}, At: time.Now(),
	})
	want := "ConfigMap " + ns + "/changed corrected to revision 2 of release mod-" + ns + ": /data/a, /metadata/labels/app"
	for _, q := range []struct{ ns, sel string }{
		{ns, "involvedObject.kind=ConfigMap,involvedObject.name=changed,involvedObject.uid=" + string(cm.UID)},
		{metav1.NamespaceDefault, "involvedObject.kind=Module,involvedObject.name=mod-" + ns},
	} {
		sel := q.sel
		deadline := time.Now().Add(waitFor)
		for {
			list, err := cs.CoreV1().Events(q.ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) == 1 {
				ev := list.Items[0]
				if ev.Reason != status.ReasonDriftCorrected || ev.Type != corev1.EventTypeNormal || ev.Message != want {
					t.Errorf("%s: event %s %s %q, want Normal DriftCorrected %q", sel, ev.Type, ev.Reason, ev.Message, want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d events, want 1", sel, len(list.Items))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
