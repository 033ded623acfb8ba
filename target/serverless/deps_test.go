package serverless

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/target/dep"
)

var _ Dependency = (*dep.Dep)(nil)

// newDB is a real target/dep pool of size pool whose calls take latency.
func newDB(t *testing.T, pool int, latency time.Duration) *dep.Dep {
	t.Helper()
	d, err := dep.New("db", dep.Config{Pool: pool, Latency: fixed(latency)}, rand.New(rand.NewPCG(3, 4)), nil)
	require.NoError(t, err)
	return d
}

// depConfig is testConfig with function f calling db.
func depConfig(edit func(*Config)) Config {
	return testConfig(func(c *Config) {
		c.Functions[0].Deps = []string{"db"}
		if edit != nil {
			edit(c)
		}
	})
}

func TestInvokeCallsDependencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := newDB(t, 4, 20*time.Millisecond)
		p, err := New(depConfig(func(c *Config) { c.Functions[0].Deps = []string{"db", "db"} }),
			Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
		require.NoError(t, err)
		start := time.Now()
		res, err := p.Invoke(context.Background(), "f")
		require.NoError(t, err)
		assert.Equal(t, Result{Cold: true, Init: 50 * time.Millisecond, Duration: 100 * time.Millisecond,
			Calls: []Call{{Dep: "db", Service: 20 * time.Millisecond}, {Dep: "db", Service: 20 * time.Millisecond}}}, res)
		assert.Equal(t, 190*time.Millisecond, time.Since(start), "init, two calls, then the function's own time")
		assert.EqualValues(t, 2, db.Stats().Calls)

		res, err = p.Invoke(context.Background(), "f")
		require.NoError(t, err)
		assert.False(t, res.Cold, "a warm invoke pays no init")
		assert.Len(t, res.Calls, 2)
		assert.Equal(t, 330*time.Millisecond, time.Since(start))
		st := p.Stats(time.Now())
		assert.EqualValues(t, 2, st.Functions[0].Invokes)
		assert.Zero(t, st.Concurrency, "both environments handed back")
	})
}

// The calls hold the environment: with the pool of one slot and two
// invokes at once, the second waits for the slot while it holds its own
// environment, and the wait shows in its Call.
func TestInvokeWaitsForTheDependencyPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := newDB(t, 1, 20*time.Millisecond)
		p, err := New(depConfig(nil), Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
		require.NoError(t, err)
		var wg sync.WaitGroup
		results := make([]Result, 2)
		for i := range results {
			wg.Go(func() {
				var err error
				results[i], err = p.Invoke(context.Background(), "f")
				assert.NoError(t, err)
			})
		}
		synctest.Wait()
		assert.Equal(t, 2, p.Stats(time.Now()).Concurrency)
		time.Sleep(60 * time.Millisecond) // on the bubble's clock: both inits done, one call in its slot
		synctest.Wait()
		st := db.Stats()
		assert.Equal(t, 1, st.InUse)
		assert.Equal(t, 1, st.Queued, "the second invoke waits for the slot")
		assert.Equal(t, 2, p.Stats(time.Now()).Functions[0].Busy, "and holds its environment meanwhile")
		wg.Wait()
		waits := []time.Duration{results[0].Calls[0].Wait, results[1].Calls[0].Wait}
		assert.ElementsMatch(t, []time.Duration{0, 20 * time.Millisecond}, waits)
	})
}

