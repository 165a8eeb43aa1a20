package queue

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// Default backoff bounds, used for zero Config fields and as flag defaults.
const (
	DefaultMinBackoff = 5 * time.Second
	DefaultMaxBackoff = 30 * time.Second
)

// Config holds the retry settings shared by all queues of a Set.
type Config struct {
	// MinBackoff is the wait before the first retry of a failed task.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration
}

// BindFlags registers the queue flags with their defaults.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.MinBackoff, "queue-min-backoff", DefaultMinBackoff, "wait before retrying a failed task; doubles on each further failure")
	fs.DurationVar(&c.MaxBackoff, "queue-max-backoff", DefaultMaxBackoff, "longest wait between retries of a failed task")
}

// withDefaults fills zero fields and refuses settings that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	var errs []error
	if c.MinBackoff < 0 {
		errs = append(errs, fmt.Errorf("min backoff %s is negative", c.MinBackoff))
	}
	if c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("max backoff %s is below min backoff %s", c.MaxBackoff, c.MinBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("queue config: %w", err)
	}
	return c, nil
}

// Backoff returns the wait before the retry that follows the n-th
// consecutive failure of a task (n >= 1): MinBackoff doubled n-1 times,
// capped at MaxBackoff. n < 1 gives 0.
func (c Config) Backoff(n int) time.Duration {
	if n < 1 {
		return 0
	}
	d := c.MinBackoff
	if d <= 0 {
		return 0
	}
	for range n - 1 {
		if d > c.MaxBackoff/2 {
			return c.MaxBackoff
		}
		d *= 2
	}
	return min(d, c.MaxBackoff)
}
