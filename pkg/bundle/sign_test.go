package bundle_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/seedops/addon-operator/pkg/bundle"
	"github.com/seedops/addon-operator/test/keys"
)

// testKey is a key pair in PEM.
type testKey struct{ keys.Pair }

func newTestKey(t *testing.T, kind string) testKey { return testKey{keys.New(t, kind)} }

func (k testKey) signer(t *testing.T) *bundle.Signer {
	t.Helper()
	s, err := bundle.ParsePrivateKey(k.Private, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

func (k testKey) verifier(t *testing.T, name string) []bundle.PublicKey {
	t.Helper()
	keys, err := bundle.ParsePublicKeys(name, k.Public)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestSignVerify signs bundles in a layout directory and in a real
// registry, and pulls them with various trusted keys.
func TestSignVerify(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) place{"layout": layoutPlace, "registry": registryPlace} {
		t.Run(name, func(t *testing.T) {
			testSignVerify(t, mk(t))
		})
	}
}

func testSignVerify(t *testing.T, p place) {
	ctx := context.Background()
	a, b, c := newTestKey(t, "ecdsa"), newTestKey(t, "ecdsa"), newTestKey(t, "ed25519")
	keyA, keyB, keyC := a.verifier(t, "a.pub"), b.verifier(t, "b.pub"), c.verifier(t, "c.pub")
	src, err := bundle.Open(p.ref, p.opts)
	if err != nil {
		t.Fatal(err)
	}
	push := func(version string, signer *bundle.Signer) string {
		t.Helper()
		m, err := src.Push(ctx, testBundle(t, version), bundle.PushOptions{Version: version, Channels: []string{version}, Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		return m.Digest
	}
	byA := push("v1.0.0", a.signer(t))
	byC := push("v2.0.0", c.signer(t))
	unsigned := push("v3.0.0", nil)
	rotated := push("v4.0.0", a.signer(t))
	if err := src.Sign(ctx, rotated, *b.signer(t)); err != nil {
		t.Fatal(err)
	}
	if err := src.Sign(ctx, rotated, *b.signer(t)); err != nil { // again: no duplicate
		t.Fatal(err)
	}
	replayed := push("v5.0.0", nil)
	copySignature(t, p, byA, replayed, nil)
	tampered := push("v6.0.0", a.signer(t))
	copySignature(t, p, tampered, tampered, func(payload []byte) []byte {
		return bytes.Replace(payload, []byte(`"optional":null`), []byte(`"optional":{"by":"mallory"}`), 1)
	})

	tests := []struct {
		name   string
		digest string
		keys   []bundle.PublicKey
		want   string // "" for success, else a part of the ErrSignature message
	}{
		{"ECDSA signature, its key", byA, keyA, ""},
		{"Ed25519 signature, its key", byC, keyC, ""},
		{"ECDSA signature, another key", byA, keyB, "no valid signature by the trusted keys (b.pub)"},
		{"Ed25519 signature, an ECDSA key", byC, keyA, "signature does not verify"},
		{"unsigned", unsigned, keyA, "is not signed (no tag sha256-"},
		{"any of two keys verifies", byA, append(keyB, keyA...), ""},
		{"rotation: signed by old and new key, old key", rotated, keyA, ""},
		{"rotation: signed by old and new key, new key", rotated, keyB, ""},
		{"another bundle's signature", replayed, keyA, "not this bundle"},
		{"tampered payload", tampered, keyA, "signature does not verify"},
		{"no keys: unsigned pulls", unsigned, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := p.opts
			opts.VerifyKeys = tt.keys
			s, err := bundle.Open(p.ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			_, err = s.Pull(ctx, tt.digest, dir)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Pull: %v", err)
				}
				return
			}
			if !errors.Is(err, bundle.ErrSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Pull: %v, want ErrSignature with %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("refused bundle left %d entries in the target directory", len(entries))
			}
		})
	}

	t.Run("re-signing keeps one signature per key", func(t *testing.T) {
		if n := signatureLayers(t, p, rotated); n != 2 {
			t.Errorf("signature manifest of the rotated bundle has %d layers, want 2 (keys a and b)", n)
		}
	})
}

// signatureLayers counts the layers of the signature manifest of d.
func signatureLayers(t *testing.T, p place, d string) int {
	t.Helper()
	m := signatureManifest(t, p, d)
	return len(m.Layers)
}

func signatureManifest(t *testing.T, p place, d string) ocispec.Manifest {
	t.Helper()
	ctx := context.Background()
	target := p.target(t)
	desc, err := target.Resolve(ctx, bundle.SignatureTag(digest.Digest(d)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := content.FetchAll(ctx, target, desc)
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// copySignature publishes the signature of from as the signature of to,
// its payload passed through edit (nil: unchanged) with the original
// signature annotation.
func copySignature(t *testing.T, p place, from, to string, edit func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	target := p.target(t)
	m := signatureManifest(t, p, from)
	layer := m.Layers[0]
	if edit != nil {
		payload, err := content.FetchAll(ctx, target, layer)
		if err != nil {
			t.Fatal(err)
		}
		payload = edit(payload)
		edited := content.NewDescriptorFromBytes(bundle.SignatureMediaType, payload)
		edited.Annotations = layer.Annotations
		if err := target.Push(ctx, edited, bytes.NewReader(payload)); err != nil {
			t.Fatal(err)
		}
		layer = edited
	}
	desc, err := oras.PackManifest(ctx, target, oras.PackManifestVersion1_1, "application/vnd.test.signature", oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Tag(ctx, desc, bundle.SignatureTag(digest.Digest(to))); err != nil {
		t.Fatal(err)
	}
}

func TestParseKeys(t *testing.T) {
	rsaKey := newTestKey(t, "rsa")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, _ := x509.MarshalPKIXPublicKey(p384.Public())
	pf := func(bool) ([]byte, error) { return []byte("s3cret"), nil }
	cosignPriv, cosignPub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), pf)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1DER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	password := func(p string) func() ([]byte, error) {
		return func() ([]byte, error) { return []byte(p), nil }
	}

	publicTests := []struct {
		name, pem, want string
	}{
		{"not PEM", "hello", "no PEM block \"PUBLIC KEY\" found; want an ECDSA P-256 or Ed25519 public key"},
		{"RSA", string(rsaKey.Public), "want an ECDSA P-256 or Ed25519 key"},
		{"ECDSA P-384", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p384DER})), "curve P-384: want P-256"},
	}
	for _, tt := range publicTests {
		t.Run("public "+tt.name, func(t *testing.T) {
			_, err := bundle.ParsePublicKeys("k.pub", []byte(tt.pem))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "k.pub") {
				t.Errorf("ParsePublicKeys: %v, want an error naming k.pub with %q", err, tt.want)
			}
		})
	}

	privateTests := []struct {
		name     string
		pem      []byte
		password func() ([]byte, error)
		want     string // "" for success
	}{
		{"PKCS#8 ECDSA", newTestKey(t, "ecdsa").Private, nil, ""},
		{"PKCS#8 Ed25519", newTestKey(t, "ed25519").Private, nil, ""},
		{"SEC 1 ECDSA", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER}), nil, ""},
		{"encrypted cosign key with its password", cosignPriv, password("s3cret"), ""},
		{"encrypted cosign key, wrong password", cosignPriv, password("guess"), "ENCRYPTED SIGSTORE PRIVATE KEY"},
		{"encrypted cosign key, no password", cosignPriv, nil, "needs a password"},
		{"RSA", rsaKey.Private, nil, "want an ECDSA P-256 or Ed25519 key"},
		{"not PEM", []byte("hello"), nil, "no PEM block found"},
	}
	for _, tt := range privateTests {
		t.Run("private "+tt.name, func(t *testing.T) {
			_, err := bundle.ParsePrivateKey(tt.pem, tt.password)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("ParsePrivateKey: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("ParsePrivateKey: %v, want an error with %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "s3cret"):
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}

	t.Run("an encrypted cosign key signs what its public key verifies", func(t *testing.T) {
		ctx := context.Background()
		dir := filepath.Join(t.TempDir(), "layout")
		signer, err := bundle.ParsePrivateKey(cosignPriv, password("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := bundle.ParsePublicKeys("cosign.pub", cosignPub)
		if err != nil {
			t.Fatal(err)
		}
		src, _ := bundle.Open(dir, bundle.Options{})
		m, err := src.Push(ctx, testBundle(t, "v1"), bundle.PushOptions{Version: "v1.0.0", Signer: &signer})
		if err != nil {
			t.Fatal(err)
		}
		verifying, _ := bundle.Open(dir, bundle.Options{VerifyKeys: keys})
		if _, err := verifying.Pull(ctx, m.Digest, t.TempDir()); err != nil {
			t.Errorf("Pull: %v", err)
		}
	})
}

var digestPattern = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// TestCommandSign signs with the CLI and pulls with --verify-key.
func TestCommandSign(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	good, other := newTestKey(t, "ed25519"), newTestKey(t, "ecdsa")
	pf := func(bool) ([]byte, error) { return []byte("s3cret"), nil }
	cosignKey, cosignPub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), pf)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"good.key": good.Private, "good.pub": good.Public, "other.key": other.Private, "other.pub": other.Public,
		"cosign.key": cosignKey, "cosign.pub": cosignPub}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := bundle.Command(ctx, args, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := run("push", testBundle(t, "v1"), layout, "--version", "v1.0.0", "--channel", "stable", "--sign-key", f("good.key"))
	if code != 0 || !strings.Contains(out, "(signed)") {
		t.Fatalf("push --sign-key: exit %d: %s", code, out)
	}
	d := digestPattern.FindString(out)
	code, out = run("push", testBundle(t, "v2"), layout, "--version", "v2.0.0", "--channel", "unsigned")
	if code != 0 {
		t.Fatalf("push: exit %d: %s", code, out)
	}
	unsigned := digestPattern.FindString(out)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"pull with the signer's key", []string{"pull", layout, "--digest", d, "--verify-key", f("good.pub")}, 0, "pulled v1.0.0"},
		{"pull with another key", []string{"pull", layout, "--digest", d, "--verify-key", f("other.pub")}, 1, "signature not verified"},
		{"pull with either key", []string{"pull", layout, "--channel", "stable", "--verify-key", f("other.pub") + "," + f("good.pub")}, 0, "pulled v1.0.0"},
		{"pull unsigned", []string{"pull", layout, "--digest", unsigned, "--verify-key", f("good.pub")}, 1, "is not signed"},
		{"sign without a key", []string{"sign", layout, "--digest", unsigned}, 2, "sign takes SOURCE, --digest and --key"},
		{"sign with a public key", []string{"sign", layout, "--digest", unsigned, "--key", f("good.pub")}, 1, "no PEM block found"},
		{"sign an unknown digest", []string{"sign", layout, "--digest", "sha256:" + strings.Repeat("0", 64), "--key", f("other.key")}, 1, "not found"},
		{"sign the unsigned bundle", []string{"sign", layout, "--digest", unsigned, "--key", f("other.key")}, 0, "signed " + unsigned},
		{"pull it with the new signer's key", []string{"pull", layout, "--digest", unsigned, "--verify-key", f("other.pub")}, 0, "pulled v2.0.0"},
		{"ls shows channels, not signature tags", []string{"ls", layout}, 0, "CHANNEL   VERSION  DIGEST\nstable    v1.0.0   " + d + "\nunsigned  v2.0.0   " + unsigned + "\n"},
		{"sign with an encrypted cosign key without COSIGN_PASSWORD", []string{"sign", layout, "--digest", unsigned, "--key", f("cosign.key")}, 1, "set COSIGN_PASSWORD"},
		{"sign with an encrypted cosign key and COSIGN_PASSWORD", []string{"sign", layout, "--digest", unsigned, "--key", f("cosign.key"), "password"}, 0, "signed " + unsigned},
		{"pull with the cosign public key", []string{"pull", layout, "--digest", unsigned, "--verify-key", f("cosign.pub")}, 0, "pulled v2.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.args[len(tt.args)-1] == "password" {
				t.Setenv("COSIGN_PASSWORD", "s3cret")
				tt.args = tt.args[:len(tt.args)-1]
			} else {
				t.Setenv("COSIGN_PASSWORD", "")
				os.Unsetenv("COSIGN_PASSWORD")
			}
			args := tt.args
			if args[0] == "pull" {
				args = append(args, filepath.Join(t.TempDir(), "out"))
			}
			code, out := run(args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tt.code, tt.want, out)
			}
		})
	}
}
