package serverless

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// measured drives p with Poisson arrivals of rate lambda (per second) of
// function "f" for span, on simulated time, and returns the fraction of
// admitted invokes that were cold, the time-average number of
// environments (sampled every every) and the invocations completed.
func measured(t *testing.T, p *Platform, rng *rand.Rand, lambda float64, span, every time.Duration) (coldFrac, meanEnvs float64, done int) {
	var running []Lease
	next := t0.Add(time.Duration(rng.ExpFloat64() / lambda * float64(time.Second)))
	tick := t0
	end := t0.Add(span)
	var sum float64
	samples, cold, admitted := 0, 0, 0
	for {
		// The earliest of: a lease's end, the next arrival, the next sample.
		slices.SortFunc(running, func(a, b Lease) int { return a.End().Compare(b.End()) })
		switch {
		case len(running) > 0 && !running[0].End().After(next) && !running[0].End().After(tick):
			p.Release(running[0].End(), running[0])
			running = running[1:]
			done++
		case !tick.After(next):
			if !tick.Before(end) {
				return float64(cold) / float64(admitted), sum / float64(samples), done
			}
			st := p.Stats(tick).Functions[0]
			sum += float64(st.Concurrency + st.Idle)
			samples++
			tick = tick.Add(every)
		default:
			l, err := p.Acquire(next, "f")
			if err == nil {
				admitted++
				if l.Cold {
					cold++
				}
				running = append(running, l)
			} else {
				require.ErrorIs(t, err, ErrThrottled)
			}
			next = next.Add(time.Duration(rng.ExpFloat64() / lambda * float64(time.Second)))
		}
	}
}

// simulate is an independent discrete-event simulation of the model,
// written from its definitions: Poisson arrivals of rate lambda,
// exponential run times of mean mean, no limits. An arrival first drops
// every environment idle for timeout or longer, then takes the idle
// environment that became idle last, or else creates one (a cold start).
func simulate(rng *rand.Rand, lambda float64, mean, timeout, span time.Duration) (coldFrac, meanEnvs float64) {
	type sandbox struct{ busyUntil float64 } // seconds; idle since busyUntil once past
	var boxes []sandbox
	to := timeout.Seconds()
	alive := func(b sandbox, t float64) bool { return t < b.busyUntil || t-b.busyUntil < to }
	var area float64 // ∫ environments dt, integrated exactly between arrivals
	t, arrivals, colds := 0.0, 0, 0
	for {
		next := t + rng.ExpFloat64()/lambda
		if next > span.Seconds() {
			next = span.Seconds()
		}
		for _, b := range boxes { // each lives until busyUntil + timeout
			area += math.Max(0, math.Min(next, b.busyUntil+to)-t)
		}
		t = next
		if t >= span.Seconds() {
			return float64(colds) / float64(arrivals), area / span.Seconds()
		}
		boxes = slices.DeleteFunc(boxes, func(b sandbox) bool { return !alive(b, t) })
		arrivals++
		run := rng.ExpFloat64() * mean.Seconds()
		pick := -1
		for i, b := range boxes {
			if b.busyUntil <= t && (pick < 0 || b.busyUntil > boxes[pick].busyUntil) {
				pick = i
			}
		}
		if pick < 0 {
			colds++
			boxes = append(boxes, sandbox{busyUntil: t + run})
			continue
		}
		boxes[pick].busyUntil = t + run
	}
}

// With no limits the platform is an M/M/∞ system whose environments
// linger IdleTimeout after each use: its cold-start fraction and mean
// number of environments match the independent simulation, and its mean
// concurrency is λ/μ.
func TestTheoryColdStartsAndEnvironments(t *testing.T) {
	const (
		lambda  = 50.0 // per second
		mean    = 100 * time.Millisecond
		timeout = 150 * time.Millisecond
		span    = 200 * time.Second
	)
	c := DefaultConfig()
	c.AccountConcurrency = MaxAccountConcurrency
	c.ScaleRate = MaxScaleRate
	c.ScaleInterval = dist.Duration(time.Millisecond)
	c.IdleTimeout = dist.Duration(timeout)
	c.EnvRPS = 0
	c.Functions = []Function{DefaultFunction("f", dist.Latency{Dist: "exponential", Scale: dist.Duration(mean)})}
	p, err := New(c, Options{Rand: rand.New(rand.NewPCG(7, 1))})
	require.NoError(t, err)
	gotCold, gotEnvs, done := measured(t, p, rand.New(rand.NewPCG(7, 2)), lambda, span, 5*time.Millisecond)
	wantCold, wantEnvs := simulate(rand.New(rand.NewPCG(8, 3)), lambda, mean, timeout, span)
	t.Logf("cold-start fraction: platform %.4f, simulation %.4f", gotCold, wantCold)
	t.Logf("mean environments:   platform %.3f, simulation %.3f (mean busy λ/μ = %.1f)", gotEnvs, wantEnvs, lambda*mean.Seconds())
	assert.InEpsilon(t, wantCold, gotCold, 0.15)
	assert.InEpsilon(t, wantEnvs, gotEnvs, 0.15)
	assert.InEpsilon(t, lambda, float64(done)/span.Seconds(), 0.03, "everything offered is served")
}

// With a concurrency limit L, fixed run time d and Poisson arrivals at
// twice the capacity L/d, goodput stays within 10% of L/d: a loss system
// whose carried rate is λ(1 − B(λd, L)) by Erlang's B formula.
func TestTheoryGoodputAtTwiceCapacity(t *testing.T) {
	const (
		limit = 10
		d     = 100 * time.Millisecond
		span  = 200 * time.Second
	)
	capacity := limit / d.Seconds()
	lambda := 2 * capacity
	c := DefaultConfig()
	c.AccountConcurrency = limit
	c.ScaleRate = MaxScaleRate
	c.ScaleInterval = dist.Duration(time.Millisecond)
	c.IdleTimeout = dist.Duration(time.Minute)
	c.EnvRPS = 0
	c.Functions = []Function{DefaultFunction("f", fixed(d))}
	p, err := New(c, Options{Rand: rand.New(rand.NewPCG(9, 1))})
	require.NoError(t, err)
	_, _, done := measured(t, p, rand.New(rand.NewPCG(9, 2)), lambda, span, span)
	goodput := float64(done) / span.Seconds()
	erlang := lambda * (1 - erlangB(lambda*d.Seconds(), limit))
	t.Logf("goodput %.1f/s at %.0f/s offered; capacity L/d = %.0f/s, Erlang B carried rate %.1f/s", goodput, lambda, capacity, erlang)
	assert.InEpsilon(t, capacity, goodput, 0.10)
	assert.InEpsilon(t, erlang, goodput, 0.03)
	st := p.Stats(t0.Add(span)).Functions[0]
	assert.Equal(t, uint64(limit), st.ColdStarts, "L environments, made once and kept warm")
}

// erlangB is the blocking probability of an M/G/c/c system with offered
// load a erlangs: B(a, 0) = 1, B(a, c) = a·B(a, c−1) / (c + a·B(a, c−1)).
func erlangB(a float64, c int) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}
