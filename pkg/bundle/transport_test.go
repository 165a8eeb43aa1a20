package bundle_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seedops/addon-operator/pkg/bundle"
)

// faultyRegistry serves the manifests and blobs of an OCI layout directory
// over the registry API (by digest only), and spoils the layer's download
// the way its fault says.
type faultyRegistry struct {
	layout string
	layer  string

	mu    sync.Mutex
	fault string
}

func (f *faultyRegistry) setFault(fault string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

func (f *faultyRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/" {
		return
	}
	i := strings.LastIndex(r.URL.Path, "/")
	dgst := r.URL.Path[i+1:]
	algo, hex, ok := strings.Cut(dgst, ":")
	if !ok {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join(f.layout, "blobs", algo, hex))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if strings.Contains(r.URL.Path, "/manifests/") {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	}
	w.Header().Set("Docker-Content-Digest", dgst)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	if dgst != f.layer || r.Method == http.MethodHead {
		_, _ = w.Write(data)
		return
	}
	switch fault {
	case "cut":
		// Half the body, then the connection ends: a short read.
		_, _ = w.Write(data[:len(data)/2])
		panic(http.ErrAbortHandler)
	case "reset":
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
		conn.Close()
	case "503":
		w.Header().Del("Content-Length")
		http.Error(w, "registry overloaded", http.StatusServiceUnavailable)
	case "tampered":
		bad := append([]byte(nil), data...)
		bad[len(bad)/2] ^= 0xff
		_, _ = w.Write(bad)
	default:
		_, _ = w.Write(data)
	}
}

// A layer download cut short is a transport error, never a digest
// mismatch; only the whole content with another digest is one.
func TestPullTransportErrorsAreNotMismatches(t *testing.T) {
	ctx := context.Background()
	layout := filepath.Join(t.TempDir(), "layout")
	lsrc, err := bundle.Open(layout, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := lsrc.Push(ctx, testBundle(t, "v1"), bundle.PushOptions{Version: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	reg := &faultyRegistry{layout: layout}
	reg.layer = layerDigest(t, place{blob: func(d string) string {
		algo, hex, _ := strings.Cut(d, ":")
		return filepath.Join(layout, "blobs", algo, hex)
	}}, meta.Digest)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	src, err := bundle.Open("oci://"+srv.Listener.Addr().String()+"/addons/bundle", bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		fault    string
		mismatch bool
	}{
		{"cut", false},
		{"reset", false},
		{"503", false},
		{"tampered", true},
		{"", false},
	}
	for _, tt := range tests {
		t.Run("fault "+tt.fault, func(t *testing.T) {
			reg.setFault(tt.fault)
			_, err := src.Pull(ctx, meta.Digest, t.TempDir())
			if tt.fault == "" {
				if err != nil {
					t.Fatalf("Pull without a fault: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Pull succeeded")
			}
			if got := errors.Is(err, bundle.ErrDigestMismatch); got != tt.mismatch {
				t.Errorf("Pull = %v; digest mismatch %v, want %v", err, got, tt.mismatch)
			}
			for _, permanent := range []error{bundle.ErrNotBundle, bundle.ErrUnsafePath, bundle.ErrNotFound} {
				if errors.Is(err, permanent) {
					t.Errorf("Pull = %v, which says %v", err, permanent)
				}
			}
		})
	}
}
