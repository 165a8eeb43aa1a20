package updater

import "time"

// Delays between retries of a restore and of a download that failed on
// the network.
const (
	retryMinBackoff = time.Second
	retryMaxBackoff = time.Minute
)

// backoff is a doubling delay, from min up to max. Not safe for concurrent
// use.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the delay before the next retry: min, then twice the last
// one, at most max.
func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

// reset starts the sequence again at min.
func (b *backoff) reset() { b.cur = 0 }
