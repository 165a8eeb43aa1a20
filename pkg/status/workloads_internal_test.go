package status

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
)

// After a module's revision changes, the informer's copy of a workload
// that is older than the API server's (the watch has not delivered the
// Helm upgrade yet) is not taken as ready; once the copy catches up it is.
func TestEvaluateDoesNotTrustALaggingCache(t *testing.T) {
	ready := func(gen int64) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)},
			Status:     appsv1.DeploymentStatus{ObservedGeneration: gen, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
		}
	}
	live := fake.NewClientset(ready(2))
	w := newWorkloads(live, time.Minute, clock.RealClock{}, slog.New(slog.DiscardHandler), func() {})
	cache := w.factory.Apps().V1().Deployments().Informer().GetIndexer()
	if err := cache.Add(ready(1)); err != nil {
		t.Fatal(err)
	}
	st := module.Status{Module: "web", Enabled: true, Phase: module.PhaseReady, Revision: 1,
		Objects: []helm.ObjectRef{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ns", Name: "web"}}}
	ctx, now := context.Background(), time.Now()

	steps := []struct {
		name     string
		revision int
		cached   int64 // generation in the informer's cache
		waiting  []string
	}{
		{"first sight: the cache is trusted", 1, 1, nil},
		{"a new revision, the cache behind", 2, 1, []string{"Deployment ns/web: the watch has not seen the new spec yet"}},
		{"the cache caught up", 2, 2, nil},
		{"a re-created workload (generation 1) counts again", 2, 1, nil},
	}
	for _, s := range steps {
		if err := cache.Update(ready(s.cached)); err != nil {
			t.Fatal(err)
		}
		st.Revision = s.revision
		reports, _ := w.evaluate(ctx, []module.Status{st}, now)
		if got := reports["web"]; len(got.failed) > 0 || !slices.Equal(got.waiting, s.waiting) {
			t.Errorf("%s: waiting %q failed %q, want waiting %q", s.name, got.waiting, got.failed, s.waiting)
		}
	}
}
