package helm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/test/poll"
)

// A release goes through install, no-op deploys, upgrades and uninstall;
// Helm runs only when the rendered manifests change.
func TestDeployLifecycle(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	rec := &recorder{}
	c := newClient(t, ns, helm.WithObserver(rec))
	const name = "echo-server"
	dir := moduleDir("010-echo-server")

	steps := []struct {
		name         string
		module       string
		wantRevision int
		wantReason   helm.Reason
		wantOps      []string
		wantGreeting string
		wantReplicas int32
	}{
		{
			name:         "first deploy installs",
			module:       "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}",
			wantRevision: 1, wantReason: helm.ReasonInstalled, wantOps: []string{"render", "install"},
			wantGreeting: "hello", wantReplicas: 1,
		},
		{
			name:         "same values change nothing",
			module:       "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}",
			wantRevision: 1, wantReason: helm.ReasonUnchanged, wantOps: []string{"render"},
			wantGreeting: "hello", wantReplicas: 1,
		},
		{
			name:         "changed greeting upgrades",
			module:       "echoServer: {replicas: 1, port: 8080, greeting: hi there, tag: '1.0'}",
			wantRevision: 2, wantReason: helm.ReasonUpgraded, wantOps: []string{"render", "upgrade"},
			wantGreeting: "hi there", wantReplicas: 1,
		},
		{
			name:         "values the templates do not read change nothing",
			module:       "echoServer: {replicas: 1, port: 8080, greeting: hi there, tag: '1.0', futureKnob: 42}",
			wantRevision: 2, wantReason: helm.ReasonUnchanged, wantOps: []string{"render"},
			wantGreeting: "hi there", wantReplicas: 1,
		},
		{
			name:         "changed replicas upgrade",
			module:       "echoServer: {replicas: 3, port: 8080, greeting: hi there, tag: '1.0'}",
			wantRevision: 3, wantReason: helm.ReasonUpgraded, wantOps: []string{"render", "upgrade"},
			wantGreeting: "hi there", wantReplicas: 3,
		},
	}
	var last helm.Result
	for _, step := range steps {
		res, err := c.Deploy(ctx, name, dir, testValues(t, step.module))
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if res.Revision != step.wantRevision || res.Reason != step.wantReason || res.Applied != (step.wantReason != helm.ReasonUnchanged) {
			t.Errorf("%s: got revision %d reason %s applied %v, want revision %d reason %s",
				step.name, res.Revision, res.Reason, res.Applied, step.wantRevision, step.wantReason)
		}
		if diff := cmp.Diff(step.wantOps, rec.take()); diff != "" {
			t.Errorf("%s: helm operations (-want +got):\n%s", step.name, diff)
		}
		if got := configMap(t, ns, "echo-server").Data["greeting"]; got != step.wantGreeting {
			t.Errorf("%s: configmap greeting %q, want %q", step.name, got, step.wantGreeting)
		}
		dep, err := kube().AppsV1().Deployments(ns).Get(ctx, "echo-server", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := *dep.Spec.Replicas; got != step.wantReplicas {
			t.Errorf("%s: deployment replicas %d, want %d", step.name, got, step.wantReplicas)
		}
		last = res
	}

	wantObjects := []helm.ObjectRef{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "echo-server"},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "echo-server"},
		{APIVersion: "v1", Kind: "Secret", Namespace: ns, Name: "echo-server"},
		{APIVersion: "v1", Kind: "Service", Namespace: ns, Name: "echo-server"},
		{APIVersion: "v1", Kind: "ServiceAccount", Namespace: ns, Name: "echo-server"},
	}
	if diff := cmp.Diff(wantObjects, last.Objects); diff != "" {
		t.Errorf("result objects (-want +got):\n%s", diff)
	}

	t.Run("objects carry the module labels", func(t *testing.T) {
		for _, obj := range wantObjects {
			labels := objectLabels(t, ns, obj)
			want := map[string]string{helm.ModuleLabel: name, helm.HeritageLabel: helm.HeritageValue, "app": "echo-server"}
			for k, v := range want {
				if labels[k] != v {
					t.Errorf("%s: label %s=%q, want %q", obj, k, labels[k], v)
				}
			}
		}
	})

	t.Run("status reports the last revision", func(t *testing.T) {
		rel, err := c.Status(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got := helm.Release{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Revision, Status: rel.Status, Checksum: rel.Checksum, Objects: rel.Objects}
		want := helm.Release{Name: name, Namespace: ns, Revision: 3, Status: "deployed", Checksum: last.Checksum, Objects: wantObjects}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		if time.Since(rel.Updated) > time.Minute {
			t.Errorf("updated %s, want within the last minute", rel.Updated)
		}
		list, err := c.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Name != name || list[0].Revision != 3 {
			t.Errorf("list: got %+v, want only %s revision 3", list, name)
		}
	})

	t.Run("uninstall removes the objects and the release", func(t *testing.T) {
		if err := c.Uninstall(ctx, name); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"uninstall"}, rec.take()); diff != "" {
			t.Errorf("helm operations (-want +got):\n%s", diff)
		}
		for _, obj := range wantObjects {
			poll.Until(t, 100*time.Millisecond, 10*time.Second, obj.String()+" deleted", func() error {
				return gone(getObject(ctx, ns, obj))
			})
		}
		if _, err := c.Status(ctx, name); !errors.Is(err, helm.ErrNotFound) {
			t.Errorf("status after uninstall: got %v, want ErrNotFound", err)
		}
		if err := c.Uninstall(ctx, name); err != nil {
			t.Errorf("second uninstall: %v, want success", err)
		}
		if _, err := c.Missing(ctx, name); !errors.Is(err, helm.ErrNotFound) {
			t.Errorf("missing after uninstall: got %v, want ErrNotFound", err)
		}
	})
}

