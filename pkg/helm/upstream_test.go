package helm_test

import (
	"context"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seedops/addon-operator/pkg/helm"
)

// secretData returns the data of a Secret as strings.
func secretData(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	s, err := kube().CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("secret %s/%s: %v", ns, name, err)
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

// A chart that generates a certificate and a password on every render is
// applied once: deploying again, from a new client as after an operator
// restart, changes nothing and keeps the generated secrets. Changing its
// values applies it again.
func TestDeployRandomOutputOnlyWhenInputsChange(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	const name = "generated-cert"
	dir := moduleDir("080-generated-cert")
	vals := testValues(t, "generatedCert: {validityDays: 365, logLevel: info}")

	first, err := newClient(t, ns).Deploy(ctx, name, dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	if first.Reason != helm.ReasonInstalled {
		t.Fatalf("first deploy: reason %s, want installed", first.Reason)
	}
	tls, admin := secretData(t, ns, "generated-cert-tls"), secretData(t, ns, "generated-cert-admin")

	for i := range 3 {
		c := newClient(t, ns) // a restarted operator has nothing cached
		r1, err := c.Render(ctx, name, dir, vals)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := c.Render(ctx, name, dir, vals)
		if err != nil {
			t.Fatal(err)
		}
		if r1.Checksum == r2.Checksum || r1.InputsChecksum != r2.InputsChecksum {
			t.Errorf("restart %d: two renders give manifests %s, %s and inputs %s, %s; want different manifests, same inputs",
				i, r1.Checksum, r2.Checksum, r1.InputsChecksum, r2.InputsChecksum)
		}
		res, err := c.Deploy(ctx, name, dir, vals)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != helm.ReasonUnchanged || res.Revision != 1 {
			t.Errorf("restart %d: reason %s revision %d, want unchanged at revision 1", i, res.Reason, res.Revision)
		}
	}
	if diff := cmp.Diff(tls, secretData(t, ns, "generated-cert-tls")); diff != "" {
		t.Errorf("certificate rotated without a change (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(admin, secretData(t, ns, "generated-cert-admin")); diff != "" {
		t.Errorf("password rotated without a change (-before +after):\n%s", diff)
	}

	res, err := newClient(t, ns).Deploy(ctx, name, dir, testValues(t, "generatedCert: {validityDays: 365, logLevel: debug}"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != helm.ReasonUpgraded || res.Revision != 2 {
		t.Errorf("changed values: reason %s revision %d, want upgraded to revision 2", res.Reason, res.Revision)
	}
	if got := configMap(t, ns, name).Data["logLevel"]; got != "debug" {
		t.Errorf("configmap logLevel %q after the change, want debug", got)
	}
}

// A release applied before revisions carried the inputs checksum is not
// applied again when its manifests have not changed.
func TestDeployReleaseWithoutInputsChecksum(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)
	const name = "echo-server"
	dir := moduleDir("010-echo-server")
	vals := testValues(t, "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}")
	if _, err := c.Deploy(ctx, name, dir, vals); err != nil {
		t.Fatal(err)
	}
	patch := `{"metadata":{"labels":{"` + helm.InputsChecksumLabel + `":null}}}`
	if _, err := kube().CoreV1().Secrets(ns).Patch(ctx, "sh.helm.release.v1."+name+".v1", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Deploy(ctx, name, dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != helm.ReasonUnchanged || res.Revision != 1 {
		t.Errorf("reason %s revision %d, want unchanged at revision 1", res.Reason, res.Revision)
	}
}

// A module that wraps an upstream chart as a vendored dependency, aliased to
// its values key, installs the upstream chart's objects configured by the
// module's values; and a chart that compares the cluster's version renders
// on the test control plane.
func TestDeployUpstreamStyleCharts(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	c := newClient(t, ns)

	t.Run("dependency only", func(t *testing.T) {
		vals := testValues(t, "wrappedUpstream: {fullnameOverride: wrapped-upstream, replicaCount: 2}")
		res, err := c.Deploy(ctx, "wrapped-upstream", moduleDir("090-wrapped-upstream"), vals)
		if err != nil {
			t.Fatal(err)
		}
		want := []helm.ObjectRef{{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "wrapped-upstream"}}
		if diff := cmp.Diff(want, res.Objects); diff != "" {
			t.Errorf("objects (-want +got):\n%s", diff)
		}
		wantData := map[string]string{"image": "docker.io/library/nginx:1.27", "replicas": "2", "port": "80"}
		if diff := cmp.Diff(wantData, configMap(t, ns, "wrapped-upstream").Data); diff != "" {
			t.Errorf("configmap data (-want +got):\n%s", diff)
		}
	})

	t.Run("semverCompare on the kube version", func(t *testing.T) {
		if _, err := c.Deploy(ctx, "kube-version", moduleDir("100-kube-version"), testValues(t, "")); err != nil {
			t.Fatal(err)
		}
		data := configMap(t, ns, "kube-version").Data
		v, err := semver.NewVersion(data["kubeVersion"])
		if err != nil || v.Prerelease() != "" || v.Metadata() != "" || v.LessThan(semver.MustParse("1.25.0")) {
			t.Errorf("chart saw kube version %q, want a release version from v1.25 on", data["kubeVersion"])
		}
		if got := data["podSecurity"]; got != "admission" {
			t.Errorf("podSecurity %q, want admission (semverCompare \">=1.25-0\")", got)
		}
	})
}
