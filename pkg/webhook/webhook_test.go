package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/test/stepclock"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The webhook registers itself with the CA it serves, answers over TLS, and
// serves a renewed certificate on new connections without a restart.
func TestWebhookServesAndRotates(t *testing.T) {
	client := fake.NewClientset()
	clk := stepclock.New(time.Now())
	port := freePort(t)
	url := "https://127.0.0.1:" + strconv.Itoa(port) + Path
	cfg := Config{Enabled: true, Address: "127.0.0.1", Port: port, URL: url, CertValidity: DefaultCertValidity, RotateBefore: DefaultRotateBefore, CheckInterval: 20 * time.Millisecond}
	w, err := New(cfg, Deps{Client: client, Schemas: fakeSchemas{}, Store: configstore.Config{Namespace: testNS}, Log: discardLog(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start = %v after cancel, want nil", err)
		}
	}()

	// checked waits until n checks are done: after each, the loop sets its
	// timer.
	checked := func(n int) {
		t.Helper()
		if !clk.Await(func() bool { return len(clk.Timers()) >= n }) {
			t.Fatalf("%d checks not done", n)
		}
	}
	checked(1)
	vwcs := client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	vwc, err := vwcs.Get(context.Background(), "addon-operator-"+testNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vwc.Webhooks) != 1 || len(vwc.Webhooks[0].ClientConfig.CABundle) == 0 {
		t.Fatalf("webhooks %+v, want one with a caBundle", vwc.Webhooks)
	}
	hook := vwc.Webhooks[0]
	if diff := cmp.Diff(url, *hook.ClientConfig.URL); diff != "" {
		t.Errorf("clientConfig.url (-want +got):\n%s", diff)
	}
	if *hook.FailurePolicy != admissionregistrationv1.Ignore || *hook.SideEffects != admissionregistrationv1.SideEffectClassNone || *hook.TimeoutSeconds != 5 {
		t.Errorf("failurePolicy %s, sideEffects %s, timeout %d; want Ignore, None, 5", *hook.FailurePolicy, *hook.SideEffects, *hook.TimeoutSeconds)
	}
	if diff := cmp.Diff("object.metadata.name in ['addon-operator', 'addon-operator-secrets']", hook.MatchConditions[0].Expression); diff != "" {
		t.Errorf("match condition (-want +got):\n%s", diff)
	}

	// connect dials new connections trusting the registered caBundle (at the
	// test's clock) and returns the served certificate's serial and the
	// review's answer.
	connect := func() (string, bool, error) {
		t.Helper()
		cur, err := vwcs.Get(context.Background(), "addon-operator-"+testNS, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(cur.Webhooks[0].ClientConfig.CABundle)
		var serial string
		tlsCfg := &tls.Config{RootCAs: pool, Time: clk.Now, VerifyConnection: func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}}
		tr := &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := tryPost(hc, url, reviewFor(t, configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes"}), nil))
		if err != nil {
			return "", false, err
		}
		return serial, resp.Allowed, nil
	}
	if _, err := w.certs.getCertificate(nil); err != nil {
		t.Fatal(err)
	}
	first, ok, err := connect()
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Error("a bad enabled flag was allowed over TLS")
	}

	clk.SetTime(clk.Now().Add(DefaultCertValidity - DefaultRotateBefore + time.Hour))
	checked(2)
	serial, _, err := connect()
	if err != nil {
		t.Fatal(err)
	}
	if serial == first {
		t.Error("still serving the certificate that expires within --webhook-cert-rotate-before")
	}
}

func TestNewChecksConfig(t *testing.T) {
	base := Config{Enabled: true, Address: "0.0.0.0", Port: DefaultPort, Service: DefaultService, CertValidity: DefaultCertValidity, RotateBefore: DefaultRotateBefore}
	tests := []struct {
		name   string
		change func(*Config)
		store  configstore.Config
		want   error
	}{
		{name: "defaults", change: func(*Config) {}, store: configstore.Config{Namespace: testNS}},
		{name: "no namespace", change: func(*Config) {}, want: configstore.ErrNoNamespace},
		{name: "http url", change: func(c *Config) { c.URL = "http://127.0.0.1:9443" + Path }, store: configstore.Config{Namespace: testNS}, want: ErrBadConfig},
		{name: "url with a query", change: func(c *Config) { c.URL = "https://127.0.0.1:9443" + Path + "?a=b" }, store: configstore.Config{Namespace: testNS}, want: ErrBadConfig},
		{name: "no service and no url", change: func(c *Config) { c.Service = "" }, store: configstore.Config{Namespace: testNS}, want: ErrBadConfig},
		{name: "rotation longer than validity", change: func(c *Config) { c.RotateBefore = 2 * c.CertValidity }, store: configstore.Config{Namespace: testNS}, want: ErrBadConfig},
		{name: "bad port", change: func(c *Config) { c.Port = 70000 }, store: configstore.Config{Namespace: testNS}, want: ErrBadConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			_, err := New(cfg, Deps{Client: fake.NewClientset(), Schemas: fakeSchemas{}, Store: tt.store, Log: discardLog()})
			if !errors.Is(err, tt.want) {
				t.Errorf("New = %v, want %v", err, tt.want)
			}
		})
	}
}

// In the cluster the certificate is issued for the Service's DNS names and
// the configuration calls the Service.
func TestServiceTarget(t *testing.T) {
	cfg := Config{Port: DefaultPort, Service: "hook", CertValidity: DefaultCertValidity, RotateBefore: DefaultRotateBefore}
	w, err := New(cfg, Deps{Client: fake.NewClientset(), Schemas: fakeSchemas{}, Store: configstore.Config{Namespace: "ops", ConfigMap: "cfg"}, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hook", "hook.ops", "hook.ops.svc", "hook.ops.svc.cluster.local"}, w.certs.hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	got := w.target.configuration([]byte("CA")).Webhooks[0]
	svc := got.ClientConfig.Service
	if svc == nil || svc.Namespace != "ops" || svc.Name != "hook" || *svc.Path != Path || *svc.Port != 443 || got.ClientConfig.URL != nil {
		t.Errorf("clientConfig = %+v, want the Service ops/hook port 443 path %s", got.ClientConfig, Path)
	}
	if diff := cmp.Diff(map[string]string{"kubernetes.io/metadata.name": "ops"}, got.NamespaceSelector.MatchLabels); diff != "" {
		t.Errorf("namespaceSelector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("object.metadata.name in ['cfg', 'cfg-secrets']", got.MatchConditions[0].Expression); diff != "" {
		t.Errorf("match condition (-want +got):\n%s", diff)
	}
}
