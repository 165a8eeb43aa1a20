// Package deploy checks the manifests in deploy/ as a cluster admin would use
// them: rendered with `kubectl kustomize` (bin/kubectl) and applied to the
// real local control plane (test/cluster) running with RBAC authorization,
// with kwok Nodes to run the Pods. It also checks deploy/monitoring: the
// Grafana dashboard and the PrometheusRule parse and use metric names the
// operator exports.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/seedops/addon-operator/test/cluster"
)

var testCluster *cluster.Cluster

// The operator binary, built by the first test that runs it.
var (
	buildOnce   sync.Once
	builtDir    string
	builtBinary string
	buildErr    error
)

func TestMain(m *testing.M) {
	opts := cluster.Full
	opts.RBAC = true
	code := cluster.Main(m, opts, &testCluster)
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// The operator's identity as the API server sees it.
const (
	namespace      = "addon-operator"
	serviceAccount = "addon-operator"
	saUser         = "system:serviceaccount:" + namespace + ":" + serviceAccount
)

var saGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}

// repo is the repository root, relative to this package.
const repo = "../.."

// kubectl is bin/kubectl (or $ADDON_OPERATOR_TEST_BIN/kubectl), built by
// `make tools`.
func kubectl() string {
	dir := os.Getenv("ADDON_OPERATOR_TEST_BIN")
	if dir == "" {
		dir = filepath.Join(repo, "bin")
	}
	return filepath.Join(dir, "kubectl")
}

// runKubectl runs bin/kubectl against the test cluster with stdin, and
// returns its stdout.
func runKubectl(stdin []byte, args ...string) ([]byte, error) {
	args = append([]string{"--kubeconfig", testCluster.Kubeconfig}, args...)
	cmd := exec.Command(kubectl(), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubectl %v: %w: %s", args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// render returns the objects of a kustomization directory under deploy/.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	return renderPath(t, filepath.Join(repo, "deploy", dir))
}

// renderPath returns the objects of the kustomization in dir.
func renderPath(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	cmd := exec.Command(kubectl(), "kustomize", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v: %s", dir, err, stderr.String())
	}
	objs, err := decode(out)
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return objs
}

// decode splits a multi-document YAML stream into objects.
func decode(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		if obj != nil {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// encode joins objects into one YAML stream for kubectl apply.
func encode(objs []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		buf.Write(data)
		buf.WriteString("\n")
	}
	return buf.Bytes(), nil
}

var (
	deployOnce sync.Once
	deployed   []*unstructured.Unstructured
	deployErr  error
)

// deployBase applies deploy/ once per test binary, onto two fake Nodes,
// and returns the rendered objects.
func deployBase(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs := render(t, ".")
	deployOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Kubelets label their Node with kubernetes.io/hostname, the
		// Deployment's anti-affinity topology key; kwok Nodes get it here.
		for _, n := range []cluster.Node{
			{Name: "node-a", ProviderID: "aws:///eu-central-1a/i-000000000a", Labels: map[string]string{"kubernetes.io/hostname": "node-a"}},
			{Name: "node-b", ProviderID: "aws:///eu-central-1b/i-000000000b", Labels: map[string]string{"kubernetes.io/hostname": "node-b"}},
		} {
			if err := testCluster.AddNode(ctx, n); err != nil {
				deployErr = err
				return
			}
			if err := waitUntainted(ctx, n.Name); err != nil {
				deployErr = err
				return
			}
		}
		data, err := encode(objs)
		if err != nil {
			deployErr = err
			return
		}
		if _, err := runKubectl(data, "apply", "-f", "-"); err != nil {
			deployErr = err
			return
		}
		deployed = objs
	})
	if deployErr != nil {
		t.Fatalf("apply deploy/: %v", deployErr)
	}
	return deployed
}

// waitUntainted waits until the node lifecycle controller has removed the
// not-ready taint it puts on a new Node, so that the scheduler may use it.
func waitUntainted(ctx context.Context, node string) error {
	for {
		n, err := testCluster.Client().CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err == nil && len(n.Spec.Taints) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s still tainted: %w", node, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
