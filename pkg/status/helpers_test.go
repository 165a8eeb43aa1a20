package status_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/status"
	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/poll"
)

var testCluster *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, cluster.Full, &testCluster)) }

// waitFor bounds every wait for the cluster or the Writer; pollEvery is how
// often a wait looks again.
const (
	waitFor   = 60 * time.Second
	pollEvery = 50 * time.Millisecond
)

// poolLabel marks the fake node that the tests' workloads run on.
var poolLabel = map[string]string{"status-test": "pool"}

var setupOnce = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := testCluster.AddNode(ctx, nodeFor("status-pool", poolLabel)); err != nil {
		return err
	}
	return applyCRD(ctx)
})

// setup gives the tests a fake node and the Module CRD.
func setup(t *testing.T) {
	t.Helper()
	if err := setupOnce(); err != nil {
		t.Fatal(err)
	}
}

func crdClient() apiextensions.Interface {
	return apiextensions.NewForConfigOrDie(testCluster.Config)
}

// applyCRD creates the Module CRD from deploy/crds/module.yaml (unless it
// exists) and waits until it is established.
func applyCRD(ctx context.Context) error {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "crds", "module.yaml"))
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return fmt.Errorf("parse CRD: %w", err)
	}
	crds := crdClient().ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create CRD: %w", err)
	}
	for {
		got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		if err == nil {
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for CRD: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// deleteCRD removes the Module CRD and waits until it is gone.
func deleteCRD(ctx context.Context) error {
	crds := crdClient().ApiextensionsV1().CustomResourceDefinitions()
	name := status.ModuleResource.GroupResource().String()
	if err := crds.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for {
		if _, err := crds.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for CRD deletion: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fakeSource is a converger as the Writer sees it.
type fakeSource struct {
	mu       sync.Mutex
	statuses []module.Status
	calls    int
	changes  chan struct{}
	ready    chan struct{}
}

func newSource(ready bool, statuses ...module.Status) *fakeSource {
	s := &fakeSource{statuses: statuses, changes: make(chan struct{}, 1), ready: make(chan struct{})}
	if ready {
		close(s.ready)
	}
	return s
}

func (s *fakeSource) Statuses() []module.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return append([]module.Status(nil), s.statuses...)
}

func (s *fakeSource) Changes() <-chan struct{} { return s.changes }
func (s *fakeSource) Ready() <-chan struct{}   { return s.ready }

// set replaces the statuses and signals a change.
func (s *fakeSource) set(statuses ...module.Status) {
	s.mu.Lock()
	s.statuses = statuses
	s.mu.Unlock()
	s.notify()
}

func (s *fakeSource) notify() {
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// reads is how often the Writer read the statuses (once per sync).
func (s *fakeSource) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// logs keeps the Writer's log records for assertions and shows them in the
// test output.
type logs struct {
	mu   sync.Mutex
	msgs []string
	next slog.Handler
}

func newLogs(t *testing.T) (*logs, *slog.Logger) {
	l := &logs{next: slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})}
	return l, slog.New(l)
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs(a []slog.Attr) slog.Handler     { return &logsWith{l, l.next.WithAttrs(a)} }
func (l *logs) WithGroup(g string) slog.Handler          { return &logsWith{l, l.next.WithGroup(g)} }
func (l *logs) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return l.next.Handle(ctx, r)
}

type logsWith struct {
	*logs
	next slog.Handler
}

func (l *logsWith) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return l.next.Handle(ctx, r)
}

// count is how many records with the message were logged.
func (l *logs) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// startWriter runs a Writer until the test ends; Start must not return
// before.
func startWriter(t *testing.T, cfg status.Config, src status.Source) *logs {
	t.Helper()
	_, l := startWriterFor(t, cfg, src)
	return l
}

// startWriterFor is startWriter that also returns the Writer.
func startWriterFor(t *testing.T, cfg status.Config, src status.Source, opts ...status.Option) (*status.Writer, *logs) {
	t.Helper()
	l, log := newLogs(t)
	w, err := status.New(cfg, testCluster.Client(), dynamicClient(), src, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	t.Cleanup(func() {
		select {
		case err := <-done:
			t.Errorf("Start returned before the test ended: %v", err)
			return
		default:
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Start did not return after cancel")
		}
	})
	return w, l
}

func dynamicClient() dynamic.Interface { return dynamic.NewForConfigOrDie(testCluster.Config) }

// moduleObject reads a Module object; nil when it does not exist.
func moduleObject(t *testing.T, name string) (*unstructured.Unstructured, status.ModuleStatus) {
	t.Helper()
	obj, err := dynamicClient().Resource(status.ModuleResource).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, status.ModuleStatus{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var st status.ModuleStatus
	if m, ok := obj.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &st); err != nil {
			t.Fatal(err)
		}
	}
	return obj, st
}

// waitModule waits until the Module object's status satisfies ok.
func waitModule(t *testing.T, name string, ok func(status.ModuleStatus) bool) (*unstructured.Unstructured, status.ModuleStatus) {
	t.Helper()
	var (
		obj *unstructured.Unstructured
		st  status.ModuleStatus
	)
	poll.Until(t, pollEvery, waitFor, "the status of module "+name, func() error {
		obj, st = moduleObject(t, name)
		if obj == nil || !ok(st) {
			return fmt.Errorf("not as expected; last: %+v", st)
		}
		return nil
	})
	return obj, st
}

func phaseIs(phase module.Phase) func(status.ModuleStatus) bool {
	return func(st status.ModuleStatus) bool { return st.Phase == phase }
}

// waitGone waits until the Module object does not exist.
func waitGone(t *testing.T, name string) {
	t.Helper()
	poll.True(t, pollEvery, waitFor, "module "+name+" to be deleted", func() bool {
		obj, _ := moduleObject(t, name)
		return obj == nil
	})
}

// waitReads waits until the Writer synced n more times.
func waitReads(t *testing.T, src *fakeSource, n int) {
	t.Helper()
	target := src.reads() + n
	poll.Until(t, pollEvery, waitFor, fmt.Sprintf("%d syncs of the writer", target), func() error {
		if got := src.reads(); got < target {
			return fmt.Errorf("synced %d times", got)
		}
		return nil
	})
}

// conditionOf finds a condition; the zero Condition when absent.
func conditionOf(st status.ModuleStatus, typ string) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

// newNamespace creates a namespace for a test's workloads, removed at the end.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	cs := testCluster.Client()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	return ns.Name
}

