// Command dev runs the local development environment behind `make dev`: a
// real control plane (test/cluster) with three fake nodes, in the
// foreground. Ctrl-C stops every process it started.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

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

	fmt.Printf(`
dev: the local cluster is up (logs in %s/logs).

  export KUBECONFIG=%s
  kubectl get nodes -L dedicated

Press Ctrl-C to stop everything.
`, dir, c.Kubeconfig)
	<-ctx.Done()
	return nil
}
