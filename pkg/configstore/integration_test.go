package configstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/logbuf"
	"github.com/seedops/addon-operator/test/poll"
)

var testCluster *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, cluster.Options{}, &testCluster)) }

// waitFor bounds every wait for the cluster or the Store.
const waitFor = 30 * time.Second

var namespaces atomic.Int64

// env is one Store on its own namespace of the shared cluster.
type env struct {
	client  kubernetes.Interface
	cfg     Config
	schemas *fakeSchemas
	store   *Store
	logs    *logbuf.Buffer
}

// newEnv creates a fresh namespace, optionally a ConfigMap with cmData, and
// a Store (not started) for them.
func newEnv(t *testing.T, cmData map[string]string) *env {
	t.Helper()
	ctx := context.Background()
	client := testCluster.Client()
	ns := fmt.Sprintf("configstore-%d", namespaces.Add(1))
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Namespace, cfg.ConfigMap = ns, "addon-operator"
	if cmData != nil {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cfg.ConfigMap, Namespace: ns}, Data: cmData}
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{client: client, cfg: cfg, schemas: newFakeSchemas(), logs: &logbuf.Buffer{}}
	e.store = New(client, cfg, e.schemas, e.logger(t))
	return e
}

func (e *env) logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), e.logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start runs the Store until the test ends and returns its first event.
func (e *env) start(t *testing.T) Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.store.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start returned %v", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Start did not return after its context was cancelled")
		}
	})
	return e.next(t)
}

func (e *env) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-e.store.Events():
		return ev
	case <-time.After(waitFor):
		t.Fatalf("no event within %s", waitFor)
		return Event{}
	}
}

