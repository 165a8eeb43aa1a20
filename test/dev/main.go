// Command dev runs the local development environment behind `make dev`: a
// real control plane (test/cluster) with three fake nodes, the manifests of
// deploy/ applied, and bin/addon-operator running on the repository's own
// bundle in the foreground. Ctrl-C stops every process it started.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/seedops/addon-operator/pkg/debug"
	"github.com/seedops/addon-operator/test/cluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := filepath.Abs(".dev/cluster")
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	opts := cluster.Full
	opts.Dir = dir
	fmt.Println("dev: starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok …")
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	c, err := cluster.Start(startCtx, opts)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("dev: stopping the local cluster")
		if err := c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "dev:", err)
		}
	}()

	nodes := []cluster.Node{
		{Name: "node-1", ProviderID: "aws:///eu-central-1a/i-0000000001", Labels: map[string]string{"dedicated": "ingress"}},
		{Name: "node-2", ProviderID: "aws:///eu-central-1b/i-0000000002"},
		{Name: "node-3", ProviderID: "aws:///eu-central-1c/i-0000000003"},
	}
	for _, n := range nodes {
		if err := c.AddNode(ctx, n); err != nil {
			return err
		}
	}

	root, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	kubectl := filepath.Join(root, "bin", "kubectl")
	socket := filepath.Join(root, ".dev", "debug.socket")
	for _, src := range [][]string{{"-k", filepath.Join(root, "deploy")}, {"-f", filepath.Join(root, "test", "dev", "storage.yaml")}} {
		apply := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", c.Kubeconfig, "apply"}, src...)...)
		apply.Stdout, apply.Stderr = os.Stdout, os.Stderr
		if err := apply.Run(); err != nil {
			return fmt.Errorf("apply %s: %w", src[1], err)
		}
	}

	fmt.Printf(`
dev: the local cluster is up (component logs in %s/logs).
dev: starting the operator on this repository's bundle; its log follows.

In another terminal:

  export KUBECONFIG=%s
  export PATH=%s:$PATH
  kubectl get nodes -L dedicated
  kubectl get cm -n addon-operator addon-operator -o yaml      # the configuration you edit
  kubectl edit cm -n addon-operator addon-operator             # e.g. prometheusEnabled: "false"
  kubectl get secrets -n addon-operator -l owner=helm -L name,version,status   # Helm releases
  kubectl get deploy,sts,svc -A -l heritage=addon-operator      # what the modules deployed
  kubectl get modules                                           # module phases
  curl -s localhost:9650/metrics | grep addon_operator_          # the operator's metrics
  export %s=%s
  addon-operator module list                                    # the CLI (docs/cli.md)
  addon-operator module values prometheus                       # x-secret values masked

Press Ctrl-C to stop everything.

`, dir, c.Kubeconfig, filepath.Join(root, "bin"), debug.SocketEnv, socket)

	op := exec.Command(filepath.Join(root, "bin", "addon-operator"),
		"--kubeconfig", c.Kubeconfig, "--namespace", "addon-operator", "--bundle-dir", root,
		"--listen-address", "127.0.0.1", "--tmp-dir", filepath.Join(root, ".dev", "tmp"),
		"--webhook", "--webhook-listen-address", "127.0.0.1", "--webhook-url", "https://127.0.0.1:9443/validate-config")
	op.Env = append(os.Environ(), "PATH="+filepath.Join(root, "bin")+":"+os.Getenv("PATH"), debug.SocketEnv+"="+socket)
	op.Stdout, op.Stderr = os.Stdout, os.Stderr
	op.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := op.Start(); err != nil {
		return fmt.Errorf("start the operator: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- op.Wait() }()
	select {
	case err := <-exited:
		return fmt.Errorf("the operator exited: %v", err)
	case <-ctx.Done():
	}
	fmt.Println("dev: stopping the operator")
	_ = op.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = op.Process.Kill()
		<-exited
	}
	return nil
}