// A failed dependency call ends the invocation at once: a FunctionError
// wrapping the call's error, counted as the function's error, the
// environment handed back at the failure.
func TestInvokeDependencyFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := dep.New("db", dep.Config{Pool: 4, Latency: fixed(20 * time.Millisecond), ErrorRate: 1, ErrorStatus: 503},
			rand.New(rand.NewPCG(3, 4)), nil)
		require.NoError(t, err)
		p, err := New(depConfig(nil), Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
		require.NoError(t, err)
		start := time.Now()
		res, err := p.Invoke(context.Background(), "f")
		var fe *FunctionError
		require.ErrorAs(t, err, &fe)
		var se *dep.StatusError
		require.ErrorAs(t, err, &se, "the dependency's error is wrapped")
		assert.Equal(t, 503, se.Status)
		assert.Contains(t, err.Error(), "function f failed: dependency db")
		assert.Equal(t, 70*time.Millisecond, time.Since(start), "init and the call, not the function's own time")
		assert.Zero(t, res.Duration)
		assert.Len(t, res.Calls, 1)
		st := p.Stats(time.Now())
		assert.EqualValues(t, 1, st.Functions[0].Errors)
		assert.Zero(t, st.Concurrency)
		assert.Equal(t, 1, st.Functions[0].Idle)
	})
}

// A caller who leaves while the invocation waits for a dependency slot
// ends the wait: the invocation fails at once and hands its environment
// back.
func TestInvokeDependencyWaitEndsWithTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := newDB(t, 1, time.Second)
		p, err := New(depConfig(func(c *Config) { c.Functions[0].Init = fixed(0) }),
			Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
		require.NoError(t, err)
		first := make(chan error, 1)
		go func() { _, err := p.Invoke(context.Background(), "f"); first <- err }() // holds the slot 1 s
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = p.Invoke(ctx, "f")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var fe *FunctionError
		assert.ErrorAs(t, err, &fe)
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
		assert.Equal(t, 1, p.Stats(time.Now()).Concurrency, "only the first invoke still runs")
		assert.NoError(t, <-first)
		assert.Equal(t, 1100*time.Millisecond, time.Since(start), "the first: its 1 s call, then its own 100 ms")
	})
}

