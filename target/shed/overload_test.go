package shed

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestGoodputUnderOverload plays the scenario in fake time: a
// dependency with a pool of 8 and 20 ms per call (capacity 400/s) behind
// the shed middleware, offered 3× its capacity open-loop by clients that
// wait 1 s. Whatever the limiter, the service must keep goodput near
// capacity and the latency of its successes low, by shedding the excess
// at once instead of queueing it.
func TestGoodputUnderOverload(t *testing.T) {
	const (
		pool     = 8
		latency  = 20 * time.Millisecond
		capacity = float64(pool) / 0.020 // requests per second
		offered  = 3 * capacity
		run      = 6 * time.Second
		patience = time.Second
	)
	limiters := []struct {
		name string
		new  func() Limiter
	}{
		// unprotected: no limit, no deadline: the baseline the defences
		// must beat (checked below to collapse, so the test can tell).
		{"unprotected", nil},
		{"static", func() Limiter { return Static(pool) }},
		{"aimd", func() Limiter {
			l, _ := NewAIMD(AIMDConfig{Initial: 4, Min: 1, Max: 200, LatencyThreshold: 2 * latency})
			return l
		}},
		{"gradient", func() Limiter {
			l, _ := NewGradient(GradientConfig{Initial: 4, Min: 1, Max: 200})
			return l
		}},
	}
	for _, l := range limiters {
		name, newLimiter := l.name, l.new
		for _, d := range []Discipline{FIFO, CoDel} {
			if newLimiter == nil && d != FIFO {
				continue
			}
			t.Run(name+"/"+d.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					slots := make(chan struct{}, pool)
					var h http.Handler = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
						select {
						case slots <- struct{}{}:
						case <-r.Context().Done():
							return
						}
						time.Sleep(latency)
						<-slots
					})
					lim := Limiter(Static(0))
					if newLimiter != nil {
						lim = newLimiter()
						s := mustNew(t, Config{Limiter: lim, QueueSize: 64, MaxWait: 200 * time.Millisecond, Discipline: d})
						h = s.Middleware(h)
					}
					var mu sync.Mutex
					var ok []time.Duration
					var shed int
					var wg sync.WaitGroup
					gap := time.Second / time.Duration(offered)
					start := time.Now()
					for i := 0; time.Since(start) < run; i++ {
						wg.Go(func() {
							r, _ := http.NewRequest(http.MethodGet, "/", nil)
							r.Header.Set("X-Timeout-Ms", "1000")
							w := newWriter()
							t0 := time.Now()
							h.ServeHTTP(w, r)
							took := time.Since(t0)
							mu.Lock()
							defer mu.Unlock()
							switch {
							case w.code == http.StatusServiceUnavailable:
								shed++
							case took <= patience:
								ok = append(ok, took)
							}
						})
						time.Sleep(gap)
					}
					wg.Wait()
					goodput := float64(len(ok)) / run.Seconds()
					slices.Sort(ok)
					p99 := ok[len(ok)*99/100]
					t.Logf("goodput %.0f/s (capacity %.0f), p99 %v, shed %d, final limit %d", goodput, capacity, p99, shed, lim.Limit())
					if newLimiter == nil {
						if goodput > 0.4*capacity {
							t.Errorf("unprotected goodput %.0f/s, want it to collapse below 40%% of capacity", goodput)
						}
						return
					}
					if goodput < 0.85*capacity {
						t.Errorf("goodput %.0f/s, want ≥ 85%% of capacity %.0f/s", goodput, capacity)
					}
					if p99 > 300*time.Millisecond {
						t.Errorf("p99 of successes %v, want < 300ms", p99)
					}
				})
			})
		}
	}
}
