package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/updater"
	"github.com/seedops/addon-operator/test/keys"
)

// writeKeyPair writes a key pair of kind "ecdsa" or "ed25519" into dir and
// returns the two files.
func writeKeyPair(t *testing.T, dir, name, kind string) (private, public string) {
	t.Helper()
	return keys.New(t, kind).Write(t, dir, name)
}

// cli runs the operator binary's bundle subcommand with the registry
// login and returns its output.
func (u *updaterEnv) cli(args ...string) string {
	u.t.Helper()
	out, err := exec.Command(binary, append(append([]string{"bundle"}, args...), "--registry-config", u.regCfg)...).CombinedOutput()
	if err != nil {
		u.t.Fatalf("bundle %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pushTo publishes files as version to channel of repo with the CLI,
// signed with key when it is not empty, and returns the digest.
func (u *updaterEnv) pushTo(repo, version, channel, key string, files ...moduletest.File) string {
	u.t.Helper()
	args := []string{"push", moduletest.Bundle(u.t, files...), repo, "--version", version, "--channel", channel}
	if key != "" {
		args = append(args, "--sign-key", key)
	}
	d := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(u.cli(args...))
	if d == "" {
		u.t.Fatal("bundle push printed no digest")
	}
	return d
}

// An operator with --verify-key and --allowed-sources applies what the
// trusted key signed and refuses everything else, leaving the cluster as it
// was.
func TestSignedReleases(t *testing.T) {
	ctx := context.Background()
	u := newUpdaterEnv(t)
	keys := t.TempDir()
	goodKey, goodPub := writeKeyPair(t, keys, "good", "ecdsa")
	otherKey, _ := writeKeyPair(t, keys, "other", "ed25519")
	allowed := u.reg.Ref("addons")
	u.args = append(u.args, "--verify-key", goodPub, "--allowed-sources", allowed)

	u.pushTo(u.repo, "v1.0.0", "stable", goodKey, demoModule("v1", "")...)
	u.setOperator(u.operatorSection("stable", ""))
	u.start()

	t.Run("a bundle pushed with --sign-key is applied", func(t *testing.T) {
		u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v1", 10*time.Second)
	})

	t.Run("an unsigned bundle is Failed and the cluster unchanged", func(t *testing.T) {
		u.pushTo(u.repo, "v2.0.0", "unsigned", "", demoModule("v2", "")...)
		u.setOperator(u.operatorSection("unsigned", ""))
		u.waitRelease("v2.0.0", updater.PhaseFailed, "signature not verified", 20*time.Second)
		if msg := u.releases()["v2.0.0"].Message; !strings.Contains(msg, "is not signed") {
			t.Errorf("Failed message lacks the reason: %q", msg)
		}
		u.stays("v1", 2*time.Second)
		if got := u.releases()["v1.0.0"].Phase; got != updater.PhaseDeployed {
			t.Errorf("v1 is %s", got)
		}
	})

	t.Run("a bundle signed with another key is Failed and the cluster unchanged", func(t *testing.T) {
		u.pushTo(u.repo, "v3.0.0", "other", otherKey, demoModule("v3", "")...)
		u.setOperator(u.operatorSection("other", ""))
		r := u.waitRelease("v3.0.0", updater.PhaseFailed, "signature not verified", 20*time.Second)
		if !strings.Contains(r.Message, "no valid signature by the trusted keys ("+goodPub+")") {
			t.Errorf("Failed message lacks the reason: %q", r.Message)
		}
		u.stays("v1", 2*time.Second)
	})

	t.Run("a source outside --allowed-sources is refused and the cluster unchanged", func(t *testing.T) {
		evil := u.reg.Ref("evil/bundle")
		u.pushTo(evil, "v4.0.0", "stable", goodKey, demoModule("v4", "")...)
		u.setOperator(strings.Replace(u.operatorSection("stable", ""), u.repo, evil, 1))
		want := `"` + evil + `" is not within --allowed-sources (` + allowed + `)`
		u.waitRelease("v1.0.0", updater.PhaseDeployed, want, 20*time.Second)
		u.stays("v1", 2*time.Second)
		if _, ok := u.releases()["v4.0.0"]; ok {
			t.Error("a Release was created for the bundle of the refused source")
		}
	})

	t.Run("a bundle signed later with bundle sign is applied", func(t *testing.T) {
		d := u.pushTo(u.repo, "v5.0.0", "later", "", demoModule("v5", "")...)
		if out := u.cli("sign", u.repo, "--digest", d, "--key", goodKey); !strings.Contains(out, "signed "+d) {
			t.Errorf("bundle sign printed %q", out)
		}
		u.setOperator(u.operatorSection("later", ""))
		u.waitRelease("v5.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v5", 10*time.Second)
	})

	t.Run("the API server refuses a change of a Release's spec", func(t *testing.T) {
		r := u.releases()["v5.0.0"]
		for _, patch := range []string{
			`{"spec":{"source":"oci://attacker.example.com/bundle"}}`,
			`{"spec":{"digest":"sha256:` + strings.Repeat("0", 64) + `"}}`,
		} {
			_, err := u.dyn.Resource(updater.GVR).Patch(ctx, r.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			if err == nil || !strings.Contains(err.Error(), "spec is immutable") {
				t.Errorf("patch %s: %v, want the immutability rule", patch, err)
			}
		}
		if got := u.releases()["v5.0.0"]; got.Source != u.repo || got.Digest != r.Digest {
			t.Errorf("spec changed: %+v", got)
		}
	})

	t.Run("a restart with another configured source does not restore the release", func(t *testing.T) {
		u.op.Stop(t)
		moved := u.reg.Ref("addons/moved")
		u.setOperator(strings.Replace(u.operatorSection("later", ""), u.repo, moved, 1))
		u.launch(testCluster.Kubeconfig)
		u.op.WaitLog(t, `the configured source is \"`+moved+`\"`, 20*time.Second)
		// It fails closed: nothing runs, the reason is on /readyz, the
		// installed release stays.
		u.eventually(20*time.Second, func() string {
			code, body, err := u.op.Get("/readyz")
			if err != nil || code != 503 || !strings.Contains(body, "source not allowed") {
				return fmt.Sprintf("/readyz = %d %q %v", code, body, err)
			}
			return ""
		})
		u.stays("v5", 3*time.Second)
		if strings.Contains(u.op.Logs(), "modules converged") {
			t.Error("the operator converged a bundle while the Deployed release was refused")
		}
	})
}

// The key rotation of docs/releases.md: trust the old and the new key,
// re-sign with the new key and publish with it, then drop the old key.
func TestSignedKeyRotation(t *testing.T) {
	u := newUpdaterEnv(t)
	keys := t.TempDir()
	oldKey, oldPub := writeKeyPair(t, keys, "old", "ecdsa")
	newKey, newPub := writeKeyPair(t, keys, "new", "ed25519")
	base := u.args
	restart := func(verifyKeys string) {
		t.Helper()
		if u.op != nil {
			u.op.Stop(t)
		}
		u.args = append(append([]string{}, base...), "--verify-key", verifyKeys)
		u.start()
	}

	v1 := u.pushTo(u.repo, "v1.0.0", "stable", oldKey, demoModule("v1", "")...)
	u.setOperator(u.operatorSection("stable", ""))
	restart(oldPub)
	u.waitRelease("v1.0.0", updater.PhaseDeployed, "", 30*time.Second)
	u.waitDemo("v1", 10*time.Second)

	t.Run("with both keys trusted, a bundle signed with the new key is applied", func(t *testing.T) {
		restart(oldPub + "," + newPub)
		u.cli("sign", u.repo, "--digest", v1, "--key", newKey)
		u.pushTo(u.repo, "v2.0.0", "stable", newKey, demoModule("v2", "")...)
		u.waitRelease("v2.0.0", updater.PhaseDeployed, "", 30*time.Second)
		u.waitDemo("v2", 10*time.Second)
	})

	t.Run("with the old key dropped, the re-signed v1 still verifies", func(t *testing.T) {
		out := u.cli("pull", u.repo, "--digest", v1, filepath.Join(t.TempDir(), "v1"), "--verify-key", newPub)
		if !strings.Contains(out, "pulled v1.0.0") {
			t.Errorf("bundle pull printed %q", out)
		}
	})

	t.Run("with the old key dropped, a restart without cache restores v2", func(t *testing.T) {
		u.op.Stop(t)
		if err := os.RemoveAll(u.cacheDir); err != nil {
			t.Fatal(err)
		}
		restart(newPub)
		u.op.WaitLog(t, "starting on the deployed release", 20*time.Second)
		u.waitDemo("v2", 10*time.Second)
	})

	t.Run("a bundle signed only with the dropped key is Failed", func(t *testing.T) {
		u.pushTo(u.repo, "v3.0.0", "stable", oldKey, demoModule("v3", "")...)
		u.waitRelease("v3.0.0", updater.PhaseFailed, "no valid signature by the trusted keys ("+newPub+")", 20*time.Second)
		u.stays("v2", 2*time.Second)
	})
}
