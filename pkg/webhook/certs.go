package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// syncAttempts bounds the read-decide-write rounds of one ensure that lose a
// race with another replica.
const syncAttempts = 5

// errNoCertificate: GetCertificate before the first successful load.
var errNoCertificate = errors.New("webhook serving certificate not loaded yet")

// certs keeps the serving certificate in the TLS Secret that all replicas
// share, and the one this replica serves. ensure and load may be called
// from one goroutine at a time; getCertificate is safe for concurrent use.
type certs struct {
	client       kubernetes.Interface
	namespace    string
	secret       string
	hosts        []string
	validity     time.Duration
	rotateBefore time.Duration
	now          func() time.Time
	log          *slog.Logger

	serving atomic.Pointer[tls.Certificate]
	loaded  []byte // tls.crt of serving; load's goroutine only
}

// ensure makes the Secret hold a certificate good for the hosts and longer
// than rotateBefore, creating or renewing it when needed, and returns the
// Secret's bundle. It does not serve it: the caller first makes the API
// server trust the bundle's CAs, then calls load. A replica that loses the
// race to create or renew (AlreadyExists, Conflict) takes the winner's
// certificate.
func (c *certs) ensure(ctx context.Context) (certBundle, error) {
	secrets := c.client.CoreV1().Secrets(c.namespace)
	var lastErr error
	for range syncAttempts {
		now := c.now()
		sec, err := secrets.Get(ctx, c.secret, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			b, err := issue(c.hosts, now, c.validity, nil)
			if err != nil {
				return certBundle{}, err
			}
			_, err = secrets.Create(ctx, c.newSecret(b), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				lastErr = err
				continue
			}
			if err != nil {
				return certBundle{}, fmt.Errorf("create secret %s/%s: %w", c.namespace, c.secret, err)
			}
			c.log.Info("webhook certificate issued", "secret", c.secret, "reason", errCertMissing.Error())
			return b, nil
		case err != nil:
			return certBundle{}, fmt.Errorf("read secret %s/%s: %w", c.namespace, c.secret, err)
		}
		cur := bundleFromData(sec.Data)
		why := cur.check(c.hosts, now, c.rotateBefore)
		if why == nil {
			return cur, nil
		}
		b, err := issue(c.hosts, now, c.validity, cur.CA)
		if err != nil {
			return certBundle{}, err
		}
		next := sec.DeepCopy()
		next.Data = b.data()
		next.Type = corev1.SecretTypeTLS
		_, err = secrets.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			lastErr = err
			continue
		}
		if apierrors.IsInvalid(err) && sec.Type != corev1.SecretTypeTLS {
			// The type of a Secret cannot change: replace it.
			err = secrets.Delete(ctx, c.secret, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &sec.ResourceVersion}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return certBundle{}, fmt.Errorf("replace secret %s/%s of type %s: %w", c.namespace, c.secret, sec.Type, err)
			}
			lastErr = err
			continue
		}
		if err != nil {
			return certBundle{}, fmt.Errorf("update secret %s/%s: %w", c.namespace, c.secret, err)
		}
		c.log.Info("webhook certificate renewed", "secret", c.secret, "reason", why.Error())
		return b, nil
	}
	return certBundle{}, fmt.Errorf("secret %s/%s: changed by others %d times in a row: %w", c.namespace, c.secret, syncAttempts, lastErr)
}

// load serves b's certificate from now on when it is not the one served.
func (c *certs) load(b certBundle) error {
	if c.serving.Load() != nil && bytes.Equal(c.loaded, b.Cert) {
		return nil
	}
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		return fmt.Errorf("load webhook certificate: %w", err)
	}
	c.serving.Store(&pair)
	c.loaded = b.Cert
	c.log.Info("webhook certificate loaded", "secret", c.secret, "expires", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// getCertificate is tls.Config.GetCertificate: the certificate loaded last.
func (c *certs) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.serving.Load(); cert != nil {
		return cert, nil
	}
	return nil, errNoCertificate
}

func (c *certs) newSecret(b certBundle) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      c.secret,
			Namespace: c.namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": "addon-operator", "app.kubernetes.io/component": "webhook"},
		},
		Type: corev1.SecretTypeTLS,
		Data: b.data(),
	}
}