// Workload fixtures: objects as a module's release has them, labelled with
// the module, their pods selected by app=<name>.

func objectMeta(ns, name, module string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{helm.ModuleLabel: module, helm.HeritageLabel: helm.HeritageValue}}
}

func podTemplate(name string, nodeSelector map[string]string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeSelector:  nodeSelector,
			RestartPolicy: restart,
			Containers:    []corev1.Container{{Name: "app", Image: "registry.example.com/" + name + ":1"}},
		},
	}
}

func selector(name string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
}

func deployment(ns, name, module string, replicas int32, nodeSelector map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: objectMeta(ns, name, module),
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: selector(name),
			Template: podTemplate(name, nodeSelector, corev1.RestartPolicyAlways)},
	}
}

func statefulSet(ns, name, module string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: objectMeta(ns, name, module),
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), ServiceName: name, Selector: selector(name),
			Template: podTemplate(name, poolLabel, corev1.RestartPolicyAlways)},
	}
}

func daemonSet(ns, name, module string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: objectMeta(ns, name, module),
		Spec:       appsv1.DaemonSetSpec{Selector: selector(name), Template: podTemplate(name, poolLabel, corev1.RestartPolicyAlways)},
	}
}

func job(ns, name, module string) *batchv1.Job {
	tmpl := podTemplate(name, poolLabel, corev1.RestartPolicyNever)
	return &batchv1.Job{
		ObjectMeta: objectMeta(ns, name, module),
		Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1), Template: tmpl},
	}
}

// ref is the release's reference to an object.
func ref(apiVersion, kind, ns, name string) helm.ObjectRef {
	return helm.ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}
}

// kubectl runs bin/kubectl against the test cluster.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join("..", "..", "bin", "kubectl")
	if dir := os.Getenv("ADDON_OPERATOR_TEST_BIN"); dir != "" {
		bin = filepath.Join(dir, "kubectl")
	}
	out, err := exec.Command(bin, append([]string{"--kubeconfig", testCluster.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nodeFor is a fake node that kwok runs pods on.
func nodeFor(name string, labels map[string]string) cluster.Node {
	return cluster.Node{Name: name, Labels: labels, ProviderID: "kwok:///" + name}
}

// phaseRecorder is a status.PhaseObserver keeping the last phases.
type phaseRecorder struct {
	mu   sync.Mutex
	last map[string]module.Phase
}

func (r *phaseRecorder) ModulePhases(phases map[string]module.Phase) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = maps.Clone(phases)
}

// waitPhases waits until the last phases reported equal want.
func (r *phaseRecorder) waitPhases(t *testing.T, want map[string]module.Phase) {
	t.Helper()
	poll.Until(t, pollEvery, waitFor, fmt.Sprintf("phases %v", want), func() error {
		r.mu.Lock()
		got := maps.Clone(r.last)
		r.mu.Unlock()
		if !maps.Equal(got, want) {
			return fmt.Errorf("phases %v", got)
		}
		return nil
	})
}
