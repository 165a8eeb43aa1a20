package e2e

import (
	"fmt"
	"maps"
	"testing"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
)

// Charts written the way upstream projects write them, shipped in a bundle
// the way users ship third-party add-ons.
const (
	// generatedCertTemplate makes a new certificate and password on every
	// render, as charts of webhooks and databases do.
	generatedCertTemplate = `{{- $cn := printf "certs.%s.svc" .Release.Namespace }}
{{- $cert := genSelfSignedCert $cn nil (list $cn) 365 }}
apiVersion: v1
kind: Secret
metadata:
  name: certs-tls
type: kubernetes.io/tls
data:
  tls.crt: {{ $cert.Cert | b64enc }}
  tls.key: {{ $cert.Key | b64enc }}
---
apiVersion: v1
kind: Secret
metadata:
  name: certs-admin
stringData:
  password: {{ randAlphaNum 24 | quote }}
`
	// kubeVersionTemplate picks its content by the cluster's version.
	kubeVersionTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-version
data:
  {{- if semverCompare ">=1.25-0" .Capabilities.KubeVersion.Version }}
  podSecurity: admission
  {{- else }}
  podSecurity: policy
  {{- end }}
`
	// wrappedChart is a module chart made only of an upstream chart,
	// aliased to the module's values key.
	wrappedChart = `apiVersion: v2
name: wrapped
version: 0.1.0
dependencies:
  - name: tiny-web
    version: 4.2.0
    repository: https://charts.example.com/stable
    alias: wrapped
`
	tinyWebChart = `apiVersion: v2
name: tiny-web
version: 4.2.0
appVersion: "1.27"
`
	tinyWebValues = `fullnameOverride: ""
replicaCount: 1
image:
  repository: docker.io/library/nginx
  tag: ""
`
	tinyWebTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.fullnameOverride | default (printf "%s-%s" .Release.Name .Chart.Name) }}
data:
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  replicas: {{ .Values.replicaCount | quote }}
`
)

// upstreamBundle is a bundle of upstream-style charts, plus a plain module
// whose settings the tests edit.
func upstreamBundle(t *testing.T) string {
	return moduletest.Bundle(t,
		moduletest.Text("values.yaml", "certsEnabled: true\nkubeVersionEnabled: true\nwrappedEnabled: true\notherEnabled: true\n"),
		moduletest.Text("modules/010-certs/Chart.yaml", "apiVersion: v2\nname: certs\nversion: 1.0.0\n"),
		moduletest.Text("modules/010-certs/templates/secrets.yaml", generatedCertTemplate),
		moduletest.Text("modules/020-kube-version/Chart.yaml", "apiVersion: v2\nname: kube-version\nversion: 1.0.0\nkubeVersion: \">=1.23.0-0\"\n"),
		moduletest.Text("modules/020-kube-version/templates/cm.yaml", kubeVersionTemplate),
		moduletest.Text("modules/030-wrapped/Chart.yaml", wrappedChart),
		moduletest.Text("modules/030-wrapped/values.yaml", "fullnameOverride: wrapped\n"),
		moduletest.Text("modules/030-wrapped/charts/tiny-web/Chart.yaml", tinyWebChart),
		moduletest.Text("modules/030-wrapped/charts/tiny-web/values.yaml", tinyWebValues),
		moduletest.Text("modules/030-wrapped/charts/tiny-web/templates/cm.yaml", tinyWebTemplate),
		moduletest.Text("modules/040-other/templates/cm.yaml", fmt.Sprintf(cmTemplate, "other", "other")),
	)
}

// An upstream-style chart that generates a certificate and a password on
// each render is installed once: three operator restarts and an edit of
// another module make no new revision of it and keep its secrets.
func TestUpstreamChartWithGeneratedCertificateKeepsItsRevision(t *testing.T) {
	e := newEnv(t, upstreamBundle(t))
	e.start()
	e.eventually(bundleWait, func() string {
		if rev, status := e.revision("certs"); rev != 1 || status != "deployed" {
			return fmt.Sprintf("certs release revision %d %q, want 1 deployed", rev, status)
		}
		return ""
	})
	secrets := func() map[string][]byte {
		out := map[string][]byte{}
		for _, name := range []string{"certs-tls", "certs-admin"} {
			s := e.secret(name)
			if s == nil {
				t.Fatalf("secret %s does not exist", name)
			}
			for k, v := range s.Data {
				out[name+"/"+k] = v
			}
		}
		return out
	}
	first := secrets()
	check := func(when string) {
		t.Helper()
		if rev, status := e.revision("certs"); rev != 1 || status != "deployed" {
			t.Errorf("%s: certs release revision %d %q, want 1 deployed (nothing changed); manifest change:\n%s",
				when, rev, status, e.manifestChange("certs", 1, rev))
		}
		if !maps.EqualFunc(first, secrets(), func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Errorf("%s: the generated certificate or password changed", when)
		}
	}

	e.setConfig(map[string]string{"other": "value: edited\n"})
	e.eventually(bundleWait, func() string {
		if got := e.configMapData(e.ns, "other")["value"]; got != "edited" {
			return fmt.Sprintf("other value %q, want edited", got)
		}
		return ""
	})
	e.waitIdle()
	check("after an edit of another module")

	for i := range 3 {
		e.op.Stop(t)
		e.start()
		e.op.WaitLog(t, "modules converged", bundleWait)
		e.waitIdle()
		check(fmt.Sprintf("restart %d", i+1))
	}
}

// A module whose chart is Chart.yaml and a vendored upstream chart only
// installs the upstream chart's objects, configured through the alias; a
// chart that compares the cluster's version with semverCompare installs on
// the test control plane.
func TestDependencyOnlyChartInstalls(t *testing.T) {
	e := newEnv(t, upstreamBundle(t))
	e.setConfig(map[string]string{"wrapped": "replicaCount: 3\n"})
	e.start()
	e.eventually(bundleWait, func() string {
		want := map[string]string{"image": "docker.io/library/nginx:1.27", "replicas": "3"}
		if got := e.configMapData(e.ns, "wrapped"); !maps.Equal(got, want) {
			return fmt.Sprintf("wrapped ConfigMap data %v, want %v", got, want)
		}
		if got := e.configMapData(e.ns, "kube-version")["podSecurity"]; got != "admission" {
			return fmt.Sprintf("kube-version podSecurity %q, want admission", got)
		}
		return ""
	})
}
