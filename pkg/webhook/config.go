package webhook

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"
)

// Defaults of the flags.
const (
	DefaultPort          = 9443
	DefaultService       = "addon-operator-webhook"
	DefaultTLSSecret     = "addon-operator-webhook-tls"
	DefaultCertValidity  = 365 * 24 * time.Hour
	DefaultRotateBefore  = 30 * 24 * time.Hour
	DefaultCheckInterval = time.Minute
)

// Path is where the webhook answers AdmissionReviews.
const Path = "/validate-config"

// Config switches the webhook on and says where it listens, how the API
// server reaches it and how its certificate is kept.
type Config struct {
	Enabled bool
	// Address and Port are where the HTTPS server listens.
	Address string
	Port    int
	// Service is the Service in the operator's namespace that the API
	// server calls (clientConfig.service); the certificate is issued for
	// its DNS names. Ignored when URL is set.
	Service string
	// URL, when set, is the clientConfig.url the API server calls instead
	// of the Service (an API server that reaches the operator directly, as
	// in local runs: https://127.0.0.1:9443/validate-config); the
	// certificate is issued for its host.
	URL string
	// TLSSecret is the Secret in the operator's namespace that holds the
	// CA and serving certificate all replicas share.
	TLSSecret string
	// Configuration names the ValidatingWebhookConfiguration; empty means
	// "addon-operator-<namespace>".
	Configuration string
	// CertValidity is the lifetime of a new certificate; RotateBefore is
	// how long before its expiry it is replaced; CheckInterval is how often
	// a replica compares the Secret and the configuration with what they
	// should be (and picks up a certificate renewed by another replica).
	CertValidity  time.Duration
	RotateBefore  time.Duration
	CheckInterval time.Duration
}

// BindFlags registers --webhook and the --webhook-* flags.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Enabled, "webhook", os.Getenv("ADDON_OPERATOR_WEBHOOK") == "true", "serve the validating admission webhook for the config ConfigMap and Secret, and register it (env ADDON_OPERATOR_WEBHOOK)")
	fs.StringVar(&c.Address, "webhook-listen-address", "0.0.0.0", "HTTPS listen address of the webhook")
	fs.IntVar(&c.Port, "webhook-port", DefaultPort, "HTTPS listen port of the webhook")
	fs.StringVar(&c.Service, "webhook-service", DefaultService, "Service in the operator's namespace through which the API server calls the webhook")
	fs.StringVar(&c.URL, "webhook-url", "", "URL the API server calls instead of the Service, e.g. https://127.0.0.1:9443"+Path+" when it reaches the operator directly")
	fs.StringVar(&c.TLSSecret, "webhook-tls-secret", DefaultTLSSecret, "Secret in the operator's namespace holding the webhook's CA and serving certificate")
	fs.StringVar(&c.Configuration, "webhook-configuration", "", "name of the ValidatingWebhookConfiguration; default addon-operator-<namespace>")
	fs.DurationVar(&c.CertValidity, "webhook-cert-validity", DefaultCertValidity, "lifetime of a new webhook certificate")
	fs.DurationVar(&c.RotateBefore, "webhook-cert-rotate-before", DefaultRotateBefore, "renew the webhook certificate when it expires within this time")
	fs.DurationVar(&c.CheckInterval, "webhook-check-interval", DefaultCheckInterval, "how often the certificate and the ValidatingWebhookConfiguration are checked")
}

// ErrBadConfig: the Config cannot work.
var ErrBadConfig = errors.New("bad webhook config")

// check validates c and fills in the defaults of empty fields.
func (c *Config) check(namespace string) error {
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("%w: --webhook-port %d", ErrBadConfig, c.Port)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%w: --webhook-url %q: want https://HOST[:PORT]/PATH without user, query or fragment", ErrBadConfig, c.URL)
		}
	} else if c.Service == "" {
		return fmt.Errorf("%w: set --webhook-service or --webhook-url", ErrBadConfig)
	}
	if c.TLSSecret == "" {
		c.TLSSecret = DefaultTLSSecret
	}
	if c.Configuration == "" {
		c.Configuration = "addon-operator-" + namespace
	}
	if c.CertValidity <= 0 {
		c.CertValidity = DefaultCertValidity
	}
	if c.RotateBefore <= 0 || c.RotateBefore >= c.CertValidity {
		return fmt.Errorf("%w: --webhook-cert-rotate-before %s must be positive and shorter than --webhook-cert-validity %s", ErrBadConfig, c.RotateBefore, c.CertValidity)
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	return nil
}

// hosts are the names the serving certificate must be valid for.
func (c *Config) hosts(namespace string) []string {
	if c.URL != "" {
		u, _ := url.Parse(c.URL)
		return []string{u.Hostname()}
	}
	return []string{c.Service, c.Service + "." + namespace, c.Service + "." + namespace + ".svc", c.Service + "." + namespace + ".svc.cluster.local"}
}
