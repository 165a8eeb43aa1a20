package registry_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/seedops/addon-operator/test/registry"
)

// TestStart starts the registry `make tools` built, in each configuration
// the tests use, with an empty PATH and no override: nothing from the
// machine (Debian's docker-registry, openssl) is needed. Anonymous pulls
// are refused exactly when users are set.
func TestStart(t *testing.T) {
	t.Setenv("PATH", "")
	t.Setenv("ADDON_OPERATOR_TEST_REGISTRY", "")
	tests := []struct {
		name string
		opts registry.Options
	}{
		{"anonymous", registry.Options{}},
		{"htpasswd", registry.Options{Users: map[string]string{"ci": "pw"}}},
		{"tls", registry.Options{TLS: true}},
		{"htpasswd and tls", registry.Options{Users: map[string]string{"ci": "pw"}, TLS: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registry.Start(t, tt.opts)
			scheme, client := "http", &http.Client{}
			if tt.opts.TLS {
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(r.CAPEM) {
					t.Fatal("CAPEM holds no certificate")
				}
				scheme = "https"
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
			}
			get := func(user, password string) int {
				req, err := http.NewRequest(http.MethodGet, scheme+"://"+r.Host+"/v2/", nil)
				if err != nil {
					t.Fatal(err)
				}
				if user != "" {
					req.SetBasicAuth(user, password)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			wantAnonymous := http.StatusOK
			if len(tt.opts.Users) > 0 {
				wantAnonymous = http.StatusUnauthorized
				if got := get("ci", "pw"); got != http.StatusOK {
					t.Errorf("GET /v2/ as ci: status %d, want 200", got)
				}
				if got := get("ci", "wrong"); got != http.StatusUnauthorized {
					t.Errorf("GET /v2/ with a wrong password: status %d, want 401", got)
				}
			}
			if got := get("", ""); got != wantAnonymous {
				t.Errorf("anonymous GET /v2/: status %d, want %d", got, wantAnonymous)
			}
		})
	}
}
