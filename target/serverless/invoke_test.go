package serverless

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInvokeColdThenWarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inits []time.Duration
		var mu sync.Mutex
		p, err := New(testConfig(nil), Options{Rand: newRand(), OnColdStart: func(fn string, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			inits = append(inits, d)
		}})
		require.NoError(t, err)
		start := time.Now()
		res, err := p.Invoke(context.Background(), "f")
		require.NoError(t, err)
		assert.Equal(t, Result{Cold: true, Init: 50 * time.Millisecond, Duration: 100 * time.Millisecond}, res)
		assert.Equal(t, 150*time.Millisecond, time.Since(start))
		res, err = p.Invoke(context.Background(), "f")
		require.NoError(t, err)
		assert.False(t, res.Cold)
		assert.Equal(t, 250*time.Millisecond, time.Since(start), "a warm invoke pays no init")
		assert.Equal(t, []time.Duration{50 * time.Millisecond}, inits)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = p.Invoke(ctx, "f")
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestInvokeConcurrentThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPlatform(t, testConfig(nil))
		var wg sync.WaitGroup
		var mu sync.Mutex
		reasons := map[string]int{}
		for range 14 {
			wg.Go(func() {
				_, err := p.Invoke(context.Background(), "f")
				mu.Lock()
				defer mu.Unlock()
				var r Reason
				if errors.As(err, &r) {
					reasons[r.String()]++
				} else {
					reasons["ok"]++
				}
			})
		}
		wg.Wait()
		assert.Equal(t, map[string]int{"ok": 10, "account": 4}, reasons)
	})
}

func runPlatform(t *testing.T, p *Platform) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

func TestAsyncSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPlatform(t, testConfig(nil))
		stop := runPlatform(t, p)
		for i := range 3 {
			id, err := p.Enqueue(time.Now(), "f", "")
			require.NoError(t, err)
			assert.Equal(t, uint64(i+1), id)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st := p.Stats(time.Now()).Functions[0]
		assert.Equal(t, uint64(3), st.Async.Succeeded)
		assert.Equal(t, uint64(3), st.Invokes)
		assert.Zero(t, st.Async.Depth)
		stop()
		assert.ErrorContains(t, p.Run(context.Background()), "twice")
	})
}

// A function error is retried Retries times, RetryDelay apart, then the
// event goes to the dead-letter queue.
func TestAsyncRetriesThenDeadLetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPlatform(t, testConfig(func(c *Config) {
			c.Functions[0].ErrorRate = 1
			c.Async.RetryDelay = dist.Duration(time.Second)
		}))
		stop := runPlatform(t, p)
		defer stop()
		_, err := p.Enqueue(time.Now(), "f", "r1")
		require.NoError(t, err)
		time.Sleep(2 * time.Second) // 150 + 1000 + 100 + 1000 + 100 ms
		synctest.Wait()
		st := p.Stats(time.Now()).Functions[0].Async
		assert.Equal(t, uint64(2), st.Retried)
		assert.Equal(t, uint64(0), st.Failed, "the last retry is still due")
		time.Sleep(time.Second)
		synctest.Wait()
		st = p.Stats(time.Now()).Functions[0].Async
		assert.Equal(t, uint64(1), st.Failed)
		assert.Equal(t, uint64(1), st.DeadLettered)
		assert.Equal(t, 1, st.DeadLetterDepth)
		assert.Equal(t, uint64(3), p.Stats(time.Now()).Functions[0].Errors, "1 try + 2 retries")
	})
}

// A throttled event is tried again until its maximum age, then dead
// lettered: throttles are not retries.
func TestAsyncThrottledUntilMaxEventAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPlatform(t, testConfig(func(c *Config) {
			c.Functions[0].Reserved = 1
			c.Functions[0].Duration = fixed(10 * time.Second)
			c.Async.MaxEventAge = dist.Duration(time.Second)
			c.Async.ThrottleBackoff = dist.Duration(100 * time.Millisecond)
		}))
		stop := runPlatform(t, p)
		defer stop()
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = p.Invoke(context.Background(), "f") }) // holds the only slot
		synctest.Wait()
		_, err := p.Enqueue(time.Now(), "f", "")
		require.NoError(t, err)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		st := p.Stats(time.Now()).Functions[0]
		assert.Equal(t, uint64(1), st.Async.Expired)
		assert.Equal(t, uint64(1), st.Async.DeadLettered)
		assert.InDelta(t, 11, st.Async.Throttled, 1)
		assert.Equal(t, st.Async.Throttled, st.Throttles["reserved"])
		assert.Zero(t, st.Async.Retried)
		wg.Wait()
	})
}

func TestEnqueueQueueFull(t *testing.T) {
	p := newPlatform(t, testConfig(func(c *Config) { c.Async.QueueCapacity = 1 }))
	_, err := p.Enqueue(t0, "f", "")
	require.NoError(t, err)
	_, err = p.Enqueue(t0, "f", "")
	assert.ErrorIs(t, err, ErrQueueFull)
}
