package bundle_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/bundle"
)

func TestParseDockerConfig(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    bundle.Credentials
		wantErr bool
	}{
		{
			name: "auth field",
			data: `{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNzOndvcmQ="}}}`,
			want: bundle.Credentials{"registry.example.com": {Username: "user", Password: "pass:word"}},
		},
		{
			name: "username and password, URL key with port",
			data: `{"auths":{"https://Registry.Example.com:5000/v1/":{"username":"u","password":"p"}}}`,
			want: bundle.Credentials{"registry.example.com:5000": {Username: "u", Password: "p"}},
		},
		{
			name: "identity token",
			data: `{"auths":{"r.io":{"identitytoken":"refresh"}}}`,
			want: bundle.Credentials{"r.io": {IdentityToken: "refresh"}},
		},
		{
			name: "docker hub aliases",
			data: `{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p"}}}`,
			want: bundle.Credentials{
				"index.docker.io":      {Username: "u", Password: "p"},
				"registry-1.docker.io": {Username: "u", Password: "p"},
				"docker.io":            {Username: "u", Password: "p"},
			},
		},
		{name: "no auths", data: `{}`, want: bundle.Credentials{}},
		{name: "not JSON", data: `auths: {}`, wantErr: true},
		{name: "auth not base64", data: `{"auths":{"r.io":{"auth":"%%%"}}}`, wantErr: true},
		{name: "auth without colon", data: `{"auths":{"r.io":{"auth":"dXNlcg=="}}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bundle.ParseDockerConfig([]byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckRef(t *testing.T) {
	tests := []struct {
		ref string
		ok  bool
	}{
		{"oci://registry.example.com/addons/bundle", true},
		{"oci://127.0.0.1:5000/bundle", true},
		{"/var/lib/bundles", true},
		{"oci://registry.example.com", false},
		{"oci://registry.example.com/addons:stable", false},
		{"oci://registry.example.com/addons@sha256:0000000000000000000000000000000000000000000000000000000000000000", false},
		{"oci://UPPER.example.com/Addons", false},
		{"relative/dir", false},
		{"https://registry.example.com/addons", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if err := bundle.CheckRef(tt.ref); (err == nil) != tt.ok {
				t.Errorf("CheckRef(%q) = %v, want ok %v", tt.ref, err, tt.ok)
			}
		})
	}
}
