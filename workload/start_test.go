package workload

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestWaitUntilMeasuresStartLateness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now()
		if late := WaitUntil(ctx, now.Add(3*time.Second)); late != 0 {
			t.Errorf("waiting for a future instant: %v late, want 0", late)
		}
		if waited := time.Since(now); waited != 3*time.Second {
			t.Errorf("returned after %v, want 3s", waited)
		}
		if late := WaitUntil(ctx, time.Now().Add(-1500*time.Millisecond)); late != 1500*time.Millisecond {
			t.Errorf("an instant 1.5s ago: %v late, want 1.5s", late)
		}
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			time.Sleep(time.Second) // fake time: the bubble's clock advances
			cancel()
		}()
		start := time.Now()
		WaitUntil(cctx, start.Add(time.Minute))
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("a cancelled wait returned after %v, want 1s", waited)
		}
	})
}