// Deploys of the same release wait for each other: of three simultaneous
// deploys with the same values one installs and two find nothing to do.
// Different releases deploy side by side.
func TestDeployConcurrent(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	vals := testValues(t, "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}\nplainModule: {logLevel: debug}")

	type call struct{ name, dir string }
	calls := []call{
		{"echo-server", moduleDir("010-echo-server")},
		{"echo-server", moduleDir("010-echo-server")},
		{"echo-server", moduleDir("010-echo-server")},
		{"plain-module", moduleDir("020-plain-module")},
	}
	results := make([]helm.Result, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, cl := range calls {
		wg.Go(func() { results[i], errs[i] = c.Deploy(ctx, cl.name, cl.dir, vals) })
	}
	wg.Wait()
	reasons := map[string][]helm.Reason{}
	for i, cl := range calls {
		if errs[i] != nil {
			t.Fatalf("deploy %s: %v", cl.name, errs[i])
		}
		if results[i].Revision != 1 {
			t.Errorf("deploy %s: revision %d, want 1", cl.name, results[i].Revision)
		}
		reasons[cl.name] = append(reasons[cl.name], results[i].Reason)
	}
	count := map[helm.Reason]int{}
	for _, r := range reasons["echo-server"] {
		count[r]++
	}
	want := map[helm.Reason]int{helm.ReasonInstalled: 1, helm.ReasonUnchanged: 2}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("echo-server reasons (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]helm.Reason{helm.ReasonInstalled}, reasons["plain-module"]); diff != "" {
		t.Errorf("plain-module reasons (-want +got):\n%s", diff)
	}
}

// A template that fails gives ErrRender naming the file and line, and the
// release and its objects stay as they were.
func TestDeployBrokenTemplateChangesNothing(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	dir := moduleDir("060-broken")
	if _, err := c.Deploy(ctx, "broken", dir, testValues(t, "broken: {storage: {class: ssd}}")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Deploy(ctx, "broken", dir, testValues(t, "broken: {}"))
	if !errors.Is(err, helm.ErrRender) {
		t.Fatalf("got %v, want ErrRender", err)
	}
	if !strings.Contains(err.Error(), "broken/templates/configmap.yaml:7") {
		t.Errorf("error %q does not name templates/configmap.yaml line 7", err)
	}
	rel, err := c.Status(ctx, "broken")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Revision != 1 || rel.Status != "deployed" {
		t.Errorf("release after failed render: revision %d status %s, want 1 deployed", rel.Revision, rel.Status)
	}
	if got := configMap(t, ns, "broken").Data["class"]; got != "ssd" {
		t.Errorf("configmap class %q, want the previous %q", got, "ssd")
	}
}

// Deploy passes exactly the given values: an empty tree does not reuse the
// previous revision's values (Helm's default for an empty upgrade).
func TestDeployEmptyValuesDoNotReuse(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	dir := moduleDir("020-plain-module")
	if _, err := c.Deploy(ctx, "plain-module", dir, testValues(t, "plainModule: {logLevel: debug}")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Deploy(ctx, "plain-module", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != helm.ReasonUpgraded {
		t.Errorf("reason %s, want %s", res.Reason, helm.ReasonUpgraded)
	}
	if got := configMap(t, ns, "plain-module").Data["level"]; got != "info" {
		t.Errorf("level %q, want the template default %q", got, "info")
	}
}

// A deploy with an ended context applies nothing.
func TestDeployWithEndedContextAppliesNothing(t *testing.T) {
	ns := newNamespace(t)
	c := newClient(t, ns)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Deploy(ctx, "plain-module", moduleDir("020-plain-module"), testValues(t, "plainModule: {}"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if _, err := c.Status(context.Background(), "plain-module"); !errors.Is(err, helm.ErrNotFound) {
		t.Errorf("status: got %v, want ErrNotFound", err)
	}
}
