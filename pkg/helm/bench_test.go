package helm_test

import (
	"context"
	"testing"

	"github.com/seedops/addon-operator/pkg/helm"
)

// BenchmarkDeployUnchanged measures the common case of the converge loop: a
// Deploy whose manifests did not change (render, read the release record,
// check that the chart's 5 objects exist; no Helm upgrade).
func BenchmarkDeployUnchanged(b *testing.B) {
	ctx := context.Background()
	c := newClient(b, newNamespace(b))
	dir := moduleDir("010-echo-server")
	vals := testValues(b, "echoServer: {replicas: 1, port: 8080, greeting: hello, tag: '1.0'}")
	if _, err := c.Deploy(ctx, "echo-server", dir, vals); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := c.Deploy(ctx, "echo-server", dir, vals)
		if err != nil {
			b.Fatal(err)
		}
		if res.Reason != helm.ReasonUnchanged {
			b.Fatalf("reason %s, want unchanged", res.Reason)
		}
	}
}
