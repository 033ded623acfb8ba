package serverless

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func fixed(d time.Duration) dist.Latency { return dist.Latency{Dist: "fixed", P50: dist.Duration(d)} }

// testConfig is one function "f" of 100 ms with a 50 ms init, an account
// of 10, scaling of 100 per second, idle timeout 1 s and no rate ceiling.
func testConfig(edit func(*Config)) Config {
	c := DefaultConfig()
	c.AccountConcurrency = 10
	c.ScaleRate = 100
	c.ScaleInterval = dist.Duration(time.Second)
	c.IdleTimeout = dist.Duration(time.Second)
	c.EnvRPS = 0
	f := DefaultFunction("f", fixed(100*time.Millisecond))
	f.Init = fixed(50 * time.Millisecond)
	c.Functions = []Function{f}
	if edit != nil {
		edit(&c)
	}
	return c
}

func newPlatform(t testing.TB, c Config) *Platform {
	t.Helper()
	p, err := New(c, Options{Rand: rand.New(rand.NewPCG(1, 2))})
	require.NoError(t, err)
	return p
}

func acquire(t *testing.T, p *Platform, now time.Time, fn string) Lease {
	t.Helper()
	l, err := p.Acquire(now, fn)
	require.NoError(t, err)
	return l
}

func TestColdThenWarmMostRecentlyUsed(t *testing.T) {
	p := newPlatform(t, testConfig(nil))
	a := acquire(t, p, at(0), "f")
	b := acquire(t, p, at(0), "f")
	assert.True(t, a.Cold && b.Cold)
	assert.Equal(t, 50*time.Millisecond, a.Init)
	assert.Equal(t, 100*time.Millisecond, a.Duration)
	assert.Equal(t, at(150), a.End())
	p.Release(at(150), a)
	p.Release(at(160), b) // b is the most recently used

	c := acquire(t, p, at(200), "f")
	assert.False(t, c.Cold, "a warm invoke reuses an idle environment")
	assert.Zero(t, c.Init, "a warm invoke never pays init")
	assert.Same(t, b.env, c.env, "the most recently used idle environment")
	p.Release(at(300), c)
	p.Release(at(300), c) // twice: nothing

	st := p.Stats(at(300))
	assert.Equal(t, 2, st.Functions[0].Idle)
	assert.Equal(t, uint64(3), st.Functions[0].Invokes)
	assert.Equal(t, uint64(2), st.Functions[0].ColdStarts)
}

func TestIdleTimeoutReclaims(t *testing.T) {
	p := newPlatform(t, testConfig(func(c *Config) { c.Functions[0].Provisioned = 1 }))
	prov := acquire(t, p, at(0), "f")
	assert.False(t, prov.Cold, "provisioned environments are initialised at start")
	od := acquire(t, p, at(0), "f")
	assert.True(t, od.Cold)
	p.Release(at(150), od)
	p.Release(at(100), prov)

	st := p.Stats(at(1149)).Functions[0]
	assert.Equal(t, 2, st.Idle)
	st = p.Stats(at(1150)).Functions[0]
	assert.Equal(t, 1, st.Idle, "the on-demand environment idle for IdleTimeout is reclaimed")
	assert.Equal(t, uint64(1), st.Reclaimed)
	st = p.Stats(at(100_000)).Functions[0]
	assert.Equal(t, 1, st.Idle, "a provisioned environment is never reclaimed")

	l := acquire(t, p, at(100_000), "f")
	assert.False(t, l.Cold)
	l2 := acquire(t, p, at(100_000), "f")
	assert.True(t, l2.Cold, "the reclaimed environment is gone")
}

func TestStatesByTime(t *testing.T) {
	p := newPlatform(t, testConfig(nil))
	acquire(t, p, at(0), "f")
	st := p.Stats(at(10)).Functions[0]
	assert.Equal(t, [3]int{1, 0, 0}, [3]int{st.Initialising, st.Busy, st.Idle})
	st = p.Stats(at(60)).Functions[0]
	assert.Equal(t, [3]int{0, 1, 0}, [3]int{st.Initialising, st.Busy, st.Idle})
}