func TestUnknownDependency(t *testing.T) {
	db := newDB(t, 1, time.Millisecond)
	_, err := New(depConfig(func(c *Config) { c.Functions[0].Deps = []string{"cache"} }),
		Options{Rand: newRand(), Deps: map[string]Dependency{"db": db, "search": db}})
	assert.ErrorContains(t, err, `functions[f].deps: unknown dependency "cache", want one of [db, search]`)
	_, err = New(depConfig(nil), Options{Rand: newRand()})
	assert.ErrorContains(t, err, `functions[f].deps: unknown dependency "db", want one of []`)

	p, err := New(testConfig(nil), Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
	require.NoError(t, err)
	err = p.SetConfig(time.Now(), depConfig(func(c *Config) { c.Functions[0].Deps = []string{"db", "queue"} }))
	assert.ErrorContains(t, err, `functions[f].deps: unknown dependency "queue"`)
	assert.Empty(t, p.Config().Functions[0].Deps, "a refused config changes nothing")
	require.NoError(t, p.SetConfig(time.Now(), depConfig(nil)))
	assert.Equal(t, []string{"db"}, p.Config().Functions[0].Deps)
}

func TestValidateDeps(t *testing.T) {
	c := depConfig(func(c *Config) { c.Functions[0].Deps = []string{"db", "bad name"} })
	assert.ErrorContains(t, c.Validate(), `functions[f].deps: "bad name": want only a-z`)
	c = depConfig(func(c *Config) { c.Functions[0].Deps = make([]string, MaxDeps+1) })
	assert.ErrorContains(t, c.Validate(), "functions[f].deps: 17 dependencies, want 0..16")
}

// Patch replaces a function's deps without touching the configuration it
// patched (the decoder would otherwise reuse the shared slice).
func TestPatchDeps(t *testing.T) {
	c := depConfig(func(c *Config) { c.Functions[0].Deps = []string{"db", "db"} })
	out, err := c.Patch([]byte(`{"functions": [{"name": "f", "deps": ["search"]}]}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"search"}, out.Functions[0].Deps)
	assert.Equal(t, []string{"db", "db"}, c.Functions[0].Deps)
}

// Little's law through a dependency: at 100 invokes per second, a 20 ms
// function calling a 25 ms db runs 45 ms, so 4.5 environments are busy on
// average (5 just after each arrival, where the test looks) and an account
// of 10 never throttles. Slow the db down by 100 ms (as a fault does
// through the admin API) and the same rate needs 100 × 0.145 = 14.5
// environments: the account caps them at 10 and throttles the rest. With
// arrivals every 10 ms and a fixed 145 ms, an environment freed at 145 ms
// takes the arrival at 150 ms: 10 of every 15 arrivals are admitted and 5
// throttled. (The 5 ms offset keeps ends and arrivals apart, so the order
// of goroutines at one instant decides nothing.)
func TestSlowDependencyRaisesConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := newDB(t, 100, 25*time.Millisecond)
		p, err := New(depConfig(func(c *Config) {
			c.AccountConcurrency = 10
			c.ScaleRate = 1000 // scaling does not bind
			c.Functions[0].Duration = fixed(20 * time.Millisecond)
			c.Functions[0].Init = fixed(0)
		}), Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
		require.NoError(t, err)

		const n = 300 // 3 s at 100/s
		run := func() (busy []int, throttled int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for range n {
				wg.Go(func() {
					_, err := p.Invoke(context.Background(), "f")
					if err != nil {
						assert.ErrorIs(t, err, ReasonAccount)
						mu.Lock()
						throttled++
						mu.Unlock()
					}
				})
				synctest.Wait()
				busy = append(busy, p.Stats(time.Now()).Functions[0].Busy)
				time.Sleep(10 * time.Millisecond) // the bubble's clock: the next arrival
			}
			wg.Wait()
			return busy, throttled
		}
		mean := func(xs []int) float64 {
			s := 0
			for _, x := range xs[len(xs)/3:] { // past the first second's ramp
				s += x
			}
			return float64(s) / float64(len(xs)-len(xs)/3)
		}

		busy, throttled := run()
		assert.Zero(t, throttled, "45 ms at 100/s fits in an account of 10")
		assert.Equal(t, 5, slices.Max(busy))
		assert.InDelta(t, 5, mean(busy), 0.01, "Little's law: 100/s × 45 ms, just after an arrival")

		slow := db.Config()
		slow.AddLatency = dist.Duration(100 * time.Millisecond)
		require.NoError(t, db.Update(slow))
		busy, throttled = run()
		t.Logf("db slowed to 125 ms: %d of %d throttled, mean busy %.2f", throttled, n, mean(busy))
		assert.Equal(t, 10, slices.Max(busy), "the account caps the environments")
		assert.InDelta(t, 10, mean(busy), 0.01, "wanting 14.5, the function holds all 10")
		assert.InDelta(t, 1.0/3, float64(throttled)/n, 0.02)
		st := p.Stats(time.Now()).Functions[0]
		assert.EqualValues(t, throttled, st.Throttles["account"])
	})
}

// An asynchronous event whose function's dependency fails is retried like
// any function error, each try calling the dependency again, then dead
// lettered.
func TestAsyncRetriesADependencyFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := dep.New("db", dep.Config{Pool: 4, Latency: fixed(20 * time.Millisecond), ErrorRate: 1},
			rand.New(rand.NewPCG(3, 4)), nil)
		require.NoError(t, err)
		p, err := New(depConfig(func(c *Config) { c.Async.RetryDelay = dist.Duration(time.Second) }),
			Options{Rand: newRand(), Deps: map[string]Dependency{"db": db}})
		require.NoError(t, err)
		stop := runPlatform(t, p)
		defer stop()
		_, err = p.Enqueue(time.Now(), "f", "r1")
		require.NoError(t, err)
		time.Sleep(3 * time.Second) // on the bubble's clock: 70 ms, then 2 × (1 s + 20 ms)
		synctest.Wait()
		st := p.Stats(time.Now()).Functions[0]
		assert.Equal(t, uint64(2), st.Async.Retried)
		assert.Equal(t, uint64(1), st.Async.Failed)
		assert.Equal(t, uint64(1), st.Async.DeadLettered)
		assert.Equal(t, uint64(3), st.Errors, "1 try + 2 retries")
		assert.EqualValues(t, 3, db.Stats().Calls, "each try called db")
	})
}
