// Package keys makes signing key pairs for tests, in PEM as
// `cosign generate-key-pair` (unencrypted) or openssl write them: PKCS#8
// private keys and PKIX public keys.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// Pair is a key pair in PEM.
type Pair struct {
	Private, Public []byte
}

// New makes a key pair of kind "ecdsa" (P-256), "ed25519" or "rsa" (2048
// bits, a kind the operator refuses).
func New(t testing.TB, kind string) Pair {
	t.Helper()
	var key crypto.Signer
	var err error
	switch kind {
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("keys.New: unknown kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return Pair{
		Private: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		Public:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
}

// Write writes p as dir/name.key and dir/name.pub and returns the two
// paths.
func (p Pair) Write(t testing.TB, dir, name string) (private, public string) {
	t.Helper()
	private, public = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(private, p.Private, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, p.Public, 0o600); err != nil {
		t.Fatal(err)
	}
	return private, public
}
