package updater

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/pkg/values"
	"github.com/seedops/addon-operator/test/keys"
)

// writeKeyPair writes an Ed25519 key pair as PEM files and returns the
// signer and the public key file.
func writeKeyPair(t *testing.T) (bundle.Signer, string) {
	t.Helper()
	pair := keys.New(t, "ed25519")
	signer, err := bundle.ParsePrivateKey(pair.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, public := pair.Write(t, t.TempDir(), "key")
	return signer, public
}

func TestAllowSource(t *testing.T) {
	cfg := Config{AllowedSources: []string{"oci://registry.example.com/addons", "oci://mirror.example.com/", "/srv/bundles"}}
	tests := []struct {
		ref     string
		allowed bool
	}{
		{"oci://registry.example.com/addons", true},
		{"oci://registry.example.com/addons/bundle", true},
		{"oci://registry.example.com/addons-evil/bundle", false},
		{"oci://mirror.example.com/any/repo", true},
		{"oci://evil.example.com/addons/bundle", false},
		{"/srv/bundles/v1", true},
		{"/srv/bundles2", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			err := cfg.allowSource(tt.ref)
			if tt.allowed != (err == nil) {
				t.Fatalf("allowSource(%q) = %v, want allowed=%v", tt.ref, err, tt.allowed)
			}
			if err != nil && (!errors.Is(err, ErrSourceNotAllowed) || !strings.Contains(err.Error(), tt.ref) || !strings.Contains(err.Error(), "oci://mirror.example.com/")) {
				t.Errorf("error does not name the source and the allowed prefixes: %v", err)
			}
		})
	}
	if err := (Config{}).allowSource("oci://anything/at/all"); err != nil {
		t.Errorf("without --allowed-sources: %v", err)
	}
}

