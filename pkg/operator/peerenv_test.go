package operator

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestBindFlagsPeerEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		field func(Config) string
		want  string
	}{
		{name: "KUBE_CONFIG is the kubeconfig", env: map[string]string{"KUBE_CONFIG": "/peer/kubeconfig"},
			field: func(c Config) string { return c.Kubeconfig }, want: "/peer/kubeconfig"},
		{name: "KUBECONFIG wins over KUBE_CONFIG", env: map[string]string{"KUBECONFIG": "/ours", "KUBE_CONFIG": "/peer"},
			field: func(c Config) string { return c.Kubeconfig }, want: "/ours"},
		{name: "--kubeconfig wins over KUBE_CONFIG", env: map[string]string{"KUBE_CONFIG": "/peer"}, args: []string{"--kubeconfig", "/flag"},
			field: func(c Config) string { return c.Kubeconfig }, want: "/flag"},
		{name: "DEBUG_UNIX_SOCKET is the debug socket", env: map[string]string{"DEBUG_UNIX_SOCKET": "/run/peer/debug.socket"},
			field: func(c Config) string { return c.Debug.Socket }, want: "/run/peer/debug.socket"},
		{name: "ADDON_OPERATOR_DEBUG_SOCKET wins over DEBUG_UNIX_SOCKET", env: map[string]string{"DEBUG_UNIX_SOCKET": "/peer.socket", "ADDON_OPERATOR_DEBUG_SOCKET": "/ours.socket"},
			field: func(c Config) string { return c.Debug.Socket }, want: "/ours.socket"},
		{name: "--debug-socket wins over DEBUG_UNIX_SOCKET", env: map[string]string{"DEBUG_UNIX_SOCKET": "/peer.socket"}, args: []string{"--debug-socket", "/flag.socket"},
			field: func(c Config) string { return c.Debug.Socket }, want: "/flag.socket"},
		{name: "KUBE_CLIENT_QPS is the client's QPS", env: map[string]string{"KUBE_CLIENT_QPS": "7.5"},
			field: func(c Config) string { return fmt.Sprint(c.KubeQPS) }, want: "7.5"},
		{name: "--kube-client-qps wins over KUBE_CLIENT_QPS", env: map[string]string{"KUBE_CLIENT_QPS": "7.5"}, args: []string{"--kube-client-qps", "20"},
			field: func(c Config) string { return fmt.Sprint(c.KubeQPS) }, want: "20"},
		{name: "KUBE_CLIENT_BURST is the client's burst", env: map[string]string{"KUBE_CLIENT_BURST": "15"},
			field: func(c Config) string { return fmt.Sprint(c.KubeBurst) }, want: "15"},
		{name: "--kube-client-burst wins over KUBE_CLIENT_BURST", env: map[string]string{"KUBE_CLIENT_BURST": "15"}, args: []string{"--kube-client-burst=30"},
			field: func(c Config) string { return fmt.Sprint(c.KubeBurst) }, want: "30"},
		{name: "client defaults without the peer's variables",
			field: func(c Config) string { return fmt.Sprint(c.KubeQPS, c.KubeBurst) }, want: "50 100"},
		{name: "LOG_TYPE=color is a log format", env: map[string]string{"LOG_TYPE": "color"},
			field: func(c Config) string { return c.LogFormat }, want: "color"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"KUBECONFIG", "KUBE_CONFIG", "DEBUG_UNIX_SOCKET", "ADDON_OPERATOR_DEBUG_SOCKET", "LOG_TYPE", "KUBE_CLIENT_QPS", "KUBE_CLIENT_BURST"} {
				setenv(t, k, tt.env)
			}
			var cfg Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			cfg.BindFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("parse %v: %v", tt.args, err)
			}
			if cfg.envErr != nil {
				t.Fatalf("environment: %v", cfg.envErr)
			}
			if got := tt.field(cfg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBindFlagsPeerEnvInvalid(t *testing.T) {
	t.Setenv("KUBE_CLIENT_QPS", "fast")
	t.Setenv("KUBE_CLIENT_BURST", "1.5")
	var cfg Config
	cfg.BindFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	if cfg.envErr == nil || !strings.Contains(cfg.envErr.Error(), `KUBE_CLIENT_QPS="fast" (--kube-client-qps)`) ||
		!strings.Contains(cfg.envErr.Error(), `KUBE_CLIENT_BURST="1.5" (--kube-client-burst)`) {
		t.Errorf("want an error naming both variables and their flags, got %v", cfg.envErr)
	}
}

// setenv sets k to env[k] for the test, or unsets it when env has no k.
func setenv(t *testing.T, k string, env map[string]string) {
	t.Helper()
	t.Setenv(k, "") // restores the old value after the test
	if v, ok := env[k]; ok {
		t.Setenv(k, v)
		return
	}
	os.Unsetenv(k)
}

func TestWarnPeerEnv(t *testing.T) {
	tests := []struct {
		variable    string
		replacement string
	}{
		{variable: "KUBE_CONTEXT", replacement: "current-context"},
		{variable: "ADDON_OPERATOR_PROMETHEUS_METRICS_PREFIX", replacement: "prefix addon_operator_"},
		{variable: "UNNUMBERED_MODULE_ORDER", replacement: "NNN- prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			warnPeerEnv(log, func(name string) (string, bool) { return "1", name == tt.variable })
			out := buf.String()
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, "level=WARN") ||
				!strings.Contains(out, "variable="+tt.variable+" ") || !strings.Contains(out, tt.replacement) {
				t.Errorf("want one warning naming %s and %q, got:\n%s", tt.variable, tt.replacement, out)
			}
		})
	}
	t.Run("the prefix we use anyway, nothing logged", func(t *testing.T) {
		var buf bytes.Buffer
		warnPeerEnv(slog.New(slog.NewTextHandler(&buf, nil)), func(name string) (string, bool) {
			return "addon_operator_", name == "ADDON_OPERATOR_PROMETHEUS_METRICS_PREFIX"
		})
		if buf.Len() != 0 {
			t.Errorf("want no log, got:\n%s", buf.String())
		}
	})
	t.Run("nothing set, nothing logged", func(t *testing.T) {
		var buf bytes.Buffer
		warnPeerEnv(slog.New(slog.NewTextHandler(&buf, nil)), func(string) (string, bool) { return "", false })
		if buf.Len() != 0 {
			t.Errorf("want no log, got:\n%s", buf.String())
		}
	})
}

func TestNewLoggerColor(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "color")
	if err != nil {
		t.Fatalf("LOG_TYPE=color: %v", err)
	}
	log.Error("boom", "module", "m")
	if out := buf.String(); strings.Contains(out, "\x1b[") || !strings.Contains(out, "level=ERROR msg=boom module=m") {
		t.Errorf("want plain text when not a terminal, got %q", out)
	}
}

func TestColorWriter(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{line: "time=t level=ERROR msg=boom\n", want: "\x1b[31mtime=t level=ERROR msg=boom\x1b[0m\n"},
		{line: "time=t level=WARN msg=hm\n", want: "\x1b[33mtime=t level=WARN msg=hm\x1b[0m\n"},
		{line: "time=t level=INFO msg=ok\n", want: "time=t level=INFO msg=ok\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		n, err := colorWriter{w: &buf}.Write([]byte(tt.line))
		if err != nil || n != len(tt.line) || buf.String() != tt.want {
			t.Errorf("Write(%q) = %d, %v, %q; want %d, nil, %q", tt.line, n, err, buf.String(), len(tt.line), tt.want)
		}
	}
}
