package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/test/registry"
)

// updaterEnv is an operator following release channels of a real registry
// (with a login) on loopback.
type updaterEnv struct {
	*env
	reg      *registry.Registry
	repo     string
	regCfg   string
	cacheDir string
	dyn      dynamic.Interface
}

func newUpdaterEnv(t *testing.T) *updaterEnv {
	t.Helper()
	reg := registry.Start(t, registry.Options{Users: map[string]string{"ops": "hunter2"}})
	cacheDir := filepath.Join(t.TempDir(), "releases")
	builtin := moduletest.Bundle(t, demoModule("v0", "")...)
	e := newEnv(t, builtin,
		"--queue-min-backoff", "1s", "--queue-max-backoff", "2s",
		"--update-rollback-retries", "1", "--update-rollback-timeout", "60s",
		"--release-cache-dir", cacheDir,
	)
	u := &updaterEnv{env: e, reg: reg, repo: reg.Ref("addons/bundle"), regCfg: filepath.Join(t.TempDir(), "config.json"), cacheDir: cacheDir}
	if err := os.WriteFile(u.regCfg, reg.DockerConfig("ops", "hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if u.dyn, err = dynamic.NewForConfig(testCluster.Config); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "registry-login", Namespace: e.ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: reg.DockerConfig("ops", "hunter2")},
	}
	if _, err := e.client.CoreV1().Secrets(e.ns).Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return u
}

// demoModule is a bundle with one module whose ConfigMap "demo" shows the
// version; extra goes into its template.
func demoModule(version, extra string) []moduletest.File {
	return []moduletest.File{
		moduletest.Text("values.yaml", "global: {}\ndemoEnabled: true\n"),
		moduletest.Text("modules/010-demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
		moduletest.Text("modules/010-demo/values.yaml", "demo:\n  version: "+version+"\n"),
		moduletest.Text("modules/010-demo/templates/configmap.yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  version: {{ .Values.demo.version | quote }}\n"+extra),
	}
}

// push publishes files as a bundle with the CLI and returns the manifest
// digest.
func (u *updaterEnv) push(version, channel string, files ...moduletest.File) string {
	u.t.Helper()
	dir := moduletest.Bundle(u.t, files...)
	out, err := exec.Command(binary, "bundle", "push", dir, u.repo, "--version", version, "--channel", channel,
		"--changelog", "e2e "+version, "--registry-config", u.regCfg).CombinedOutput()
	if err != nil {
		u.t.Fatalf("bundle push: %v\n%s", err, out)
	}
	d := regexp.MustCompile(`sha256:[0-9a-f]{64}`).Find(out)
	if d == nil {
		u.t.Fatalf("bundle push printed no digest: %s", out)
	}
	return string(d)
}

func (u *updaterEnv) setOperator(section string) {
	u.setConfig(map[string]string{"operator": section})
}

func (u *updaterEnv) operatorSection(channel, update string) string {
	return fmt.Sprintf("releaseChannel: %s\nsource: %s\nregistry: {secret: registry-login}\nupdate:\n  pollInterval: 1s\n%s", channel, u.repo, update)
}

// releases returns this operator's releases by version.
func (u *updaterEnv) releases() map[string]updater.Release {
	u.t.Helper()
	list, err := updater.NewKubeReleases(u.dyn, u.ns, time.Now).List(context.Background())
	if err != nil {
		u.t.Fatal(err)
	}
	out := map[string]updater.Release{}
	for _, r := range list {
		out[r.Version] = r
	}
	return out
}

// waitRelease waits until the release of version is in phase and its
// message contains msg.
func (u *updaterEnv) waitRelease(version string, phase updater.Phase, msg string, timeout time.Duration) updater.Release {
	u.t.Helper()
	var got updater.Release
	u.eventually(timeout, func() string {
		r, ok := u.releases()[version]
		got = r
		if !ok {
			return "no release of " + version
		}
		if r.Phase != phase || !strings.Contains(r.Message, msg) {
			return fmt.Sprintf("release %s: %s %q, want %s with %q", version, r.Phase, r.Message, phase, msg)
		}
		return ""
	})
	return got
}

// waitDemo waits until the demo ConfigMap shows version.
func (u *updaterEnv) waitDemo(version string, timeout time.Duration) {
	u.t.Helper()
	u.eventually(timeout, func() string {
		if got := u.configMapData(u.ns, "demo")["version"]; got != version {
			return "demo ConfigMap version = " + got + ", want " + version
		}
		return ""
	})
}

// stays checks for a while that the demo ConfigMap keeps version.
func (u *updaterEnv) stays(version string, d time.Duration) {
	u.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := u.configMapData(u.ns, "demo")["version"]; got != version {
			u.t.Fatalf("demo ConfigMap version = %s, want it to stay %s", got, version)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (u *updaterEnv) metric(prefix string) string {
	u.t.Helper()
	_, body, err := u.op.Get("/metrics")
	if err != nil {
		u.t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// Publish v1 to stable and v2 to ea, run an operator on stable, switch it
// to ea, break ea, feed it bad input, make it wait for an approval and a
// window, take the registry away and restart the operator.
func TestUpdaterChannels(t *testing.T) {
	u := newUpdaterEnv(t)
	ctx := context.Background()
	u.push("v1.0.0", "stable", demoModule("v1", "")...)
	u.push("v2.0.0", "ea", demoModule("v2", "  changed: \"in v2\"\n")...)
	u.setOperator(u.operatorSection("stable", ""))
	u.start()

	t.Run("the operator on stable runs v1", func(t *testing.T) {
		u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v1", 10*time.Second)
		out, err := exec.Command("../../bin/kubectl", "--kubeconfig", testCluster.Kubeconfig, "get", "releases.addons.seedops.io",
			"-l", updater.LabelNamespace+"="+u.ns).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl: %v\n%s", err, out)
		}
		if !regexp.MustCompile(`NAME\s+VERSION\s+CHANNEL\s+PHASE\s+AGE`).Match(out) || !regexp.MustCompile(`v1\.0\.0\s+stable\s+Deployed`).Match(out) {
			t.Errorf("kubectl get releases:\n%s", out)
		}
		if got := u.metric("addon_operator_release_info{"); got != `addon_operator_release_info{channel="stable",version="v1.0.0"} 1` {
			t.Errorf("release_info: %q", got)
		}
	})

	t.Run("switching to ea runs v2", func(t *testing.T) {
		u.setOperator(u.operatorSection("ea", ""))
		u.waitRelease("v2.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v2", 10*time.Second)
		if got := u.configMapData(u.ns, "demo")["changed"]; got != "in v2" {
			t.Errorf("demo ConfigMap changed = %q, want the v2 template's key", got)
		}
		u.waitRelease("v1.0.0", updater.PhaseSuperseded, "superseded by v2.0.0", 10*time.Second)
	})

	t.Run("a v3 whose chart does not render is rolled back to v2", func(t *testing.T) {
		u.push("v3.0.0", "ea", demoModule("v3", "  broken: {{ fail \"v3 is broken\" }}\n")...)
		r := u.waitRelease("v3.0.0", updater.PhaseRolledBack, "rolled back to v2.0.0", 60*time.Second)
		if !strings.Contains(r.Message, "module demo") || !strings.Contains(r.Message, "v3 is broken") {
			t.Errorf("RolledBack message lacks the module and its error: %q", r.Message)
		}
		u.waitDemo("v2", 20*time.Second)
		if got := u.releases()["v2.0.0"].Phase; got != updater.PhaseDeployed {
			t.Errorf("v2 is %s after the rollback", got)
		}
		if got := u.metric(`addon_operator_update_errors_total{stage="converge"}`); !strings.HasSuffix(got, " 1") {
			t.Errorf("update errors: %q", got)
		}
		u.stays("v2", 3*time.Second) // the rolled back digest is not tried again
	})

	t.Run("a v3.1 whose global hook fails is rolled back to v2", func(t *testing.T) {
		hook := moduletest.Script("global-hooks/010-fail.sh", "#!/usr/bin/env bash\n"+
			"if [[ \"${1:-}\" == \"--config\" ]]; then echo '{\"configVersion\":\"v1\",\"onStartup\":1}'; exit 0; fi\n"+
			"echo 'v3.1 hook is broken' >&2; exit 1\n")
		u.push("v3.1.0", "ea", append(demoModule("v3.1", ""), hook)...)
		r := u.waitRelease("v3.1.0", updater.PhaseRolledBack, "rolled back to v2.0.0", 60*time.Second)
		if !strings.Contains(r.Message, "global hooks still failing") || !strings.Contains(r.Message, "010-fail.sh") {
			t.Errorf("RolledBack message lacks the failing hook: %q", r.Message)
		}
		u.waitDemo("v2", 20*time.Second)
	})

	t.Run("a more stable channel with an older version is held", func(t *testing.T) {
		u.setOperator(u.operatorSection("stable", ""))
		u.waitRelease("v1.0.0", updater.PhasePending, "held: v1.0.0 is older than the running v2.0.0", 15*time.Second)
		u.stays("v2", 2*time.Second)
	})

	t.Run("bad input leaves v2 running", func(t *testing.T) {
		u.push("v2.1.0", "invalid", append(demoModule("v2.1", ""), moduletest.Text("modules/010-demo/values.yaml", "demo: [unclosed\n"))...)
		u.setOperator(u.operatorSection("invalid", ""))
		r := u.waitRelease("v2.1.0", updater.PhaseFailed, "invalid bundle", 20*time.Second)
		if !strings.Contains(r.Message, "010-demo/values.yaml") {
			t.Errorf("Failed message does not name the file: %q", r.Message)
		}

		tamperedDigest := u.push("v2.2.0", "tampered", demoModule("v2.2", "")...)
		u.tamperLayer(tamperedDigest)
		u.setOperator(u.operatorSection("tampered", ""))
		u.waitRelease("v2.2.0", updater.PhaseFailed, "digest mismatch", 20*time.Second)

		u.pushNotABundle("notabundle")
		u.setOperator(u.operatorSection("notabundle", ""))
		u.waitRelease("v2.0.0", updater.PhaseDeployed, "not an addon-operator bundle", 20*time.Second)

		u.setOperator(u.operatorSection("nope", ""))
		u.waitRelease("v2.0.0", updater.PhaseDeployed, `channel "nope": no such tag`, 20*time.Second)

		rejected := u.metric("addon_operator_config_values_errors_total")
		u.setOperator("releaseChannel: ea\nupdate: {mode: Sometimes}\n")
		u.op.WaitLog(t, "operator.update.mode", 10*time.Second)
		if got := u.metric("addon_operator_config_values_errors_total"); got == rejected {
			t.Errorf("the invalid operator section was not counted as a rejected edit: %s", got)
		}
		u.stays("v2", 2*time.Second)
		if len(u.releases()) != 6 {
			t.Errorf("releases: %v", u.releases())
		}
	})

	t.Run("back on ea the rolled back v3 is not retried", func(t *testing.T) {
		u.setOperator(u.operatorSection("ea", ""))
		u.waitRelease("v2.0.0", updater.PhaseDeployed, "which was RolledBack", 20*time.Second)
		u.stays("v2", 2*time.Second)
	})

	t.Run("manual mode waits for the approval", func(t *testing.T) {
		u.setOperator(u.operatorSection("ea", "  mode: Manual\n"))
		time.Sleep(2 * time.Second) // the section is taken
		u.push("v4.0.0", "ea", demoModule("v4", "")...)
		r := u.waitRelease("v4.0.0", updater.PhasePending, "waiting for approval", 20*time.Second)
		if got := u.metric("addon_operator_pending_releases"); got != "addon_operator_pending_releases 1" {
			t.Errorf("pending releases: %q, want v4 only", got)
		}
		u.stays("v2", 3*time.Second)
		patch := []byte(`{"metadata":{"annotations":{"` + updater.AnnotationApproved + `":"true"}}}`)
		if _, err := u.dyn.Resource(updater.GVR).Patch(ctx, r.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		u.waitRelease("v4.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v4", 10*time.Second)
	})

	t.Run("a window that excludes now defers the apply", func(t *testing.T) {
		now := time.Now().UTC()
		from, to := now.Add(3*time.Hour).Format("15:04"), now.Add(4*time.Hour).Format("15:04")
		u.setOperator(u.operatorSection("ea", fmt.Sprintf("  windows: [{from: %q, to: %q}]\n", from, to)))
		time.Sleep(2 * time.Second)
		u.push("v5.0.0", "ea", demoModule("v5", "")...)
		u.waitRelease("v5.0.0", updater.PhasePending, "waiting for an update window", 20*time.Second)
		u.stays("v4", 3*time.Second)
		u.setOperator(u.operatorSection("ea", ""))
		u.waitRelease("v5.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v5", 10*time.Second)
	})

	t.Run("without the registry the operator keeps running and reports it", func(t *testing.T) {
		before := u.metric(`addon_operator_update_errors_total{stage="check"}`)
		u.reg.Stop()
		u.waitRelease("v5.0.0", updater.PhaseDeployed, "update check failed", 20*time.Second)
		if got := u.metric(`addon_operator_update_errors_total{stage="check"}`); got == before {
			t.Errorf("check errors did not increase: %q", got)
		}
		if code, _, err := u.op.Get("/readyz"); err != nil || code != 200 {
			t.Errorf("/readyz = %d %v", code, err)
		}
	})

	t.Run("a restart without the registry comes back on v5 from the cache", func(t *testing.T) {
		u.op.Stop(t)
		u.start()
		u.op.WaitLog(t, "starting on the deployed release", 10*time.Second)
		u.waitDemo("v5", 10*time.Second)
		if got := u.metric("addon_operator_release_info{"); got != `addon_operator_release_info{channel="ea",version="v5.0.0"} 1` {
			t.Errorf("release_info: %q", got)
		}
	})

	t.Run("a restart with an empty cache pulls the deployed release by digest", func(t *testing.T) {
		u.reg.Restart(t)
		u.op.Stop(t)
		if err := os.RemoveAll(u.cacheDir); err != nil {
			t.Fatal(err)
		}
		u.start()
		u.op.WaitLog(t, "starting on the deployed release", 10*time.Second)
		u.waitDemo("v5", 10*time.Second)
		entries, _ := os.ReadDir(u.cacheDir)
		if len(entries) != 1 {
			t.Errorf("cache holds %d entries after the restart, want the deployed release", len(entries))
		}
	})
}

// tamperLayer flips a byte of a bundle's layer in the registry's storage.
func (u *updaterEnv) tamperLayer(manifestDigest string) {
	u.t.Helper()
	manifest, err := os.ReadFile(u.reg.BlobPath(manifestDigest))
	if err != nil {
		u.t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := yaml.Unmarshal(manifest, &m); err != nil {
		u.t.Fatal(err)
	}
	path := u.reg.BlobPath(m.Layers[0].Digest.String())
	data, err := os.ReadFile(path)
	if err != nil {
		u.t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// pushNotABundle tags an artifact of another type.
func (u *updaterEnv) pushNotABundle(tag string) {
	u.t.Helper()
	ctx := context.Background()
	repo, err := remote.NewRepository(strings.TrimPrefix(u.repo, "oci://"))
	if err != nil {
		u.t.Fatal(err)
	}
	repo.PlainHTTP = true
	repo.Client = &auth.Client{Credential: auth.StaticCredential(u.reg.Host, auth.Credential{Username: "ops", Password: "hunter2"})}
	data := []byte("a helm chart, say")
	layer := ocispec.Descriptor{MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := repo.Push(ctx, layer, bytes.NewReader(data)); err != nil {
		u.t.Fatal(err)
	}
	desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.cncf.helm.config.v1+json", oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		u.t.Fatal(err)
	}
	if err := repo.Tag(ctx, desc, tag); err != nil {
		u.t.Fatal(err)
	}
}
