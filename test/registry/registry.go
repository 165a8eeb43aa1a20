// Package registry runs a real OCI registry for tests: the CNCF distribution
// registry, built into the repository's bin/registry by `make tools` (pinned
// in test/tools/registry/go.mod), on a free loopback port, with its storage
// in a temporary directory. A missing binary fails the test: a test that
// quietly skipped would pass for the wrong reason.
package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Binary is the registry server tests run: $ADDON_OPERATOR_TEST_REGISTRY
// when set (any distribution registry taking `serve CONFIG`, such as
// Debian's /usr/bin/docker-registry), else registry in
// $ADDON_OPERATOR_TEST_BIN, else the repository's bin/registry.
func Binary() string {
	if bin := os.Getenv("ADDON_OPERATOR_TEST_REGISTRY"); bin != "" {
		return bin
	}
	if dir := os.Getenv("ADDON_OPERATOR_TEST_BIN"); dir != "" {
		return filepath.Join(dir, "registry")
	}
	// This file is <repo>/test/registry/registry.go; tests build from source.
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "registry")
}

// Options configure a registry.
type Options struct {
	// Users switches on basic authentication (htpasswd) with these
	// user → password pairs; none means anonymous access.
	Users map[string]string
	// TLS serves HTTPS with a certificate for 127.0.0.1 signed by a fresh
	// CA (Registry.CAPEM).
	TLS bool
}

// Registry is a running registry. Its methods are safe for concurrent use.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// Dir is the storage root (the filesystem driver's rootdirectory).
	Dir string
	// CAPEM is the CA of the registry's certificate (Options.TLS).
	CAPEM []byte

	bin    string
	config string
	log    string
	scheme string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs a registry until the test ends.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("registry server %s is missing (run `make tools`, or set ADDON_OPERATOR_TEST_REGISTRY): %v", bin, err)
	}
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: "127.0.0.1:" + strconv.Itoa(port), Dir: filepath.Join(dir, "data"), bin: bin, config: filepath.Join(dir, "config.yml"), log: filepath.Join(dir, "registry.log"), scheme: "http"}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: %s}
  delete: {enabled: true}
  maintenance:
    uploadpurging: {enabled: false}
http:
  addr: %s
  secret: test-secret
`, r.Dir, r.Host)
	// tls belongs to the http section, which ends the document so far.
	if opts.TLS {
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		r.CAPEM = writeCertificate(t, certFile, keyFile)
		cfg += fmt.Sprintf("  tls: {certificate: %s, key: %s}\n", certFile, keyFile)
		r.scheme = "https"
	}
	if len(opts.Users) > 0 {
		var lines []string
		for user, pass := range opts.Users {
			hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, user+":"+string(hash))
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd: {realm: test, path: %s}\n", htpasswd)
	}
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Restart(t)
	t.Cleanup(r.Stop)
	return r
}

// Ref is the source reference of a repository: "oci://HOST/REPO".
func (r *Registry) Ref(repo string) string { return "oci://" + r.Host + "/" + repo }

// Restart starts the registry again on the same port and storage (after
// Stop), and waits until it answers.
func (r *Registry) Restart(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		select {
		case <-r.done:
		default:
			return // running
		}
	}
	logf, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.bin, "serve", r.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start registry: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	r.cmd, r.done = cmd, done
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // only asks whether it answers
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := probe.Get(r.scheme + "://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		select {
		case <-done:
			data, _ := os.ReadFile(r.log)
			t.Fatalf("registry exited at start:\n%s", data)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry not answering on %s after 15s", r.Host)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the registry (SIGTERM, SIGKILL after 5 s); the storage stays.
func (r *Registry) Stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// BlobPath is where the registry stores a blob ("sha256:…") on disk, for
// tests that tamper with content.
func (r *Registry) BlobPath(digest string) string {
	algo, hex, _ := strings.Cut(digest, ":")
	return filepath.Join(r.Dir, "docker", "registry", "v2", "blobs", algo, hex[:2], hex, "data")
}

// DockerConfig is a .dockerconfigjson document logging user in to r.
func (r *Registry) DockerConfig(user, password string) []byte {
	doc := map[string]any{"auths": map[string]any{r.Host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
	}}}
	data, _ := json.Marshal(doc)
	return data
}

// writeCertificate writes a key and a certificate for 127.0.0.1 signed by a
// new CA, and returns the CA's PEM.
func writeCertificate(t testing.TB, certFile, keyFile string) []byte {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test registry CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
