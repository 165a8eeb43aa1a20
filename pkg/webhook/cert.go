package webhook

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Keys of the TLS Secret (type kubernetes.io/tls).
const (
	keyCA   = "ca.crt"
	keyCert = "tls.crt"
	keyKey  = "tls.key"
)

// backdate is how far NotBefore lies in the past, for clocks that lag.
const backdate = time.Hour

// Why a certificate must be replaced (see certBundle.check).
var (
	errCertMissing   = errors.New("certificate missing or unreadable")
	errCertExpiring  = errors.New("certificate expires soon")
	errCertNotYet    = errors.New("certificate not valid yet")
	errCertHosts     = errors.New("certificate lacks a host name")
	errCertUntrusted = errors.New("certificate not signed by a CA of ca.crt")
)

// certBundle is the PEM content of the TLS Secret: the serving certificate
// and key, and the CAs the API server is to trust (the one that signed the
// certificate first, then earlier CAs that are still valid, so that a
// replica still serving the previous certificate is trusted until it has
// reloaded).
type certBundle struct {
	CA   []byte
	Cert []byte
	Key  []byte
}

func bundleFromData(data map[string][]byte) certBundle {
	return certBundle{CA: data[keyCA], Cert: data[keyCert], Key: data[keyKey]}
}

func (b certBundle) data() map[string][]byte {
	return map[string][]byte{keyCA: b.CA, keyCert: b.Cert, keyKey: b.Key}
}

// issue makes a new CA and a serving certificate signed by it, valid from
// now for validity, for hosts (DNS names or IP addresses). previousCA (PEM,
// may be empty or garbage) contributes the CAs still valid at now to the
// bundle's CA list.
func issue(hosts []string, now time.Time, validity time.Duration, previousCA []byte) (certBundle, error) {
	notBefore, notAfter := now.Add(-backdate), now.Add(validity)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certBundle{}, fmt.Errorf("generate CA key: %w", err)
	}
	caSerial, err := serial()
	if err != nil {
		return certBundle{}, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: "addon-operator-webhook-ca"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return certBundle{}, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return certBundle{}, fmt.Errorf("parse CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certBundle{}, fmt.Errorf("generate serving key: %w", err)
	}
	leafSerial, err := serial()
	if err != nil {
		return certBundle{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: leafSerial,
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return certBundle{}, fmt.Errorf("create serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return certBundle{}, fmt.Errorf("encode serving key: %w", err)
	}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	for _, old := range parseCerts(previousCA) {
		if old.IsCA && now.Before(old.NotAfter) && !bytes.Equal(old.Raw, caDER) {
			caPEM = append(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: old.Raw})...)
		}
	}
	return certBundle{
		CA:   caPEM,
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return n, nil
}

// check returns nil when b can serve hosts at now and for longer than
// rotateBefore, else why it must be replaced (one of the errCert*
// sentinels, wrapped).
func (b certBundle) check(hosts []string, now time.Time, rotateBefore time.Duration) error {
	pair, err := tls.X509KeyPair(b.Cert, b.Key)
	if err != nil {
		return fmt.Errorf("%w: %w", errCertMissing, err)
	}
	leaf := pair.Leaf
	if now.Before(leaf.NotBefore) {
		return fmt.Errorf("%w: from %s", errCertNotYet, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if leaf.NotAfter.Sub(now) < rotateBefore {
		return fmt.Errorf("%w: on %s", errCertExpiring, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return fmt.Errorf("%w: %s", errCertHosts, h)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CA) {
		return fmt.Errorf("%w: ca.crt holds no certificate", errCertUntrusted)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("%w: %w", errCertUntrusted, err)
	}
	return nil
}

// parseCerts returns the certificates of a PEM list, skipping what does not
// parse.
func parseCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, c)
		}
	}
}