func TestCheckTrust(t *testing.T) {
	_, keyFile := writeKeyPair(t)
	tests := []struct {
		name string
		cfg  Config
		want string // "" for success
	}{
		{"keys and prefixes", Config{VerifyKeys: []string{keyFile}, AllowedSources: []string{"oci://r.example.com/", "/srv"}}, ""},
		{"missing key file", Config{VerifyKeys: []string{"/nonexistent.pub"}}, "--verify-key"},
		{"relative directory", Config{AllowedSources: []string{"bundles"}}, `--allowed-sources "bundles": want oci://HOST[/PATH] or an absolute directory path`},
		{"scheme only", Config{AllowedSources: []string{"oci://"}}, "want oci://HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.CheckTrust()
			if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckTrust = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestVerifyKeysRefuseUnsignedReleases(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	signer, keyFile := writeKeyPair(t)
	_, otherKeyFile := writeKeyPair(t)
	w.u = w.newUpdaterWith(func(c *Config) { c.VerifyKeys = []string{otherKeyFile, keyFile} })
	w.start()
	s := w.settings(stable)

	signed, err := w.src.Push(ctx, w.bundleDir("one"), bundle.PushOptions{Version: "v1.0.0", Channels: []string{"stable"}, Signer: &signer})
	if err != nil {
		t.Fatal(err)
	}
	w.u.check(ctx, s)
	w.wantRunning("one")

	w.publish("unsigned", "v2.0.0", []string{"stable"})
	w.u.check(ctx, s)
	w.wantRunning("one")
	w.wantPhases("v1.0.0 Deployed", "v2.0.0 Failed")
	if msg := w.releases.byVersion(t, "v2.0.0").Message; !strings.Contains(msg, "signature not verified") || !strings.Contains(msg, "is not signed") {
		t.Errorf("Failed message = %q, want the signature reason", msg)
	}
	w.u.check(ctx, s)
	if len(w.rt.swaps) != 1 {
		t.Errorf("swaps = %v, want only the signed release", w.rt.swaps)
	}

	t.Run("restore pulls again with verification", func(t *testing.T) {
		if err := os.RemoveAll(w.cacheDir); err != nil {
			t.Fatal(err)
		}
		u := w.newUpdaterWith(func(c *Config) { c.VerifyKeys = []string{otherKeyFile} })
		name, err := w.restoreAttempt(u, w.cfg.Current().Operator)
		if !errors.Is(err, bundle.ErrSignature) || name != "" {
			t.Errorf("Restore with another key = %q, %v; want nothing restored and ErrSignature", name, err)
		}
		u = w.newUpdaterWith(func(c *Config) { c.VerifyKeys = []string{keyFile} })
		name, err = w.restoreAttempt(u, w.cfg.Current().Operator)
		if err != nil || name != "one" {
			t.Errorf("Restore with the signer's key = %v, %v; want one (%s)", name, err, signed.Version)
		}
	})
}

func TestRestoreChecksTheSource(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.start()
	s := w.settings(stable)
	w.publish("one", "v1.0.0", []string{"stable"})
	w.u.check(ctx, s)
	section := w.cfg.Current().Operator

	tests := []struct {
		name    string
		allowed []string
		section bool
		want    string // "" for success
	}{
		{"configured source, no allow list", nil, true, ""},
		{"configured source within the allow list", []string{filepath.Dir(w.source)}, true, ""},
		{"configured source outside the allow list", []string{"/srv/bundles"}, true, "is not within --allowed-sources (/srv/bundles)"},
		{"no operator section", nil, false, "the operator section names no source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := w.newUpdaterWith(func(c *Config) { c.AllowedSources = tt.allowed })
			sec := section
			if !tt.section {
				sec = nil
			}
			name, err := w.restoreAttempt(u, sec)
			if tt.want == "" {
				if err != nil || name != "one" {
					t.Errorf("Restore = %v, %v; want one", name, err)
				}
				return
			}
			if !errors.Is(err, ErrSourceNotAllowed) || !strings.Contains(err.Error(), tt.want) || name != "" {
				t.Errorf("Restore = %q, %v; want nothing restored and %q", name, err, tt.want)
			}
		})
	}

	t.Run("a release from another source than the configured one", func(t *testing.T) {
		u := w.newUpdater()
		moved := section.DeepCopy()
		moved["source"] = "/elsewhere"
		name, err := w.restoreAttempt(u, moved)
		if !errors.Is(err, ErrSourceNotAllowed) || !strings.Contains(err.Error(), `the configured source is "/elsewhere"`) || name != "" {
			t.Errorf("Restore = %q, %v; want nothing restored and the source mismatch", name, err)
		}
	})
}

// restoreAttempt runs u.Restore with section until it returns or reports a
// failed attempt (it then retries for ever: it fails closed); it returns
// the restored bundle's name, or "" and the error of that attempt.
func (w *world) restoreAttempt(u *Updater, section values.Values) (string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, before := w.restores.get()
	done := make(chan restoreResult, 1)
	go func() {
		b, err := u.Restore(ctx, builtin(), func(context.Context) values.Values { return section })
		name := ""
		if err == nil {
			name, _ = b.Modules.Values["name"].(string)
		}
		done <- restoreResult{name, err}
	}()
	for {
		select {
		case r := <-done:
			return r.name, r.err
		case <-w.restores.changed:
			if last, n := w.restores.get(); n > before && last != nil {
				cancel()
				<-done
				return "", last
			}
		}
	}
}

// The --verify-key files are read for every download: a key rotated in
// the file (a mounted Secret updated) is used without a restart.
func TestVerifyKeysRotateWithoutRestart(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, keyFile := writeKeyPair(t)
	rotated, rotatedFile := writeKeyPair(t)
	w.u = w.newUpdaterWith(func(c *Config) {
		c.VerifyKeys = []string{keyFile}
		if err := c.CheckTrust(); err != nil {
			t.Fatal(err)
		}
	})
	w.start()
	pem, err := os.ReadFile(rotatedFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.src.Push(ctx, w.bundleDir("one"), bundle.PushOptions{Version: "v1.0.0", Channels: []string{"stable"}, Signer: &rotated}); err != nil {
		t.Fatal(err)
	}
	w.u.check(ctx, w.settings(stable))
	w.wantRunning("one")
}
