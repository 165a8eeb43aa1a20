package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestIssue(t *testing.T) {
	hosts := []string{"addon-operator-webhook.addons.svc", "127.0.0.1"}
	b, err := issue(hosts, t0, 365*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		t.Fatalf("tls.crt and tls.key do not pair: %v", err)
	}
	leaf := pair.Leaf
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("serving key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if got, want := leaf.NotAfter, t0.Add(365*24*time.Hour); !got.Equal(want) {
		t.Errorf("NotAfter = %s, want %s", got, want)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CA) {
		t.Fatal("ca.crt holds no certificate")
	}
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", h, err)
		}
	}
	if err := b.check(hosts, t0, 30*24*time.Hour); err != nil {
		t.Errorf("a fresh certificate needs replacing: %v", err)
	}
}

func TestCheck(t *testing.T) {
	hosts := []string{"svc.ns.svc"}
	good, err := issue(hosts, t0, 365*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := issue(hosts, t0, 365*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		b     certBundle
		hosts []string
		now   time.Time
		want  error
	}{
		{name: "good", b: good, hosts: hosts, now: t0.Add(300 * 24 * time.Hour)},
		{name: "missing", b: certBundle{}, hosts: hosts, now: t0, want: errCertMissing},
		{name: "key of another certificate", b: certBundle{CA: good.CA, Cert: good.Cert, Key: other.Key}, hosts: hosts, now: t0, want: errCertMissing},
		{name: "30 days left", b: good, hosts: hosts, now: t0.Add(335*24*time.Hour + time.Minute), want: errCertExpiring},
		{name: "expired", b: good, hosts: hosts, now: t0.Add(400 * 24 * time.Hour), want: errCertExpiring},
		{name: "from the future", b: good, hosts: hosts, now: t0.Add(-2 * time.Hour), want: errCertNotYet},
		{name: "another host", b: good, hosts: []string{"svc.other.svc"}, now: t0, want: errCertHosts},
		{name: "ca.crt of another CA", b: certBundle{CA: other.CA, Cert: good.Cert, Key: good.Key}, hosts: hosts, now: t0, want: errCertUntrusted},
		{name: "no ca.crt", b: certBundle{Cert: good.Cert, Key: good.Key}, hosts: hosts, now: t0, want: errCertUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.check(tt.hosts, tt.now, 30*24*time.Hour)
			if tt.want == nil && err != nil {
				t.Fatalf("check = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("check = %v, want %v", err, tt.want)
			}
		})
	}
}

// A renewed bundle keeps trusting the previous CA while it is valid, so a
// replica still serving the previous certificate stays trusted until it
// reloads; expired CAs are dropped.
func TestIssueKeepsPreviousCA(t *testing.T) {
	hosts := []string{"svc.ns.svc"}
	first, err := issue(hosts, t0, 365*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	renewAt := t0.Add(340 * 24 * time.Hour)
	second, err := issue(hosts, renewAt, 365*24*time.Hour, first.CA)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(parseCerts(second.CA)); got != 2 {
		t.Fatalf("renewed ca.crt holds %d certificates, want the new and the previous CA", got)
	}
	oldLeaf, err := tls.X509KeyPair(first.Cert, first.Key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(second.CA)
	if _, err := oldLeaf.Leaf.Verify(x509.VerifyOptions{DNSName: hosts[0], Roots: pool, CurrentTime: renewAt}); err != nil {
		t.Errorf("the previous certificate is not trusted by the renewed ca.crt: %v", err)
	}
	third, err := issue(hosts, t0.Add(366*24*time.Hour), 365*24*time.Hour, second.CA)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(parseCerts(third.CA)); got != 2 {
		t.Errorf("ca.crt holds %d certificates after the first CA expired, want 2 (the new one and the second)", got)
	}
}
