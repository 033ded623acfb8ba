package workload

import (
	"context"
	"time"
)

// WaitUntil waits until the wall-clock instant at, or ctx's end, and
// returns how late, by this machine's clock, it returned after at (0 when
// at had not passed). Sharded generators that agreed on a start instant
// record it as their start lateness (results.Header.Shard.ClockOffset).
func WaitUntil(ctx context.Context, at time.Time) time.Duration {
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return max(0, time.Since(at))
}