func TestThrottleReasons(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		fn    string
		n     int // invokes at instant 0 that succeed
		want  Reason
		extra func(t *testing.T, p *Platform)
	}{
		{name: "account", fn: "f", n: 10, want: ReasonAccount},
		{name: "reserved caps", fn: "f", n: 3, want: ReasonReserved,
			edit: func(c *Config) { c.Functions[0].Reserved = 3 }},
		{name: "scaling", fn: "f", n: 4, want: ReasonScaling,
			edit: func(c *Config) { c.ScaleRate = 4 }},
		{name: "reserved guarantees", fn: "g", n: 8, want: ReasonAccount,
			edit: func(c *Config) {
				g := DefaultFunction("g", fixed(time.Second))
				c.Functions[0].Reserved = 2
				c.Functions = append(c.Functions, g)
			},
			extra: func(t *testing.T, p *Platform) {
				// g took the whole unreserved share; f still has its 2.
				acquire(t, p, at(0), "f")
				acquire(t, p, at(0), "f")
				_, err := p.Acquire(at(0), "f")
				assert.Equal(t, ReasonReserved, err)
			}},
		{name: "provisioned counts against the account", fn: "g", n: 7, want: ReasonAccount,
			edit: func(c *Config) {
				c.Functions[0].Provisioned = 3
				c.Functions = append(c.Functions, DefaultFunction("g", fixed(time.Second)))
			},
			extra: func(t *testing.T, p *Platform) {
				for range 3 {
					l := acquire(t, p, at(0), "f")
					assert.False(t, l.Cold, "provisioned is already counted")
				}
				_, err := p.Acquire(at(0), "f")
				assert.Equal(t, ReasonAccount, err)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlatform(t, testConfig(tt.edit))
			for range tt.n {
				acquire(t, p, at(0), tt.fn)
			}
			_, err := p.Acquire(at(0), tt.fn)
			assert.Equal(t, tt.want, err)
			assert.ErrorIs(t, err, ErrThrottled)
			if tt.extra != nil {
				tt.extra(t, p)
			}
			st := p.Stats(at(0))
			for _, f := range st.Functions {
				if f.Name == tt.fn {
					assert.Equal(t, uint64(1), f.Throttles[tt.want.String()])
				}
			}
		})
	}
}

func TestUnknownFunction(t *testing.T) {
	p := newPlatform(t, testConfig(nil))
	_, err := p.Acquire(at(0), "nope")
	assert.ErrorIs(t, err, ErrUnknownFunction)
	_, err = p.Enqueue(at(0), "nope", "")
	assert.ErrorIs(t, err, ErrUnknownFunction)
}

// The scaling bucket refills continuously and holds at most ScaleRate:
// idle time does not bank more than one interval's worth of scaling.
func TestScalingBucket(t *testing.T) {
	p := newPlatform(t, testConfig(func(c *Config) {
		c.AccountConcurrency = 1000
		c.ScaleRate = 10
		c.Functions[0].Duration = fixed(15 * time.Minute) // nothing comes back
	}))
	count := func(now time.Time) int {
		n := 0
		for {
			if _, err := p.Acquire(now, "f"); err != nil {
				require.Equal(t, ReasonScaling, err)
				return n
			}
			n++
		}
	}
	tests := []struct {
		ms, want int
	}{
		{0, 10},      // a full bucket
		{100, 1},     // 10/s refills one per 100 ms
		{150, 0},     // half a token
		{200, 1},     // half left at 150, one more by 200
		{10_000, 10}, // 9.8 s idle: capped at the bucket's capacity
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, count(at(tt.ms)), "at %d ms", tt.ms)
	}
}

