package shed

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStressInvariants runs many real goroutines through each discipline,
// with timeouts, cancellations and deadlines mixed in: the limit is never
// exceeded, every request gets exactly one answer, and no slot or waiter
// is leaked.
func TestStressInvariants(t *testing.T) {
	for _, d := range []Discipline{FIFO, LIFO, CoDel} {
		t.Run(d.String(), func(t *testing.T) {
			const limit = 4
			var admitted, rejected atomic.Int64
			s := mustNew(t, Config{Limiter: Static(limit), QueueSize: 8, MaxWait: 2 * time.Millisecond,
				Discipline: d, CoDelTarget: 500 * time.Microsecond, CoDelInterval: time.Millisecond,
				Observer: Funcs{
					OnAdmitted: func(time.Duration) { admitted.Add(1) },
					OnRejected: func(Reason) { rejected.Add(1) },
				}})
			var running, over atomic.Int64
			var wg sync.WaitGroup
			const n = 2000
			for i := range n {
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				wg.Go(func() {
					ctx := context.Background()
					a := Attrs{}
					switch rng.IntN(4) {
					case 0:
						a.Deadline = time.Now().Add(time.Duration(rng.IntN(3000)) * time.Microsecond)
					case 1:
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(1000))*time.Microsecond)
						defer cancel()
					case 2:
						a.Priority = Sheddable
					}
					p, err := s.Acquire(ctx, a)
					if err != nil {
						return
					}
					if running.Add(1) > limit {
						over.Add(1)
					}
					for range rng.IntN(50) {
						runtime.Gosched()
					}
					running.Add(-1)
					p.Release(rng.IntN(10) == 0)
				})
			}
			wg.Wait()
			if over.Load() != 0 {
				t.Fatalf("the limit of %d was exceeded %d times", limit, over.Load())
			}
			if got := admitted.Load() + rejected.Load(); got != n {
				t.Fatalf("%d admitted + %d rejected = %d answers for %d requests", admitted.Load(), rejected.Load(), got, n)
			}
			if s.InFlight() != 0 || s.Queued() != 0 {
				t.Fatalf("InFlight %d Queued %d at the end, want 0 0", s.InFlight(), s.Queued())
			}
			if admitted.Load() == 0 || rejected.Load() == 0 {
				t.Fatalf("admitted %d rejected %d: the test did not exercise both paths", admitted.Load(), rejected.Load())
			}
		})
	}
}
