package webhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

var testHosts = []string{"addon-operator-webhook.addons.svc"}

func newCerts(client kubernetes.Interface, clk *clocktesting.FakeClock, hosts []string) *certs {
	return &certs{
		client: client, namespace: testNS, secret: DefaultTLSSecret, hosts: hosts,
		validity: DefaultCertValidity, rotateBefore: DefaultRotateBefore, now: clk.Now, log: discardLog(),
	}
}

func storedBundle(t *testing.T, client kubernetes.Interface) (certBundle, *corev1.Secret) {
	t.Helper()
	s, err := client.CoreV1().Secrets(testNS).Get(context.Background(), DefaultTLSSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return bundleFromData(s.Data), s
}

func served(t *testing.T, c *certs) *x509.Certificate {
	t.Helper()
	cert, err := c.getCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf
}

func writes(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			n++
		}
	}
	return n
}

func TestCertsLifecycle(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	clk := clocktesting.NewFakeClock(t0)
	c := newCerts(client, clk, testHosts)

	if _, err := c.getCertificate(nil); err == nil {
		t.Fatal("a certificate is served before the first sync")
	}
	ca, err := syncCerts(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	first, sec := storedBundle(t, client)
	if sec.Type != corev1.SecretTypeTLS {
		t.Errorf("secret type = %s, want %s", sec.Type, corev1.SecretTypeTLS)
	}
	if !bytes.Equal(ca, first.CA) {
		t.Error("sync returned another CA bundle than the secret's ca.crt")
	}
	if !bytes.Equal(served(t, c).Raw, parseCerts(first.Cert)[0].Raw) {
		t.Error("the served certificate is not the secret's")
	}

	t.Run("a good certificate is kept", func(t *testing.T) {
		before := writes(client)
		clk.SetTime(t0.Add(300 * 24 * time.Hour))
		if _, err := syncCerts(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got := writes(client) - before; got != 0 {
			t.Errorf("%d writes for a good certificate, want none", got)
		}
		if now, _ := storedBundle(t, client); !bytes.Equal(now.Cert, first.Cert) {
			t.Error("the certificate changed")
		}
	})

	t.Run("renewed 30 days before expiry and reloaded", func(t *testing.T) {
		clk.SetTime(t0.Add(336 * 24 * time.Hour))
		ca, err := syncCerts(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		renewed, _ := storedBundle(t, client)
		if bytes.Equal(renewed.Cert, first.Cert) {
			t.Fatal("the certificate was not renewed")
		}
		if !bytes.Equal(served(t, c).Raw, parseCerts(renewed.Cert)[0].Raw) {
			t.Error("the renewed certificate is not served")
		}
		if got := served(t, c).NotAfter; !got.Equal(clk.Now().Add(DefaultCertValidity)) {
			t.Errorf("renewed certificate expires %s", got)
		}
		if diff := cmp.Diff(2, len(parseCerts(ca))); diff != "" {
			t.Errorf("CAs in the bundle (-want +got):\n%s", diff)
		}
	})

	t.Run("an expired certificate is replaced", func(t *testing.T) {
		clk.SetTime(t0.Add(3 * 365 * 24 * time.Hour))
		if _, err := syncCerts(ctx, c); err != nil {
			t.Fatal(err)
		}
		if got := served(t, c); !clk.Now().Before(got.NotAfter) {
			t.Errorf("served certificate expired on %s", got.NotAfter)
		}
		b, _ := storedBundle(t, client)
		if diff := cmp.Diff(1, len(parseCerts(b.CA))); diff != "" {
			t.Errorf("CAs in the bundle, expired ones dropped (-want +got):\n%s", diff)
		}
	})

	t.Run("a certificate without the service name is replaced", func(t *testing.T) {
		c2 := newCerts(client, clk, []string{"other.addons.svc"})
		if _, err := syncCerts(ctx, c2); err != nil {
			t.Fatal(err)
		}
		if err := served(t, c2).VerifyHostname("other.addons.svc"); err != nil {
			t.Error(err)
		}
	})
}

func TestCertsRepairsSecret(t *testing.T) {
	tests := []struct {
		name   string
		stored *corev1.Secret
	}{
		{name: "garbage", stored: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: DefaultTLSSecret, Namespace: testNS},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{keyCert: []byte("nope"), keyKey: []byte("nope")},
		}},
		{name: "empty opaque secret", stored: &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: DefaultTLSSecret, Namespace: testNS},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.stored)
			c := newCerts(client, clocktesting.NewFakeClock(t0), testHosts)
			if _, err := syncCerts(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			b, _ := storedBundle(t, client)
			if err := b.check(testHosts, t0, DefaultRotateBefore); err != nil {
				t.Errorf("stored certificate after repair: %v", err)
			}
		})
	}
}

// Two replicas share one certificate: the one that loses the race to create
// or renew takes the winner's. The winner's writes go straight to the
// fake's tracker (its reactors must not call the client again).
func TestCertsReplicasShare(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	clk := clocktesting.NewFakeClock(t0)
	c := newCerts(client, clk, testHosts)
	secrets := corev1.SchemeGroupVersion.WithResource("secrets")
	winner := func(now time.Time) certBundle {
		b, err := issue(testHosts, now, DefaultCertValidity, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// The other replica creates between our read and our create.
	var created certBundle
	notFoundOnce := sync.Once{}
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		handled := false
		notFoundOnce.Do(func() { handled = true })
		if !handled {
			return false, nil, nil
		}
		created = winner(clk.Now())
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: DefaultTLSSecret, Namespace: testNS}, Type: corev1.SecretTypeTLS, Data: created.data()}
		if err := client.Tracker().Create(secrets, s, testNS); err != nil {
			t.Error(err)
		}
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, DefaultTLSSecret)
	})
	if _, err := syncCerts(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served(t, c).Raw, parseCerts(created.Cert)[0].Raw) {
		t.Error("after a lost create race the replica does not serve the winner's certificate")
	}

	// The other replica renews between our read and our update.
	clk.SetTime(t0.Add(340 * 24 * time.Hour))
	var renewed certBundle
	conflictOnce := sync.Once{}
	client.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		handled := false
		conflictOnce.Do(func() { handled = true })
		if !handled {
			return false, nil, nil
		}
		renewed = winner(clk.Now())
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: DefaultTLSSecret, Namespace: testNS}, Type: corev1.SecretTypeTLS, Data: renewed.data()}
		if err := client.Tracker().Update(secrets, s, testNS); err != nil {
			t.Error(err)
		}
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, DefaultTLSSecret, nil)
	})
	if _, err := syncCerts(ctx, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served(t, c).Raw, parseCerts(renewed.Cert)[0].Raw) {
		t.Error("after a lost renewal race the replica does not serve the winner's certificate")
	}
}

// syncCerts does the certificate part of a check: ensure, then load; it
// returns the CA bundle.
func syncCerts(ctx context.Context, c *certs) ([]byte, error) {
	b, err := c.ensure(ctx)
	if err != nil {
		return nil, err
	}
	return b.CA, c.load(b)
}
