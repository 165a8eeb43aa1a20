package helm

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Defaults used for zero Config fields and as flag defaults.
const (
	DefaultHistoryMax = 10
	DefaultTimeout    = 5 * time.Minute
)

// Config says where releases live and how long Helm operations may take.
type Config struct {
	// Namespace holds the release records (Secrets) and is the default
	// namespace of the charts' objects. Required; set by the caller (the
	// operator's own namespace).
	Namespace string
	// HistoryMax is the number of revisions kept per release; older ones are
	// pruned on upgrade. Zero means DefaultHistoryMax.
	HistoryMax int
	// Timeout bounds one install, upgrade or uninstall, Helm hooks included.
	// Zero means DefaultTimeout.
	Timeout time.Duration
}

// BindFlags registers --helm-history-max and --helm-timeout with their
// defaults. Namespace has no flag of its own.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.HistoryMax, "helm-history-max", DefaultHistoryMax, "revisions kept per Helm release")
	fs.DurationVar(&c.Timeout, "helm-timeout", DefaultTimeout, "longest time one Helm install, upgrade or uninstall (hooks included) may take")
}

// withDefaults fills zero fields and refuses settings that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.HistoryMax == 0 {
		c.HistoryMax = DefaultHistoryMax
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace is required"))
	}
	if c.HistoryMax < 0 {
		errs = append(errs, fmt.Errorf("history max %d is negative", c.HistoryMax))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("helm config: %w", err)
	}
	return c, nil
}
