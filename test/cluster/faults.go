package cluster

import (
	"context"
	"errors"
)

// WaitAPI waits until the API server answers /readyz, which includes its
// etcd check (for example after StartEtcd).
func (c *Cluster) WaitAPI(ctx context.Context) error {
	return c.waitHTTP(ctx, "kube-apiserver", c.Config.Host+"/readyz", true)
}

// Heal starts again the optional components of the cluster's Options
// (kube-controller-manager, kube-scheduler, kwok) that have exited, as a
// process supervisor would after an outage of the API server made one of
// them give up. It returns the names it restarted.
func (c *Cluster) Heal() ([]string, error) {
	var restarted []string
	var errs []error
	for _, comp := range c.optional() {
		if c.Running(comp.name) {
			continue
		}
		if err := c.start(comp.name, comp.args()); err != nil {
			errs = append(errs, err)
			continue
		}
		restarted = append(restarted, comp.name)
	}
	return restarted, errors.Join(errs...)
}
