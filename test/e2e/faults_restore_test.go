package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/test/registry"
)

// extraModule is a module the built-in bundle of the updater tests lacks:
// its ConfigMap "extra" shows it is installed.
func extraModule() []moduletest.File {
	return []moduletest.File{
		moduletest.Text("modules/020-extra/Chart.yaml", "apiVersion: v2\nname: extra\nversion: 0.1.0\n"),
		moduletest.Text("modules/020-extra/values.yaml", "extra: {}\n"),
		moduletest.Text("modules/020-extra/templates/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  added: \"by v1\"\n"),
	}
}

// helmState is every Helm release's last revision and status.
func (e *env) helmState(releases ...string) string {
	var out []string
	for _, r := range releases {
		rev, status := e.revision(r)
		out = append(out, fmt.Sprintf("%s %d %s", r, rev, status))
	}
	return strings.Join(out, ", ")
}

// A restart that cannot restore the Deployed release (cache gone, registry
// down) runs nothing older: the module the release added and the upgraded
// one stay as they are, /readyz, the Release and the restore error metric
// say why, and once the registry is back the release is restored.
func TestRestoreFailsClosedWithoutCacheAndRegistry(t *testing.T) {
	u := newUpdaterEnv(t)
	files := append(demoModule("v1", ""), extraModule()...)
	files[0] = moduletest.Text("values.yaml", "global: {}\ndemoEnabled: true\nextraEnabled: true\n")
	u.push("v1.0.0", "stable", files...)
	u.setOperator(u.operatorSection("stable", ""))
	u.start()
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
	u.waitDemo("v1", 10*time.Second)
	u.eventually(10*time.Second, func() string {
		if got := u.configMapData(u.ns, "extra")["added"]; got != "by v1" {
			return "extra ConfigMap added = " + got
		}
		return ""
	})
	installed := u.helmState("demo", "extra")
	if !strings.Contains(installed, "extra 1 deployed") {
		t.Fatalf("helm releases after v1: %s", installed)
	}

	u.op.Stop(t)
	if err := os.RemoveAll(u.cacheDir); err != nil {
		t.Fatal(err)
	}
	u.reg.Stop()
	u.launch(testCluster.Kubeconfig)

	// Nothing is converged and the reason is reported.
	u.eventually(30*time.Second, func() string {
		code, body, err := u.op.Get("/readyz")
		if err != nil || code != 503 || !strings.Contains(body, "deployed release not restored") || !strings.Contains(body, "v1.0.0") {
			return fmt.Sprintf("/readyz = %d %q %v", code, body, err)
		}
		return ""
	})
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "restore after a restart failed, retrying with backoff", 20*time.Second)
	u.eventually(20*time.Second, func() string {
		if got := u.metric(`addon_operator_update_errors_total{stage="restore"}`); got == "" || strings.HasSuffix(got, " 0") || strings.HasSuffix(got, " 1") {
			return "restore errors: " + got + ", want at least 2 (retried)"
		}
		return ""
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := u.helmState("demo", "extra"); got != installed {
			t.Fatalf("helm releases changed while restoring: %s, were %s", got, installed)
		}
		if got := u.configMapData(u.ns, "demo")["version"]; got != "v1" {
			t.Fatalf("demo ConfigMap version = %s while restoring, want v1", got)
		}
		if got := u.configMapData(u.ns, "extra")["added"]; got != "by v1" {
			t.Fatalf("extra ConfigMap = %q while restoring", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if u.op.Exited() {
		t.Fatalf("operator exited: %v", u.op.ExitErr())
	}

	// The registry back, the release is restored and converged.
	u.reg.Restart(t)
	u.op.WaitReady(t, 90*time.Second)
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 20*time.Second)
	if got := u.metric("addon_operator_release_info{"); got != `addon_operator_release_info{channel="stable",version="v1.0.0"} 1` {
		t.Errorf("release_info: %q", got)
	}
	u.waitDemo("v1", 10*time.Second)
	if got := u.helmState("demo", "extra"); got != installed {
		t.Errorf("helm releases after the restore: %s, were %s", got, installed)
	}
	if !strings.Contains(u.op.Logs(), "starting on the deployed release") {
		t.Error("no restore in the log")
	}
}

// A registry whose connections are reset during the layer download leaves
// the release Pending, retried with backoff, never Failed; it is applied
// once downloads work.
func TestFaultRegistryResetsDownload(t *testing.T) {
	u := newUpdaterEnv(t)
	proxy := registry.StartProxy(t, u.reg, 16<<10)
	login, err := json.Marshal(map[string]any{"auths": map[string]any{proxy.Host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte("ops:hunter2")),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "proxy-login", Namespace: u.ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: login},
	}
	if _, err := u.client.CoreV1().Secrets(u.ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Random bytes the gzip layer cannot shrink below the cut.
	noise := make([]byte, 128<<10)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	u.push("v1.0.0", "stable", append(demoModule("v1", ""), moduletest.Text("noise.txt", hex.EncodeToString(noise)))...)
	u.setOperator(fmt.Sprintf("releaseChannel: stable\nsource: %s\nregistry: {secret: proxy-login}\nupdate:\n  pollInterval: 1s\n", proxy.Ref("addons/bundle")))
	u.start()

	r := u.waitRelease("v1.0.0", updater.PhasePending, "download failed, retrying with backoff", 30*time.Second)
	u.eventually(30*time.Second, func() string {
		if n := proxy.Resets(); n < 3 {
			return fmt.Sprintf("%d downloads reset, want 3", n)
		}
		return ""
	})
	if got := u.releases()["v1.0.0"]; got.Phase != updater.PhasePending {
		t.Fatalf("after %d resets the release is %s: %q (first message %q)", proxy.Resets(), got.Phase, got.Message, r.Message)
	}
	if got := u.metric(`addon_operator_update_errors_total{stage="download"}`); got == "" || strings.HasSuffix(got, " 0") {
		t.Errorf("download errors: %q", got)
	}
	u.stays("v0", time.Second)

	proxy.Heal()
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
	u.waitDemo("v1", 10*time.Second)
}
