// Package poll waits in tests until a condition holds, for the cases where
// the code under test offers no channel or notification to wait on (an
// object the API server stores, a socket a server creates, a process that
// exits). It is for tests only: production code must not import it.
package poll

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// errFalse is the last error of a False condition.
var errFalse = errors.New("condition is false")

// Until calls check at once and then every interval until it returns nil,
// and fails t with check's last error when timeout passes first. check runs
// on the calling goroutine, so it may itself call t.Fatal to stop early
// (for example when the server under test returned). Until synchronises a
// test with other goroutines or processes; it never stands in for an
// assertion.
func Until(t testing.TB, interval, timeout time.Duration, what string, check func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, last)
	}
}

// True is Until for a condition that has no error to report.
func True(t testing.TB, interval, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Until(t, interval, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errFalse
	})
}
