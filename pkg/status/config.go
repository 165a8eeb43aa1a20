package status

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Defaults used for zero Config fields and as flag defaults.
const (
	DefaultWorkloadReadyTimeout = 5 * time.Minute
	DefaultResync               = time.Minute
)

// Config says whose Module objects the Writer owns and how long workloads
// may take to become ready.
type Config struct {
	// Namespace is the operator's namespace. Module objects are labelled
	// with it (NamespaceLabel) and the Writer touches only objects carrying
	// it. Required; it has no flag of its own (the caller passes the
	// operator's namespace).
	Namespace string
	// WorkloadReadyTimeout is how long a Deployment, StatefulSet, DaemonSet
	// or Job of a release may stay not ready before its module turns from
	// Reconciling to Error. The clock starts when the Writer first sees the
	// object not ready at its current generation. Zero means
	// DefaultWorkloadReadyTimeout.
	WorkloadReadyTimeout time.Duration
	// Resync is how often Module objects are compared with the module
	// statuses when nothing signalled a change, which also repairs edits or
	// deletions made by others. Zero means DefaultResync.
	Resync time.Duration
}

// BindFlags registers --workload-ready-timeout and --status-resync with
// their defaults.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.WorkloadReadyTimeout, "workload-ready-timeout", DefaultWorkloadReadyTimeout, "how long a module's Deployments, StatefulSets, DaemonSets and Jobs may stay not ready before the module is in Error")
	fs.DurationVar(&c.Resync, "status-resync", DefaultResync, "how often Module objects are compared with the modules' state when nothing changed")
}

// withDefaults fills zero fields and refuses settings that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.WorkloadReadyTimeout == 0 {
		c.WorkloadReadyTimeout = DefaultWorkloadReadyTimeout
	}
	if c.Resync == 0 {
		c.Resync = DefaultResync
	}
	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace is required"))
	}
	if c.WorkloadReadyTimeout < 0 {
		errs = append(errs, fmt.Errorf("workload ready timeout %s is negative", c.WorkloadReadyTimeout))
	}
	if c.Resync < 0 {
		errs = append(errs, fmt.Errorf("resync %s is negative", c.Resync))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("status config: %w", err)
	}
	return c, nil
}