// An environment starts at most EnvRPS requests per second: a short
// function needs more environments than its concurrency alone would say.
func TestEnvRPSCeiling(t *testing.T) {
	p := newPlatform(t, testConfig(func(c *Config) {
		c.EnvRPS = 10
		c.Functions[0].Duration = fixed(10 * time.Millisecond)
		c.Functions[0].Init = fixed(0)
	}))
	a := acquire(t, p, at(0), "f")
	p.Release(at(10), a)
	b := acquire(t, p, at(50), "f")
	assert.True(t, b.Cold, "a's environment may not start again before 100 ms")
	p.Release(at(60), b)
	c := acquire(t, p, at(100), "f")
	assert.Same(t, a.env, c.env, "eligible again at 100 ms, though b's was used more recently")
	d := acquire(t, p, at(150), "f")
	assert.Same(t, b.env, d.env)
}

func TestSetConfigProvisionedAndLimits(t *testing.T) {
	p := newPlatform(t, testConfig(nil))
	l := acquire(t, p, at(0), "f")
	p.Release(at(150), l)

	c := p.Config()
	c.Functions[0].Provisioned = 2
	require.NoError(t, p.SetConfig(at(200), c))
	st := p.Stats(at(200)).Functions[0]
	assert.Equal(t, 2, st.Provisioned)
	assert.Equal(t, 2, st.Idle, "the idle on-demand environment was promoted, one more made")
	st = p.Stats(at(100_000)).Functions[0]
	assert.Equal(t, 2, st.Idle, "provisioned: not reclaimed")

	busy := acquire(t, p, at(100_000), "f")
	c.Functions[0].Provisioned = 0
	require.NoError(t, p.SetConfig(at(100_000), c))
	p.Release(at(100_100), busy)
	st = p.Stats(at(100_100)).Functions[0]
	assert.Equal(t, 0, st.Provisioned)
	st = p.Stats(at(101_100)).Functions[0]
	assert.Equal(t, 0, st.Idle, "demoted environments are reclaimed like on-demand ones")

	c.AccountConcurrency = 1
	require.NoError(t, p.SetConfig(at(200_000), c))
	acquire(t, p, at(200_000), "f")
	_, err := p.Acquire(at(200_000), "f")
	assert.Equal(t, ReasonAccount, err)

	c.Functions = append(c.Functions, DefaultFunction("g", fixed(0)))
	err = p.SetConfig(at(200_000), c)
	assert.ErrorContains(t, err, "functions")
	bad := p.Config()
	bad.ScaleRate = 0
	assert.ErrorContains(t, p.SetConfig(at(200_000), bad), "scale_rate")
}

func TestNewErrors(t *testing.T) {
	_, err := New(testConfig(nil), Options{})
	assert.ErrorContains(t, err, "rand")
	_, err = New(testConfig(func(c *Config) { c.AccountConcurrency = 0 }), Options{Rand: rand.New(rand.NewPCG(1, 1))})
	assert.ErrorContains(t, err, "account_concurrency: 0, want 1..100000")
}

func TestFunctionErrorsSampled(t *testing.T) {
	p := newPlatform(t, testConfig(func(c *Config) {
		c.AccountConcurrency = 100_000
		c.ScaleRate = 100_000
		c.Functions[0].ErrorRate = 0.25
	}))
	fails := 0
	for i := range 4000 {
		l := acquire(t, p, at(i), "f")
		if l.Fail {
			fails++
		}
		p.Release(l.End(), l)
	}
	assert.InDelta(t, 1000, fails, 100)
	assert.Equal(t, uint64(fails), p.Stats(at(5000)).Functions[0].Errors)
}

func TestReasonStrings(t *testing.T) {
	for _, r := range Reasons() {
		assert.True(t, errors.Is(r, ErrThrottled))
		assert.Contains(t, r.Error(), r.String())
	}
	assert.Equal(t, "reason(9)", Reason(9).String())
}
