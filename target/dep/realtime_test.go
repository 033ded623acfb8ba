package dep

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// On the real clock a timer fires late (about 0.5 ms) and a woken waiter
// starts later still. Those delays must not add to every call a slot
// serves, or the capacity falls short of P/L (8 × 20 ms served 390/s, not
// 400/s) and a service offered exactly its capacity overloads: neither
// when callers queue in the pool (queued) nor when each caller waits for
// its call to return before making the next, as callers behind a bulkhead
// of the pool's size do (closed loop).
func TestThroughputIsPoolOverLatencyOnTheRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("real clock, 4 s")
	}
	const (
		pool    = 8
		latency = 20 * time.Millisecond
		calls   = 800 // 2 s at P/L = 400/s
	)
	for _, tc := range []struct {
		name    string
		callers int
	}{{"queued", calls}, {"closed loop", pool}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDep(t, fixed(pool, latency))
			start := time.Now()
			var wg sync.WaitGroup
			for range tc.callers {
				wg.Go(func() {
					for range calls / tc.callers {
						_, err := d.Call(context.Background())
						assert.NoError(t, err)
					}
				})
			}
			wg.Wait()
			rate := float64(calls) / time.Since(start).Seconds()
			t.Logf("throughput %.1f/s", rate)
			assert.GreaterOrEqual(t, rate, 0.99*pool/latency.Seconds(), "throughput %.1f/s, want P/L = 400/s", rate)
			assert.LessOrEqual(t, rate, 1.01*pool/latency.Seconds(), "throughput %.1f/s, want P/L = 400/s", rate)
		})
	}
}