// editConfigMap changes the ConfigMap's data like an admin with kubectl
// edit; a "-" value deletes the key.
func (e *env) editConfigMap(t *testing.T, changes map[string]string) {
	t.Helper()
	ctx := context.Background()
	api := e.client.CoreV1().ConfigMaps(e.cfg.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := api.Get(ctx, e.cfg.ConfigMap, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		for k, v := range changes {
			if v == "-" {
				delete(cm.Data, k)
				continue
			}
			cm.Data[k] = v
		}
		_, err = api.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) editSecret(t *testing.T, key, text string) {
	t.Helper()
	ctx := context.Background()
	api := e.client.CoreV1().Secrets(e.cfg.Namespace)
	secret, err := api.Get(ctx, e.cfg.SecretName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: e.cfg.SecretName(), Namespace: e.cfg.Namespace}, Data: map[string][]byte{key: []byte(text)}}
		_, err = api.Create(ctx, secret, metav1.CreateOptions{})
	} else if err == nil {
		secret.Data[key] = []byte(text)
		_, err = api.Update(ctx, secret, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// objects reads both objects from the API; a missing one has nil data.
func (e *env) objects(t *testing.T) (cm map[string]string, secret map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	c, err := e.client.CoreV1().ConfigMaps(e.cfg.Namespace).Get(ctx, e.cfg.ConfigMap, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	s, err := e.client.CoreV1().Secrets(e.cfg.Namespace).Get(ctx, e.cfg.SecretName(), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return configMapData(c), secretData(s)
}

// expectedSnapshot is the configuration the objects in the API hold.
func (e *env) expectedSnapshot(t *testing.T) Snapshot {
	t.Helper()
	cm, secret := e.objects(t)
	p, err := parse(cm, secret, e.schemas)
	if err != nil {
		t.Fatalf("objects in the API are not a valid configuration: %v", err)
	}
	return p.snap
}

func mustPatch(t *testing.T, s *Store, patch string) {
	t.Helper()
	p, err := values.ParsePatch([]byte(patch))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Patch(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	poll.Until(t, 100*time.Millisecond, waitFor, what, check)
}

func TestInitialEvent(t *testing.T) {
	tests := []struct {
		name   string
		cm     map[string]string
		want   Change
		wantCM map[string]string // data the snapshot must equal; nil for none
	}{
		{
			name: "no configmap gives an empty configuration",
			want: Change{Initial: true},
		},
		{
			name:   "an existing configmap",
			cm:     map[string]string{"global": "clusterName: prod\n", "ingressNginx": "replicas: 2\n", "certManagerEnabled": "false"},
			want:   Change{Initial: true, Global: true, Modules: []string{"ingressNginx"}, Enabled: []string{"certManager"}},
			wantCM: map[string]string{"global": "clusterName: prod\n", "ingressNginx": "replicas: 2\n", "certManagerEnabled": "false"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cm)
			ev := e.start(t)
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			if diff := cmp.Diff(tt.want, ev.Change); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(snap(t, tt.wantCM), ev.Snapshot); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ev.Snapshot, e.store.Current()); diff != "" {
				t.Errorf("Current differs from the event (-event +current):\n%s", diff)
			}
		})
	}
}

// Admin edits arrive as events that say exactly what changed.
func TestEditsSendTypedEvents(t *testing.T) {
	e := newEnv(t, map[string]string{"global": "a: 1\n", "ingressNginx": "replicas: 2\n"})
	e.start(t)
	steps := []struct {
		name   string
		cm     map[string]string // ConfigMap changes; "-" deletes
		secret map[string]string // Secret changes
		want   *Change           // nil: the edit must not send an event
	}{
		{name: "global changed", cm: map[string]string{"global": "a: 2\n"}, want: &Change{Global: true}},
		{name: "module section changed", cm: map[string]string{"ingressNginx": "replicas: 3\n"}, want: &Change{Modules: []string{"ingressNginx"}}},
		{name: "module section added", cm: map[string]string{"prometheus": "retention: 1d\n"}, want: &Change{Modules: []string{"prometheus"}}},
		{name: "module enabled", cm: map[string]string{"certManagerEnabled": "true"}, want: &Change{Enabled: []string{"certManager"}}},
		{name: "module disabled", cm: map[string]string{"certManagerEnabled": "false"}, want: &Change{Enabled: []string{"certManager"}}},
		{name: "formatting and comments only", cm: map[string]string{"global": "# the answer\na:   2\n"}},
		{name: "flag removed", cm: map[string]string{"certManagerEnabled": "-"}, want: &Change{Enabled: []string{"certManager"}}},
		{name: "operator settings", cm: map[string]string{"operator": "releaseChannel: alpha\n"}, want: &Change{Operator: true}},
		{name: "secret part of a section", secret: map[string]string{"prometheus": "grafana: {adminPassword: pw}\n"}, want: &Change{Modules: []string{"prometheus"}}},
		{name: "section and flag in one edit", cm: map[string]string{"ingressNginx": "-", "ingressNginxEnabled": "false"}, want: &Change{Modules: []string{"ingressNginx"}, Enabled: []string{"ingressNginx"}}},
	}
	for _, step := range steps {
		if len(step.cm) > 0 {
			e.editConfigMap(t, step.cm)
		}
		for k, v := range step.secret {
			e.editSecret(t, k, v)
		}
		if step.want == nil {
			continue // the next step's event proves that this one sent none
		}
		ev := e.next(t)
		if ev.Err != nil {
			t.Fatalf("%s: %v", step.name, ev.Err)
		}
		if diff := cmp.Diff(*step.want, ev.Change); diff != "" {
			t.Errorf("%s: change (-want +got):\n%s", step.name, diff)
		}
		if diff := cmp.Diff(e.expectedSnapshot(t), ev.Snapshot); diff != "" {
			t.Errorf("%s: snapshot (-want +got):\n%s", step.name, diff)
		}
	}
}

// A bad edit is reported with the key and the line, and the last good
// configuration stays in force until a good edit follows.
func TestRejectedEditKeepsLastGood(t *testing.T) {
	e := newEnv(t, map[string]string{"global": "a: 1\n"})
	good := e.start(t).Snapshot

	e.editConfigMap(t, map[string]string{"global": "a: 1\nb: [\n"})
	ev := e.next(t)
	assertRejected(t, ev, []error{ErrBadSection}, []string{`configmap key "global"`, "line 2"})
	if diff := cmp.Diff(good, ev.Snapshot); diff != "" {
		t.Errorf("event snapshot is not the last good one (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(good, e.store.Current()); diff != "" {
		t.Errorf("Current is not the last good one (-want +got):\n%s", diff)
	}

	e.editConfigMap(t, map[string]string{"ingressNginx": "replicas: 0\n", "fooBarEnabled": "true"})
	ev = e.next(t)
	assertRejected(t, ev, []error{ErrBadSection, ErrSchema},
		[]string{"2 problems", `"global"`, "ingressNginx.replicas"})
	if strings.Contains(ev.Err.Error(), "fooBarEnabled") {
		t.Errorf("the key of no known module is counted as a problem: %v", ev.Err)
	}
	if diff := cmp.Diff(good, e.store.Current()); diff != "" {
		t.Errorf("Current is not the last good one (-want +got):\n%s", diff)
	}

	e.editConfigMap(t, map[string]string{"global": "a: 5\n", "ingressNginx": "replicas: 2\n", "fooBarEnabled": "-"})
	ev = e.next(t)
	if ev.Err != nil {
		t.Fatalf("good edit rejected: %v", ev.Err)
	}
	if diff := cmp.Diff(Change{Global: true, Modules: []string{"ingressNginx"}}, ev.Change); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(e.expectedSnapshot(t), e.store.Current()); diff != "" {
		t.Errorf("Current (-want +got):\n%s", diff)
	}
}

func assertRejected(t *testing.T, ev Event, wantIs []error, wantMsg []string) {
	t.Helper()
	if ev.Err == nil {
		t.Fatalf("edit accepted (change %+v), want a rejection", ev.Change)
	}
	for _, target := range append([]error{ErrInvalidConfig}, wantIs...) {
		if !errors.Is(ev.Err, target) {
			t.Errorf("error does not wrap %q: %v", target, ev.Err)
		}
	}
	for _, s := range wantMsg {
		if !strings.Contains(ev.Err.Error(), s) {
			t.Errorf("error does not mention %q: %v", s, ev.Err)
		}
	}
	if !ev.Change.Empty() {
		t.Errorf("rejection carries a change: %+v", ev.Change)
	}
}

// With a bad configuration at start nothing is in force and no Initial
// event goes out; once the configuration is acceptable the Initial event
// follows. The section of a module the bundle lacks is never a problem: it
// is ignored and listed in Unknown until the bundle learns the module.
func TestNoInitialEventBeforeAnAcceptedConfig(t *testing.T) {
	e := newEnv(t, map[string]string{"newModule": "a: 1\n", "global": "x: [\n"})
	ev := e.start(t)
	assertRejected(t, ev, []error{ErrBadSection}, []string{`configmap key "global"`})
	if strings.Contains(ev.Err.Error(), "newModule") {
		t.Errorf("the section of no known module is counted as a problem: %v", ev.Err)
	}
	if diff := cmp.Diff(emptySnapshot(), ev.Snapshot); diff != "" {
		t.Errorf("snapshot before any accepted config (-want +got):\n%s", diff)
	}

	e.editConfigMap(t, map[string]string{"global": "x: 1\n"})
	ev = e.next(t)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	if diff := cmp.Diff(Change{Initial: true, Global: true}, ev.Change); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	if len(ev.Snapshot.Unknown) != 1 || !strings.Contains(ev.Snapshot.Unknown[0], `configmap key "newModule"`) {
		t.Errorf("Unknown = %q, want the newModule key", ev.Snapshot.Unknown)
	}

	e.schemas.addModule("newModule")
	e.store.Resync()
	ev = e.next(t)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	if diff := cmp.Diff(Change{Modules: []string{"newModule"}}, ev.Change); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	if len(ev.Snapshot.Unknown) != 0 {
		t.Errorf("Unknown = %q after the bundle learnt the module, want none", ev.Snapshot.Unknown)
	}

	// Only the Unknown list changing is an event too, so that the warning
	// goes away (or appears) without another edit.
	e.editConfigMap(t, map[string]string{"gone": "a: 1\n"})
	ev = e.next(t)
	if ev.Err != nil || !ev.Change.Empty() || len(ev.Snapshot.Unknown) != 1 {
		t.Errorf("event after adding a key of no module: err %v, change %+v, unknown %q; want no error, no change, one unknown key", ev.Err, ev.Change, ev.Snapshot.Unknown)
	}
}

// Secret fields are written to the Secret and never to the ConfigMap, also
// when an admin put one there; their values never reach the logs.
func TestPatchKeepsSecretsOutOfTheConfigMap(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t)

	mustPatch(t, e.store, `[
		{"op":"add","path":"/prometheus/retention","value":"7d"},
		{"op":"add","path":"/prometheus/grafana/adminPassword","value":"pw-s3cret"}]`)
	ev := e.next(t)
	if diff := cmp.Diff(Change{Modules: []string{"prometheus"}}, ev.Change); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	cm, secret := e.objects(t)
	if diff := cmp.Diff(map[string]any{"prometheus": yamlValues(t, "retention: 7d")}, dataValues(t, cm)); diff != "" {
		t.Errorf("configmap (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"prometheus": yamlValues(t, "grafana: {adminPassword: pw-s3cret}")}, dataValues(t, secretStrings(secret))); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}
	if got := e.store.Current().Section("prometheus"); !values.Equal(got, yamlValues(t, "retention: 7d\ngrafana: {adminPassword: pw-s3cret}")) {
		t.Errorf("Current prometheus section = %s", got.YAML())
	}

	// An admin puts a secret field into the ConfigMap; the next write moves it.
	e.editConfigMap(t, map[string]string{"prometheus": "retention: 7d\ntokens: {ci: t0ken-s3cret}\n"})
	e.next(t)
	before := e.store.Current().Section("prometheus")
	mustPatch(t, e.store, `[{"op":"add","path":"/global/clusterName","value":"prod"}]`)
	cm, secret = e.objects(t)
	if diff := cmp.Diff(map[string]any{"prometheus": yamlValues(t, "retention: 7d"), "global": yamlValues(t, "clusterName: prod")}, dataValues(t, cm)); diff != "" {
		t.Errorf("configmap (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"prometheus": yamlValues(t, "grafana: {adminPassword: pw-s3cret}\ntokens: {ci: t0ken-s3cret}")}, dataValues(t, secretStrings(secret))); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, e.store.Current().Section("prometheus")); diff != "" {
		t.Errorf("moving the field changed the section (-before +after):\n%s", diff)
	}
	for _, v := range []string{"pw-s3cret", "t0ken-s3cret"} {
		if strings.Contains(e.logs.String(), v) {
			t.Errorf("logs contain the secret value %q", v)
		}
	}
}

// A Patch that would make the configuration invalid writes nothing.
func TestPatchRefusesInvalidResult(t *testing.T) {
	e := newEnv(t, map[string]string{"ingressNginx": "replicas: 2\n"})
	ctx := context.Background()
	before, err := e.client.CoreV1().ConfigMaps(e.cfg.Namespace).Get(ctx, e.cfg.ConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := values.ParsePatch([]byte(`[{"op":"replace","path":"/ingressNginx/replicas","value":0},{"op":"add","path":"/prometheus/grafana/adminPassword","value":"x"}]`))
	if err != nil {
		t.Fatal(err)
	}
	err = e.store.Patch(ctx, p)
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "ingressNginx.replicas") {
		t.Fatalf("Patch error = %v, want a schema violation naming ingressNginx.replicas", err)
	}
	after, err := e.client.CoreV1().ConfigMaps(e.cfg.Namespace).Get(ctx, e.cfg.ConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("configmap was written")
	}
	if _, err := e.client.CoreV1().Secrets(e.cfg.Namespace).Get(ctx, e.cfg.SecretName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("secret exists after a refused patch (err %v)", err)
	}
}

// The Store's own write sends exactly one event; the informer's copy of the
// write sends none, also when the informer shows the new Secret well before
// the new ConfigMap. The admin edit after each write is the barrier: its
// event must be the next one.
func TestOwnWriteSendsOneEvent(t *testing.T) {
	tests := []struct {
		name    string
		cmDelay time.Duration // added to every ConfigMap watch event the Store sees
	}{
		{name: "prompt watch"},
		{name: "configmap watch lags behind the secret", cmDelay: 700 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, map[string]string{"global": "a: 1\n"})
			if tt.cmDelay > 0 {
				e.store = New(lagging{Interface: e.client, delay: tt.cmDelay}, e.cfg, e.schemas, e.logger(t))
			}
			e.start(t)
			for round := range 3 {
				mustPatch(t, e.store, fmt.Sprintf(`[
					{"op":"add","path":"/global/round","value":%d},
					{"op":"add","path":"/prometheus/grafana/adminPassword","value":"pw%d"}]`, round, round))
				if got := e.store.Current().Global["round"]; got != float64(round) {
					t.Errorf("round %d: Current global.round = %v right after Patch", round, got)
				}
				ev := e.next(t)
				if diff := cmp.Diff(Change{Global: true, Modules: []string{"prometheus"}}, ev.Change); diff != "" {
					t.Errorf("round %d: change of the write (-want +got):\n%s", round, diff)
				}
				e.editConfigMap(t, map[string]string{"certManagerEnabled": fmt.Sprint(round%2 == 0)})
				ev = e.next(t)
				if diff := cmp.Diff(Change{Enabled: []string{"certManager"}}, ev.Change); diff != "" {
					t.Errorf("round %d: event after the write is not the admin edit (-want +got):\n%s", round, diff)
				}
			}
		})
	}
}

// Writers racing on the same objects (two Stores, as two processes would,
// and two goroutines on one Store) lose no update.
func TestConcurrentPatchesLoseNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t)
	other := New(testCluster.Client(), e.cfg, e.schemas, e.logger(t))
	writers := []*Store{e.store, e.store, other}
	const rounds = 5

	var wg sync.WaitGroup
	errs := make(chan error, len(writers)*rounds)
	for w, s := range writers {
		wg.Go(func() {
			for r := range rounds {
				p, err := values.ParsePatch(fmt.Appendf(nil, `[
					{"op":"add","path":"/global/w%dr%d","value":%d},
					{"op":"add","path":"/prometheus/tokens/w%dr%d","value":"t"}]`, w, r, r, w, r))
				if err == nil {
					err = s.Patch(context.Background(), p)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, r, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	wantGlobal, wantTokens := values.Values{}, map[string]any{}
	for w := range writers {
		for r := range rounds {
			wantGlobal[fmt.Sprintf("w%dr%d", w, r)] = float64(r)
			wantTokens[fmt.Sprintf("w%dr%d", w, r)] = "t"
		}
	}
	want := emptySnapshot()
	want.Global = wantGlobal
	want.Modules["prometheus"] = values.Values{"tokens": wantTokens}
	if diff := cmp.Diff(want, e.expectedSnapshot(t)); diff != "" {
		t.Errorf("stored configuration (-want +got):\n%s", diff)
	}
	if cm, _ := e.objects(t); strings.Contains(cm["prometheus"], "tokens") {
		t.Errorf("secret field in the configmap: %q", cm["prometheus"])
	}
	eventually(t, "the running Store shows every write", func() error {
		if diff := cmp.Diff(want, e.store.Current()); diff != "" {
			return fmt.Errorf("Current (-want +got):\n%s", diff)
		}
		return nil
	})
}

// Deleting the ConfigMap or the Secret changes nothing: both come back with
// the last good content and no event is sent.
func TestDeletedObjectsAreRecreated(t *testing.T) {
	e := newEnv(t, map[string]string{"global": "a: 1\n", "ingressNginx": "replicas: 2\n", "ingressNginxEnabled": "true"})
	e.start(t)
	mustPatch(t, e.store, `[{"op":"add","path":"/prometheus/grafana/adminPassword","value":"pw"}]`)
	e.next(t)
	good := e.store.Current()
	cmBefore, secretBefore := e.objects(t)
	ctx := context.Background()

	for i, del := range []func() error{
		func() error {
			return e.client.CoreV1().ConfigMaps(e.cfg.Namespace).Delete(ctx, e.cfg.ConfigMap, metav1.DeleteOptions{})
		},
		func() error {
			return e.client.CoreV1().Secrets(e.cfg.Namespace).Delete(ctx, e.cfg.SecretName(), metav1.DeleteOptions{})
		},
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "objects re-created with the last good content", func() error {
			cm, secret := e.objects(t)
			if cm == nil || secret == nil {
				return errors.New("an object is missing")
			}
			if diff := cmp.Diff(dataValues(t, cmBefore), dataValues(t, cm)); diff != "" {
				return fmt.Errorf("configmap (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(dataValues(t, secretStrings(secretBefore)), dataValues(t, secretStrings(secret))); diff != "" {
				return fmt.Errorf("secret (-before +after):\n%s", diff)
			}
			return nil
		})
		if diff := cmp.Diff(good, e.store.Current()); diff != "" {
			t.Errorf("deletion %d changed Current (-before +after):\n%s", i, diff)
		}
		e.editConfigMap(t, map[string]string{"certManagerEnabled": fmt.Sprint(i%2 == 0)})
		ev := e.next(t)
		if diff := cmp.Diff(Change{Enabled: []string{"certManager"}}, ev.Change); diff != "" {
			t.Errorf("deletion %d: the next event is not the admin edit (-want +got):\n%s", i, diff)
		}
		good = e.store.Current()
		cmBefore, _ = e.objects(t)
	}
}

// lagging delays every ConfigMap watch event by delay, as a slow watch
// connection would; everything else goes straight to the cluster.
type lagging struct {
	kubernetes.Interface
	delay time.Duration
}

func (l lagging) CoreV1() corev1client.CoreV1Interface {
	return laggingCore{CoreV1Interface: l.Interface.CoreV1(), delay: l.delay}
}

type laggingCore struct {
	corev1client.CoreV1Interface
	delay time.Duration
}

func (c laggingCore) ConfigMaps(namespace string) corev1client.ConfigMapInterface {
	return laggingConfigMaps{ConfigMapInterface: c.CoreV1Interface.ConfigMaps(namespace), delay: c.delay}
}

type laggingConfigMaps struct {
	corev1client.ConfigMapInterface
	delay time.Duration
}

func (c laggingConfigMaps) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := c.ConfigMapInterface.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	d := &delayedWatch{src: w, out: make(chan watch.Event), done: make(chan struct{})}
	go d.forward(c.delay)
	return d, nil
}

type delayedWatch struct {
	src  watch.Interface
	out  chan watch.Event
	done chan struct{}
	once sync.Once
}

func (d *delayedWatch) forward(delay time.Duration) {
	defer close(d.out)
	for ev := range d.src.ResultChan() {
		select {
		case <-time.After(delay):
		case <-d.done:
			return
		}
		select {
		case d.out <- ev:
		case <-d.done:
			return
		}
	}
}

func (d *delayedWatch) Stop() {
	d.once.Do(func() {
		close(d.done)
		d.src.Stop()
	})
}

func (d *delayedWatch) ResultChan() <-chan watch.Event { return d.out }
