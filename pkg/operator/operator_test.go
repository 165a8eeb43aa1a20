package operator

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/test/poll"
)

// A hook's --config may take up to --hook-timeout: /healthz answers while
// it runs, so that the startup probe does not restart the operator, and
// /readyz says the operator is still starting.
func TestHealthzWhileHooksLoad(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "config-running")
	bundle := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "global: {}\n"),
		moduletest.Script("global-hooks/slow.sh", "#!/bin/sh\nif [ \"$1\" = --config ]; then touch '"+marker+"'; exec sleep 600; fi\nexit 1\n"),
	)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	// Nothing of the start before the hooks' configurations talks to it.
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	cfg.Kubeconfig = kubeconfig
	cfg.BundleDir = bundle
	cfg.Store.Namespace = "ops"
	cfg.Hook.TmpDir = t.TempDir()
	cfg.Server.Address, cfg.Server.Port = "127.0.0.1", freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	poll.True(t, 20*time.Millisecond, 30*time.Second, "the hook's --config to run", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned while the hook's --config runs: %v", err)
		default:
		}
		_, err := os.Stat(marker)
		return err == nil
	})

	base := "http://" + net.JoinHostPort(cfg.Server.Address, cfg.Server.Port)
	for _, tt := range []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/healthz", http.StatusOK, "ok"},
		{"/readyz", http.StatusServiceUnavailable, "not ready: starting: loading hooks"},
	} {
		code, body := get(t, base+tt.path)
		if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
			t.Errorf("GET %s while hooks load: %d %q, want %d with %q", tt.path, code, body, tt.wantCode, tt.wantBody)
		}
	}

	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
