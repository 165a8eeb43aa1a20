package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seedops/addon-operator/test/process"
)

// Two replicas with --ha: one leads and converges, the other only stands
// by; when the leader dies the follower takes over within the lease
// duration and keeps the releases deployed.
func TestHighAvailability(t *testing.T) {
	e := newEnv(t, testBundle)
	args := []string{"--ha", "--ha-lease-duration", "4s", "--ha-renew-deadline", "3s", "--ha-retry-period", "500ms"}
	start := func() *process.Operator {
		return process.Start(t, process.Options{
			Binary: binary, Kubeconfig: testCluster.Kubeconfig, Namespace: e.ns, BundleDir: e.bundle,
			Env: []string{"E2E_TRACE=" + e.trace, "E2E_DIR=" + e.dir}, Args: args,
		})
	}
	a := start()
	a.WaitReady(t, 60*time.Second)
	e.eventually(30*time.Second, func() string {
		if e.count("global afterAll") == 0 {
			return "the first replica did not converge"
		}
		return ""
	})
	b := start()
	b.WaitReady(t, 30*time.Second)
	b.WaitLog(t, "following", 10*time.Second)
	time.Sleep(2 * time.Second)
	if strings.Contains(b.Logs(), "hook finished") || strings.Contains(b.Logs(), "release applied") {
		t.Fatalf("the follower ran hooks or Helm while the leader lived:\n%s", b.Tail(30))
	}
	holder := func() string {
		l, err := e.client.CoordinationV1().Leases(e.ns).Get(context.Background(), "addon-operator-leader", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	first := holder()
	if first == "" {
		t.Fatal("no Lease holder")
	}
	startups := e.count("global onStartup")
	killed := time.Now()
	a.Kill()
	e.eventually(20*time.Second, func() string {
		if h := holder(); h == first || h == "" {
			return "the lease still names the dead leader " + first
		}
		if e.count("global onStartup") <= startups {
			return "the new leader did not start the modules"
		}
		return ""
	})
	if d := time.Since(killed); d > 12*time.Second {
		t.Errorf("take-over took %s with a 4s lease", d)
	}
	b.WaitLog(t, "modules converged", 20*time.Second)
	for _, r := range []string{"echo", "flaky", "legacy"} {
		if _, status := e.revision(r); status != "deployed" {
			t.Errorf("%s release is %q after the take-over", r, status)
		}
	}
}
