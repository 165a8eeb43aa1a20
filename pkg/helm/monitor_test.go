package helm_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/helm"
)

// startMonitor runs a Monitor on the test cluster until the test ends.
func startMonitor(t *testing.T) *helm.Monitor {
	t.Helper()
	return startTrackingMonitor(t, testCluster.Config)
}

// waitEvent returns the next release the Monitor reports, or "" after timeout.
func waitEvent(m *helm.Monitor, timeout time.Duration) string {
	select {
	case name := <-m.Events():
		return name
	case <-time.After(timeout):
		return ""
	}
}

// Deleting an object of a release makes the Monitor report the release
// within seconds, and the next Deploy re-creates the object although the
// manifests did not change.
func TestMonitorHealsDeletedObject(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	m := startMonitor(t)
	dir := moduleDir("010-echo-server")
	vals := testValues(t, "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}")

	res, err := c.Deploy(ctx, "echo-server", dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	m.Track("echo-server", res.Objects)
	// Also track a second release, so that a report names the right one.
	other, err := c.Deploy(ctx, "plain-module", moduleDir("020-plain-module"), testValues(t, "plainModule: {}"))
	if err != nil {
		t.Fatal(err)
	}
	m.Track("plain-module", other.Objects)

	lost := helm.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "echo-server"}
	// The watch may start after the delete; the Monitor reports either way.
	deleteObject(t, lost)
	if got := waitEvent(m, 10*time.Second); got != "echo-server" {
		t.Fatalf("monitor reported %q, want echo-server", got)
	}

	missing, err := c.Missing(ctx, "echo-server")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]helm.ObjectRef{lost}, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}

	healed, err := c.Deploy(ctx, "echo-server", dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	if healed.Reason != helm.ReasonResourcesMissing || !healed.Applied || healed.Revision != res.Revision+1 {
		t.Errorf("got revision %d reason %s applied %v, want revision %d resources-missing",
			healed.Revision, healed.Reason, healed.Applied, res.Revision+1)
	}
	if diff := cmp.Diff([]helm.ObjectRef{lost}, healed.Missing); diff != "" {
		t.Errorf("result missing (-want +got):\n%s", diff)
	}
	if got := configMap(t, ns, "echo-server").Data["greeting"]; got != "hello" {
		t.Errorf("re-created configmap greeting %q, want hello", got)
	}
	m.Track("echo-server", healed.Objects)

	// A second deletion, with the watch surely running, is reported too.
	deleteObject(t, helm.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "echo-server"})
	if got := waitEvent(m, 10*time.Second); got != "echo-server" {
		t.Fatalf("monitor reported %q after the deployment's deletion, want echo-server", got)
	}
}

// An object deleted before the Monitor watched its kind is reported once
// the watch has listed the objects.
func TestMonitorReportsObjectsLostBeforeWatching(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	res, err := c.Deploy(ctx, "echo-server", moduleDir("010-echo-server"), testValues(t, "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}"))
	if err != nil {
		t.Fatal(err)
	}
	deleteObject(t, helm.ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: ns, Name: "echo-server"})

	m := startMonitor(t)
	m.Track("echo-server", res.Objects)
	if got := waitEvent(m, 10*time.Second); got != "echo-server" {
		t.Fatalf("monitor reported %q, want echo-server", got)
	}
}

// Objects of an untracked release are not reported: uninstalling a module
// does not ask for it to be deployed again.
func TestMonitorIgnoresUntrackedRelease(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	m := startMonitor(t)
	for _, r := range []struct{ name, dir, module string }{
		{"plain-module", "020-plain-module", "plainModule: {}"},
		{"with-library", "030-with-library", "withLibrary: {size: s}"},
	} {
		res, err := c.Deploy(ctx, r.name, moduleDir(r.dir), testValues(t, r.module))
		if err != nil {
			t.Fatal(err)
		}
		m.Track(r.name, res.Objects)
	}
	// The ConfigMap watch runs: a tracked release's deletion is reported.
	deleteObject(t, helm.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "with-library"})
	if got := waitEvent(m, 10*time.Second); got != "with-library" {
		t.Fatalf("monitor reported %q, want with-library", got)
	}

	m.Untrack("plain-module")
	if err := c.Uninstall(ctx, "plain-module"); err != nil {
		t.Fatal(err)
	}
	// Bounded wait for a report that must not come. with-library may be
	// reported again (its deletion can be seen both by the watch and by the
	// initial listing); that is harmless.
	deadline := time.After(3 * time.Second)
	for {
		select {
		case got := <-m.Events():
			if got == "plain-module" {
				t.Fatalf("monitor reported %q after its release was untracked and uninstalled", got)
			}
		case <-deadline:
			return
		}
	}
}
