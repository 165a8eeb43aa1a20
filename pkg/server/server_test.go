package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedops/addon-operator/test/logbuf"
	"github.com/seedops/addon-operator/test/poll"
)

// fixture is a server whose readiness the test switches, with one metric
// in each registry.
type fixture struct {
	srv      *Server
	notReady atomic.Pointer[error]
}

func newFixture(t *testing.T, log *slog.Logger) *fixture {
	t.Helper()
	own := prometheus.NewRegistry()
	ticks := prometheus.NewCounter(prometheus.CounterOpts{Name: "addon_operator_live_ticks", Help: "Ticks."})
	ticks.Add(3)
	own.MustRegister(ticks)
	hooks := prometheus.NewRegistry()
	nodes := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cluster_nodes", Help: "Nodes a hook counted."})
	nodes.Set(5)
	hooks.MustRegister(nodes)

	f := &fixture{}
	notReady := errors.New("first converge not finished")
	f.notReady.Store(&notReady)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f.srv = New(Config{Address: "127.0.0.1", Port: "0"}, own, hooks, func() error {
		if p := f.notReady.Load(); p != nil {
			return *p
		}
		return nil
	}, log)
	return f
}

func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.srv.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name        string
		path        string
		ready       bool
		wantCode    int
		wantBody    []string // substrings
		notWantBody []string
	}{
		{name: "healthz before ready", path: "/healthz", wantCode: 200, wantBody: []string{"ok\n"}},
		{name: "readyz before ready", path: "/readyz", wantCode: 503, wantBody: []string{"not ready: first converge not finished"}},
		{name: "readyz after ready", path: "/readyz", ready: true, wantCode: 200, wantBody: []string{"ok\n"}},
		{name: "metrics: the operator's own", path: "/metrics", wantCode: 200,
			wantBody: []string{"# TYPE addon_operator_live_ticks counter", "addon_operator_live_ticks 3"}, notWantBody: []string{"cluster_nodes"}},
		{name: "metrics/hooks: the hooks'", path: "/metrics/hooks", wantCode: 200,
			wantBody: []string{"# TYPE cluster_nodes gauge", "cluster_nodes 5"}, notWantBody: []string{"addon_operator_live_ticks"}},
		{name: "unknown path", path: "/nope", wantCode: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if tc.ready {
				f.notReady.Store(nil)
			}
			code, body := f.get(t, tc.path)
			if code != tc.wantCode {
				t.Errorf("GET %s: status %d, want %d; body %q", tc.path, code, tc.wantCode, body)
			}
			for _, s := range tc.wantBody {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s: body %q lacks %q", tc.path, body, s)
				}
			}
			for _, s := range tc.notWantBody {
				if strings.Contains(body, s) {
					t.Errorf("GET %s: body has %q, which belongs to the other endpoint", tc.path, s)
				}
			}
		})
	}
}

func TestReadyzFollowsReadinessOnEachRequest(t *testing.T) {
	f := newFixture(t, nil)
	var got []int
	code, _ := f.get(t, "/readyz")
	got = append(got, code)
	f.notReady.Store(nil)
	code, _ = f.get(t, "/readyz")
	got = append(got, code)
	lost := errors.New("leadership lost")
	f.notReady.Store(&lost)
	code, body := f.get(t, "/readyz")
	got = append(got, code)
	if diff := cmp.Diff([]int{503, 200, 503}, got); diff != "" {
		t.Errorf("readyz statuses (-want +got):\n%s", diff)
	}
	if !strings.Contains(body, "leadership lost") {
		t.Errorf("readyz body %q, want the reason", body)
	}
}

func TestHandleAddsAnEndpoint(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Handle("/validate", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("validated"))
	}))
	code, body := f.get(t, "/validate")
	if diff := cmp.Diff([]any{200, "validated"}, []any{code, body}); diff != "" {
		t.Errorf("GET /validate (-want +got):\n%s", diff)
	}
}

func TestStartServesUntilItsContextEnds(t *testing.T) {
	logs := &logbuf.Buffer{}
	f := newFixture(t, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.srv.Start(ctx) }()

	// Port 0: the server logs the address it got.
	addrRe := regexp.MustCompile(`address=(\S+)`)
	var addr string
	poll.Until(t, 5*time.Millisecond, 5*time.Second, "the server to log its address", func() error {
		m := addrRe.FindStringSubmatch(logs.String())
		if m == nil {
			return fmt.Errorf("no address in the log: %s", logs.String())
		}
		addr = m[1]
		return nil
	})
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if diff := cmp.Diff([]any{200, "ok\n"}, []any{resp.StatusCode, string(body)}); diff != "" {
		t.Errorf("GET /healthz (-want +got):\n%s", diff)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start returned %v, want nil after its ctx ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after its ctx ended")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the server still accepts connections after Start returned")
	}
}

func TestStartFailsWhenThePortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := New(Config{Address: "127.0.0.1", Port: port}, prometheus.NewRegistry(), prometheus.NewRegistry(), func() error { return nil }, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), port) {
		t.Errorf("Start on a taken port = %v, want an error naming the address", err)
	}
}

func TestBindFlagsDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"defaults", nil, Config{Address: "0.0.0.0", Port: "9650"}},
		{"environment", map[string]string{"ADDON_OPERATOR_LISTEN_ADDRESS": "127.0.0.1", "ADDON_OPERATOR_LISTEN_PORT": "9115"}, Config{Address: "127.0.0.1", Port: "9115"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ADDON_OPERATOR_LISTEN_ADDRESS", "")
			t.Setenv("ADDON_OPERATOR_LISTEN_PORT", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var c Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			c.BindFlags(fs)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
