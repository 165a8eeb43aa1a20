package queue_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/seedops/addon-operator/pkg/queue"
)

// BenchmarkAddRun measures Add plus running no-op tasks to completion, on
// one queue and spread over four.
func BenchmarkAddRun(b *testing.B) {
	for _, queues := range []int{1, 4} {
		b.Run(fmt.Sprintf("queues=%d", queues), func(b *testing.B) {
			set, err := queue.New(queue.Config{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			names := make([]string, queues)
			for i := range names {
				names[i] = fmt.Sprintf("q%d", i)
			}
			var left atomic.Int64
			left.Store(int64(b.N))
			all := make(chan struct{})
			noop := queue.WorkFunc(func(context.Context, *slog.Logger) error {
				if left.Add(-1) == 0 {
					close(all)
				}
				return nil
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- set.Start(ctx) }()

			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				set.Add(names[i%queues], &queue.Task{Kind: "Noop", Work: noop})
			}
			<-all
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
