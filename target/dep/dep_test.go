package dep

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fixed(pool int, d time.Duration) Config {
	return Config{Pool: pool, Latency: dist.Latency{Dist: "fixed", P50: dist.Duration(d)}}
}

func newDep(t *testing.T, cfg Config) *Dep {
	t.Helper()
	d, err := New("db", cfg, rand.New(rand.NewPCG(1, 2)), nil)
	require.NoError(t, err)
	return d
}

// With pool P and latency L the dependency serves P/L calls per second,
// however many callers pile up.
func TestThroughputIsPoolOverLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDep(t, fixed(4, 10*time.Millisecond))
		start := time.Now()
		var wg sync.WaitGroup
		const calls = 400
		for range calls {
			wg.Go(func() {
				_, err := d.Call(context.Background())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		rate := float64(calls) / elapsed.Seconds()
		assert.InDelta(t, 4/0.010, rate, 4/0.010*0.05, "throughput %v/s, want P/L = 400/s", rate)
		assert.Equal(t, int64(calls), d.Stats().Calls)
	})
}

func TestWaitersAreServedFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDep(t, fixed(1, time.Millisecond))
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				_, err := d.Call(context.Background())
				assert.NoError(t, err)
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
			synctest.Wait() // caller i is holding the slot or queued before i+1 arrives
		}
		wg.Wait()
		assert.Equal(t, []int{0, 1, 2, 3, 4}, order)
	})
}

func TestTimingSplitsWaitAndService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDep(t, fixed(1, 30*time.Millisecond))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = d.Call(context.Background()) })
		synctest.Wait()
		tm, err := d.Call(context.Background())
		require.NoError(t, err)
		wg.Wait()
		assert.Equal(t, 30*time.Millisecond, tm.Wait)
		assert.Equal(t, 30*time.Millisecond, tm.Service)
	})
}

// A caller who leaves while queued gives up its place and never takes a
// slot.
func TestQueuedCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDep(t, fixed(1, 100*time.Millisecond))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = d.Call(context.Background()) })
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		tm, err := d.Call(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 10*time.Millisecond, time.Since(start))
		assert.Equal(t, 10*time.Millisecond, tm.Wait)
		st := d.Stats()
		assert.Equal(t, 1, st.InUse)
		assert.Equal(t, 0, st.Queued)
		wg.Wait()
		assert.Equal(t, int64(1), d.Stats().Calls)
	})
}

// StopOnCancel false: the work goes on for a caller who left, holding its
// slot, and is counted as wasted.
func TestWorkContinuesAfterCallerLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDep(t, fixed(1, 100*time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		var next time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Millisecond) // fake time: arrive after the first caller
			tm, err := d.Call(context.Background())
			assert.NoError(t, err)
			next = tm.Wait
		})
		_, err := d.Call(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "the call finished its work")
		wg.Wait()
		assert.Equal(t, 99*time.Millisecond, next, "the slot was held for the whole latency")
		st := d.Stats()
		assert.Equal(t, int64(1), st.Wasted)
		assert.Equal(t, 100*time.Millisecond, st.WastedTime)
	})
}

func TestStopOnCancelFreesTheSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fixed(1, 100*time.Millisecond)
		cfg.StopOnCancel = true
		d := newDep(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := d.Call(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 10*time.Millisecond, time.Since(start))
		st := d.Stats()
		assert.Equal(t, 0, st.InUse)
		assert.Equal(t, int64(0), st.Wasted)
	})
}

func TestStallUntilLiftedOrCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fixed(2, 5*time.Millisecond)
		cfg.Stall = true
		d := newDep(t, cfg)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := d.Call(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "a stalled call ends with its caller")

		var wg sync.WaitGroup
		var elapsed time.Duration
		wg.Go(func() {
			s := time.Now()
			_, err := d.Call(context.Background())
			assert.NoError(t, err)
			elapsed = time.Since(s)
		})
		time.Sleep(3 * time.Second) // fake time
		synctest.Wait()
		assert.Equal(t, 1, d.Stats().InUse, "stalled call holds its slot")
		cfg.Stall = false
		require.NoError(t, d.Update(cfg))
		wg.Wait()
		assert.Equal(t, 3*time.Second+5*time.Millisecond, elapsed)
	})
}

func TestPoolResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDep(t, fixed(1, 100*time.Millisecond))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { _, _ = d.Call(context.Background()) })
		}
		synctest.Wait()
		st := d.Stats()
		assert.Equal(t, [3]int{1, 3, 1}, [3]int{st.InUse, st.Queued, st.Size})

		_, err := d.Patch([]byte(`{"pool": 3}`))
		require.NoError(t, err)
		synctest.Wait()
		st = d.Stats()
		assert.Equal(t, [3]int{3, 1, 3}, [3]int{st.InUse, st.Queued, st.Size}, "growing grants waiters at once")

		_, err = d.Patch([]byte(`{"pool": 1}`))
		require.NoError(t, err)
		st = d.Stats()
		assert.Equal(t, 3, st.InUse, "shrinking takes no slot away")
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		st = d.Stats()
		assert.Equal(t, [3]int{1, 0, 1}, [3]int{st.InUse, st.Queued, st.Size})
		wg.Wait()
	})
}

func TestErrorRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := fixed(100, time.Millisecond)
		cfg.ErrorRate = 0.25
		cfg.ErrorStatus = 503
		d := newDep(t, cfg)
		failed := 0
		for range 2000 {
			_, err := d.Call(context.Background())
			var se *StatusError
			if errors.As(err, &se) {
				assert.Equal(t, 503, se.Status)
				failed++
			} else {
				require.NoError(t, err)
			}
		}
		assert.InDelta(t, 500, failed, 80)
		assert.Equal(t, int64(failed), d.Stats().Errors)
	})
}

func TestSampleLatency(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sample := func(cfg Config, n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = sampleLatency(cfg, rng)
		}
		slices.Sort(out)
		return out
	}
	ms := func(v float64) dist.Duration { return dist.Duration(v * float64(time.Millisecond)) }

	ln := sample(Config{Latency: dist.Latency{Dist: "lognormal", P50: ms(20), P99: ms(80)}}, 20000)
	assert.InEpsilon(t, float64(20*time.Millisecond), float64(ln[10000]), 0.05, "p50")
	assert.InEpsilon(t, float64(80*time.Millisecond), float64(ln[19800]), 0.10, "p99")

	un := sample(Config{Latency: dist.Latency{Dist: "uniform", Min: ms(10), Max: ms(30)}}, 5000)
	assert.GreaterOrEqual(t, un[0], 10*time.Millisecond)
	assert.Less(t, un[len(un)-1], 30*time.Millisecond)
	assert.InEpsilon(t, float64(20*time.Millisecond), float64(un[2500]), 0.05)

	slowed := sample(Config{Latency: dist.Latency{Dist: "fixed", P50: ms(20)}, LatencyMultiplier: 3,
		AddLatency: ms(5), AddJitter: ms(10)}, 2000)
	assert.GreaterOrEqual(t, slowed[0], 65*time.Millisecond)
	assert.Less(t, slowed[len(slowed)-1], 75*time.Millisecond)
}

func TestPatch(t *testing.T) {
	d := newDep(t, fixed(8, 20*time.Millisecond))
	cfg, err := d.Patch([]byte(`{"add_latency": "2s", "latency": {"p50": "30ms"}}`))
	require.NoError(t, err)
	want := fixed(8, 30*time.Millisecond)
	want.AddLatency = dist.Duration(2 * time.Second)
	assert.Equal(t, want, cfg, "missing fields keep their value")
	assert.Equal(t, want, d.Config())

	for body, field := range map[string]string{
		`{"pool": 0}`:                 "pool",
		`{"error_rate": 1.5}`:         "error_rate",
		`{"latency": {"dist": "x"}}`:  "latency.dist",
		`{"add_latency": "soon"}`:     "soon",
		`{"no_such_field": 1}`:        "no_such_field",
		`{"pool": "eight"}`:           "pool",
		`{"pool": 2} {"pool": 3}`:     "trailing",
		`{"error_status": 200}`:       "error_status",
		`{"latency_multiplier": -1}`:  "latency_multiplier",
		`{"add_jitter": "-1ms"}`:      "add_jitter",
		`{"latency": {"p99": "1ms"}}`: "",
	} {
		_, err := d.Patch([]byte(body))
		if field == "" {
			assert.NoError(t, err, body) // fixed ignores p99
			continue
		}
		if assert.Error(t, err, body) {
			assert.Contains(t, err.Error(), field, body)
		}
	}
	assert.Equal(t, want.Pool, d.Config().Pool, "a rejected patch changes nothing")

	cfg, err = d.Patch([]byte(`{"latency": {"dist": "uniform", "min": "1ms", "max": "3ms"}}`))
	require.NoError(t, err)
	assert.Equal(t, dist.Latency{Dist: "uniform", Min: dist.Duration(time.Millisecond), Max: dist.Duration(3 * time.Millisecond)}, cfg.Latency,
		"switching the distribution drops the old one's fields")
}

func TestRemoteDependency(t *testing.T) {
	status := http.StatusOK
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	d := newDep(t, Config{Pool: 2, URL: srv.URL})
	_, err := d.Call(context.Background())
	require.NoError(t, err)

	mu.Lock()
	status = http.StatusBadGateway
	mu.Unlock()
	_, err = d.Call(context.Background())
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusBadGateway, se.Status)

	_, err = d.Patch([]byte(`{"error_rate": 1}`))
	require.NoError(t, err)
	_, err = d.Call(context.Background())
	assert.ErrorIs(t, err, ErrConnReset)
	assert.Equal(t, int64(3), d.Stats().Calls)
	srv.Client().CloseIdleConnections()
	d.client.CloseIdleConnections()
}

// BenchmarkCall is the cost of one call with no latency: slot acquire and
// release, sampling, counters.
func BenchmarkCall(b *testing.B) {
	d, err := New("db", fixed(8, 0), rand.New(rand.NewPCG(1, 2)), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Call(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
