package bundle

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// Credential is one registry's login.
type Credential struct {
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token; RegistryToken a bearer
	// access token. Either replaces the password.
	IdentityToken string
	RegistryToken string
}

// Credentials are logins by registry host ("registry.example.com",
// "127.0.0.1:5000"). The zero value logs in nowhere.
type Credentials map[string]Credential

// ParseDockerConfig reads the JSON of a kubernetes.io/dockerconfigjson
// Secret (its ".dockerconfigjson" key) or of ~/.docker/config.json:
// {"auths": {HOST: {"auth": base64("user:password")} or {"username": …,
// "password": …}, "identitytoken": …, "registrytoken": …}}. Hosts may be
// written as URLs ("https://HOST/v1/"). Credential helpers are not run.
// Errors name the host, never a secret.
func ParseDockerConfig(data []byte) (Credentials, error) {
	var doc struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("docker config: want JSON with an \"auths\" map: %w", err)
	}
	out := Credentials{}
	for key, a := range doc.Auths {
		host := normalizeHost(key)
		if host == "" {
			return nil, fmt.Errorf("docker config: auths key %q names no registry host", key)
		}
		c := Credential{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("docker config: auths[%q].auth is not base64", key)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("docker config: auths[%q].auth is not base64 of user:password", key)
			}
			c.Username, c.Password = user, pass
		}
		out[host] = c
		if host == "index.docker.io" {
			out["registry-1.docker.io"] = c
			out["docker.io"] = c
		}
	}
	return out, nil
}

// normalizeHost turns an auths key into host[:port].
func normalizeHost(key string) string {
	h := key
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	h, _, _ = strings.Cut(h, "/")
	return strings.ToLower(h)
}

// credentialFunc answers oras's credential lookups.
func (c Credentials) credentialFunc() auth.CredentialFunc {
	return func(_ context.Context, hostport string) (auth.Credential, error) {
		cred, ok := c[strings.ToLower(hostport)]
		if !ok {
			return auth.EmptyCredential, nil
		}
		return auth.Credential{Username: cred.Username, Password: cred.Password, RefreshToken: cred.IdentityToken, AccessToken: cred.RegistryToken}, nil
	}
}
