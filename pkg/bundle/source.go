package bundle

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// OCIScheme starts a registry source: "oci://HOST[:PORT]/REPO".
const OCIScheme = "oci://"

// Options say how to reach a registry. The zero value is anonymous HTTPS
// with the system's CAs (plain HTTP on loopback hosts).
type Options struct {
	// Credentials are logins by registry host.
	Credentials Credentials
	// CAPEM holds extra CA certificates (PEM) trusted beside the system
	// pool. With CAPEM set, loopback hosts are reached over HTTPS too.
	CAPEM []byte
	// Insecure allows plain HTTP to any registry host. Without it, plain
	// HTTP is used only for loopback hosts (localhost, 127.0.0.0/8, ::1),
	// as docker does.
	Insecure bool
	// VerifyKeys, when not empty, make Pull refuse a bundle that no
	// signature by one of them vouches for (ErrSignature), before its
	// layer is read.
	VerifyKeys []PublicKey
}

// Source is where bundles are published: a registry repository or an OCI
// image layout directory. Its methods are safe for concurrent use; each
// call reads the source anew (a layout directory may be written by another
// process between calls).
type Source struct {
	ref    string
	remote *remote.Repository // nil for a layout
	layout string
	keys   []PublicKey
}

// IsRemote reports whether ref names a registry repository (oci://…)
// rather than a layout directory.
func IsRemote(ref string) bool { return strings.HasPrefix(ref, OCIScheme) }

// CheckRef checks that ref is "oci://HOST[:PORT]/REPO" (no tag or digest)
// or an absolute directory path, without touching the network or the disk.
func CheckRef(ref string) error {
	if IsRemote(ref) {
		_, err := parseRemote(ref)
		return err
	}
	if !filepath.IsAbs(ref) {
		return fmt.Errorf("%w: source %q: want oci://HOST/REPO or an absolute directory path", ErrInvalidReference, ref)
	}
	return nil
}

func parseRemote(ref string) (registry.Reference, error) {
	rest := strings.TrimPrefix(ref, OCIScheme)
	r, err := registry.ParseReference(rest)
	if err != nil || r.Repository == "" {
		return registry.Reference{}, fmt.Errorf("%w: source %q: want oci://HOST[:PORT]/REPO", ErrInvalidReference, ref)
	}
	if r.Reference != "" {
		return registry.Reference{}, fmt.Errorf("%w: source %q: name the repository only; channels are tags and are chosen separately", ErrInvalidReference, ref)
	}
	return r, nil
}

// Open returns the Source ref names: "oci://HOST[:PORT]/REPO" for a
// registry, anything else for an OCI image layout directory. It does not
// contact the registry or read the directory.
func Open(ref string, opts Options) (*Source, error) {
	if !IsRemote(ref) {
		if ref == "" {
			return nil, fmt.Errorf("%w: empty source", ErrInvalidReference)
		}
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", ref, err)
		}
		return &Source{ref: ref, layout: abs, keys: opts.VerifyKeys}, nil
	}
	r, err := parseRemote(ref)
	if err != nil {
		return nil, err
	}
	client, err := httpClient(opts.CAPEM)
	if err != nil {
		return nil, err
	}
	repo := &remote.Repository{
		Reference: r,
		PlainHTTP: opts.Insecure || (isLoopback(r.Host()) && len(opts.CAPEM) == 0),
		Client: &auth.Client{
			Client:     client,
			Cache:      auth.NewCache(),
			Credential: opts.Credentials.credentialFunc(),
		},
	}
	return &Source{ref: ref, remote: repo, keys: opts.VerifyKeys}, nil
}

// String is the reference the Source was opened with.
func (s *Source) String() string { return s.ref }

func httpClient(caPEM []byte) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("registry CA: no PEM certificate found")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// target is what the operations need of a registry or a layout.
type target interface {
	oras.ReadOnlyTarget
	registry.TagLister
}

// readTarget opens the source for reading.
func (s *Source) readTarget(ctx context.Context) (target, error) {
	if s.remote != nil {
		return s.remote, nil
	}
	if _, err := os.Stat(filepath.Join(s.layout, "oci-layout")); err != nil {
		return nil, fmt.Errorf("%w: %s is not an OCI image layout directory: %w", ErrNotFound, s.layout, err)
	}
	store, err := oci.NewFromFS(ctx, os.DirFS(s.layout))
	if err != nil {
		return nil, fmt.Errorf("open layout %s: %w", s.layout, err)
	}
	return store, nil
}

// writeTarget opens the source for Push; a layout directory is created.
func (s *Source) writeTarget(ctx context.Context) (oras.Target, error) {
	if s.remote != nil {
		return s.remote, nil
	}
	store, err := oci.NewWithContext(ctx, s.layout)
	if err != nil {
		return nil, fmt.Errorf("open layout %s: %w", s.layout, err)
	}
	return store, nil
}

// tagPattern is the OCI distribution grammar of a tag.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// CheckChannel checks that a channel name can be a tag.
func CheckChannel(ch string) error {
	if !tagPattern.MatchString(ch) {
		return fmt.Errorf("%w: channel %q: want letters, digits, '_', '.' or '-' (at most 128, not starting with '.' or '-')", ErrInvalidReference, ch)
	}
	return nil
}
