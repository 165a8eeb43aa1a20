package deploy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/seedops/addon-operator/test/cluster"
	"github.com/seedops/addon-operator/test/process"
)

// saKubeconfig writes a kubeconfig that authenticates as the cluster admin
// and impersonates the operator's ServiceAccount, so the operator and the
// kubectl in its hooks have exactly the ServiceAccount's rights.
func saKubeconfig(t *testing.T) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range kc.AuthInfos {
		a.Impersonate = saUser
		a.ImpersonateGroups = saGroups
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// forbidden matches API errors about missing rights in the operator's log
// (its own, client-go's and the hooks' output).
var forbidden = regexp.MustCompile(`(?i)forbidden|cannot (list|watch|get|create|update|patch|delete) resource`)

// The operator converges the built-in bundle (global hooks, ingress-nginx,
// Prometheus and Grafana, Module objects, leader election) and serves the
// validating webhook with only the rights deploy/ and its webhook component
// give its ServiceAccount, and is never refused anything.
func TestOperatorConvergesWithLeastPrivilege(t *testing.T) {
	deployBase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := testCluster.Client()

	// The webhook component's rights (the rest of it, the Service and the
	// Deployment's flag, needs in-cluster networking, which kwok lacks: the
	// API server calls the operator on loopback here).
	applyWebhookRBAC(t)
	const vwc = "addon-operator-" + namespace
	t.Cleanup(func() {
		ctx := context.Background()
		_ = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, vwc, metav1.DeleteOptions{})
	})
	webhookPort := freePort(t)
	if err := testCluster.AddNode(ctx, cluster.Node{
		Name: "ingress-a", ProviderID: "aws:///eu-central-1a/i-00000000ia",
		Labels: map[string]string{"kubernetes.io/hostname": "ingress-a", "dedicated": "ingress"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := waitAllowed(ctx, operatorNeeds[0], true); err != nil {
		t.Fatal(err)
	}
	binary := operatorBinary(t)
	bundle, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	op := process.Start(t, process.Options{
		Binary:     binary,
		Kubeconfig: saKubeconfig(t),
		Namespace:  namespace,
		BundleDir:  bundle,
		// kubectl for the hooks.
		Env: []string{"PATH=" + filepath.Join(bundle, "bin") + string(os.PathListSeparator) + os.Getenv("PATH")},
		// Workloads of the fake cluster may stay unready (Prometheus' volume
		// is never bound); this test is about rights.
		Args: []string{
			"--ha", "--queue-min-backoff", "1s", "--queue-max-backoff", "4s", "--workload-ready-timeout", "30m",
			"--webhook", "--webhook-listen-address", "127.0.0.1", "--webhook-port", strconv.Itoa(webhookPort),
			"--webhook-url", "https://127.0.0.1:" + strconv.Itoa(webhookPort) + "/validate-config",
		},
	})
	op.WaitReady(t, 3*time.Minute)

	dyn := dynamic.NewForConfigOrDie(testCluster.Config)
	modules := []string{"ingress-nginx", "prometheus"}
	err = poll(ctx, func() error {
		for _, name := range modules {
			m, err := dyn.Resource(moduleGVR).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("module %s: %w", name, err)
			}
			for _, c := range []string{"HelmReleaseDeployed", "HooksOK"} {
				if got := condition(m, c); got != "True" {
					msg, _, _ := unstructured.NestedString(m.Object, "status", "message")
					return fmt.Errorf("module %s: condition %s is %q (message %q)", name, c, got, msg)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("modules of the built-in bundle: %v", err)
	}
	// The webhook refuses a bad edit of the ConfigMap (dry run, so nothing
	// changes); the API server picks the registration up asynchronously.
	err = poll(ctx, func() error {
		cm, err := admin.CoreV1().ConfigMaps(namespace).Get(ctx, "addon-operator", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["prometheusEnabled"] = "maybe"
		_, err = admin.CoreV1().ConfigMaps(namespace).Update(ctx, cm, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "denied the request") {
			return fmt.Errorf("a dry-run edit with prometheusEnabled: maybe: err = %v, want denied by the webhook", err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("webhook: %v", err)
	}

	lease, err := admin.CoordinationV1().Leases(namespace).Get(ctx, "addon-operator-leader", metav1.GetOptions{})
	if err != nil {
		t.Errorf("leader Lease: %v", err)
	} else if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("leader Lease has no holder")
	}
	// Let watches that started with the releases report their errors.
	time.Sleep(3 * time.Second)
	var refused []string
	for _, line := range strings.Split(op.Logs(), "\n") {
		if forbidden.MatchString(line) {
			refused = append(refused, line)
		}
	}
	if len(refused) > 0 {
		t.Errorf("the operator was refused requests (%d log lines), e.g.:\n%s", len(refused), strings.Join(refused[:min(len(refused), 5)], "\n"))
	}
}

// freePort returns a free TCP port on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// condition returns the status of a condition of a Module object.
func condition(m *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(m.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == typ {
			s, _ := c["status"].(string)
			return s
		}
	}
	return ""
}

// operatorBinary builds ./cmd/addon-operator once per test binary.
func operatorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "addon-operator-deploy-")
		if err != nil {
			buildErr = err
			return
		}
		builtDir = dir
		builtBinary, buildErr = process.Build(repo, dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBinary
}
