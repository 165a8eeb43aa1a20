package helm_test

import (
	"testing"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	helmtime "helm.sh/helm/v3/pkg/time"

	"github.com/seedops/addon-operator/pkg/helm"
)

// helmStorage opens the namespace's release records as Helm itself does.
func helmStorage(ns string) *storage.Storage {
	return storage.Init(driver.NewSecrets(kube().CoreV1().Secrets(ns)))
}

// An operator killed in the middle of an operation leaves the last revision
// pending, which makes Helm refuse to upgrade. Deploy gets the release out
// of that state and leaves it deployed.
func TestDeployRecoversPendingRelease(t *testing.T) {
	const (
		hello   = "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}"
		goodbye = "echoServer: {replicas: 1, port: 8080, greeting: goodbye, tag: '1.0'}"
	)
	tests := []struct {
		name string
		// deployedFirst installs revision 1 before the stuck revision.
		deployedFirst bool
		stuck         release.Status
		module        string
		wantRevision  int
	}{
		{name: "pending-upgrade with the same manifests", deployedFirst: true, stuck: release.StatusPendingUpgrade, module: hello, wantRevision: 3},
		{name: "pending-upgrade with new values", deployedFirst: true, stuck: release.StatusPendingUpgrade, module: goodbye, wantRevision: 3},
		{name: "pending-rollback", deployedFirst: true, stuck: release.StatusPendingRollback, module: goodbye, wantRevision: 3},
		{name: "pending-install of a first revision", stuck: release.StatusPendingInstall, module: goodbye, wantRevision: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			ns := newNamespace(t)
			c := newClient(t, ns)
			dir := moduleDir("010-echo-server")
			store := helmStorage(ns)

			stuck := &release.Release{
				Name: "echo-server", Namespace: ns, Version: 1,
				Info: &release.Info{FirstDeployed: helmtime.Now(), LastDeployed: helmtime.Now()},
			}
			if tt.deployedFirst {
				if _, err := c.Deploy(ctx, "echo-server", dir, testValues(t, hello)); err != nil {
					t.Fatal(err)
				}
				prev, err := store.Last("echo-server")
				if err != nil {
					t.Fatal(err)
				}
				stuck.Version = prev.Version + 1
				stuck.Chart, stuck.Config, stuck.Manifest = prev.Chart, prev.Config, prev.Manifest
				stuck.Labels = map[string]string{helm.ChecksumLabel: prev.Labels[helm.ChecksumLabel]}
			} else {
				r, err := c.Render(ctx, "echo-server", dir, testValues(t, hello))
				if err != nil {
					t.Fatal(err)
				}
				stuck.Manifest = r.Manifest
			}
			// What a killed operator leaves behind: a pending record.
			stuck.Info.Status = tt.stuck
			stuck.Info.Description = "operator killed"
			if err := store.Create(stuck); err != nil {
				t.Fatal(err)
			}

			res, err := c.Deploy(ctx, "echo-server", dir, testValues(t, tt.module))
			if err != nil {
				t.Fatal(err)
			}
			if res.Reason != helm.ReasonRecovered || res.Revision != tt.wantRevision {
				t.Errorf("got revision %d reason %s, want revision %d recovered", res.Revision, res.Reason, tt.wantRevision)
			}
			rel, err := c.Status(ctx, "echo-server")
			if err != nil {
				t.Fatal(err)
			}
			if rel.Status != "deployed" || rel.Revision != tt.wantRevision {
				t.Errorf("status %s revision %d, want deployed %d", rel.Status, rel.Revision, tt.wantRevision)
			}
			old, err := store.Get("echo-server", stuck.Version)
			if err != nil {
				t.Fatal(err)
			}
			if old.Info.Status.IsPending() {
				t.Errorf("stuck revision %d still %s", stuck.Version, old.Info.Status)
			}
			want := testValues(t, tt.module).Get("echoServer.greeting").String()
			if got := configMap(t, ns, "echo-server").Data["greeting"]; got != want {
				t.Errorf("configmap greeting %q, want %q", got, want)
			}

			again, err := c.Deploy(ctx, "echo-server", dir, testValues(t, tt.module))
			if err != nil {
				t.Fatal(err)
			}
			if again.Reason != helm.ReasonUnchanged || again.Revision != tt.wantRevision {
				t.Errorf("deploy after recovery: revision %d reason %s, want %d unchanged", again.Revision, again.Reason, tt.wantRevision)
			}
		})
	}
}
