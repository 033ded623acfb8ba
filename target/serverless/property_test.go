package serverless

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/stretchr/testify/require"
)

// Under a random sequence of invokes, releases and reconfigurations:
// never more environments running than the account, a reservation or the
// unreserved share allow; a warm invoke never pays init and always reuses
// an environment that existed; cold starts never outrun the scaling
// bucket (at most N + (b−a)·N/D in any span [a, b]).
func TestInvariantsUnderRandomLoad(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 99))
		c := DefaultConfig()
		c.AccountConcurrency = 12
		c.ScaleRate = 5
		c.ScaleInterval = dist.Duration(100 * time.Millisecond)
		c.IdleTimeout = dist.Duration(300 * time.Millisecond)
		c.EnvRPS = 20
		exp := dist.Latency{Dist: "exponential", Scale: dist.Duration(40 * time.Millisecond)}
		init := dist.Latency{Dist: "uniform", Min: dist.Duration(5 * time.Millisecond), Max: dist.Duration(30 * time.Millisecond)}
		c.Functions = []Function{
			{Name: "r", Duration: exp, Init: init, Reserved: 3, Provisioned: 1},
			{Name: "p", Duration: exp, Init: init, Provisioned: 2},
			{Name: "o", Duration: exp, Init: init},
		}
		p, err := New(c, Options{Rand: rand.New(rand.NewPCG(seed, 1))})
		require.NoError(t, err)

		seen := map[*env]bool{}
		known := func() { // provisioned environments made by New and SetConfig
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, f := range p.order {
				for _, e := range f.provIdle {
					seen[e] = true
				}
			}
		}
		known()
		colds := map[string][]time.Time{}
		var leases []Lease
		now := t0
		for step := range 20_000 {
			now = now.Add(time.Duration(rng.IntN(3000)) * time.Microsecond)
			// End what is due, in order.
			slices.SortFunc(leases, func(a, b Lease) int { return a.End().Compare(b.End()) })
			for len(leases) > 0 && !leases[0].End().After(now) {
				p.Release(leases[0].End(), leases[0])
				leases = leases[1:]
			}
			if step%5000 == 4999 { // a live change now and then, once idle
				for _, l := range leases {
					now = later(now, l.End())
					p.Release(l.End(), l)
				}
				leases = leases[:0]
				c2 := p.Config()
				c2.AccountConcurrency = 8 + rng.IntN(8)
				c2.Functions[0].Reserved = 2 + rng.IntN(2)
				c2.Functions[0].Provisioned = rng.IntN(2)
				c2.Functions[1].Provisioned = rng.IntN(3)
				require.NoError(t, p.SetConfig(now, c2))
				known()
			}
			fn := c.Functions[rng.IntN(3)].Name
			l, err := p.Acquire(now, fn)
			if err == nil {
				if l.Cold {
					check(t, !seen[l.env], "a cold invoke makes a new environment")
					colds[fn] = append(colds[fn], now)
				} else {
					check(t, l.Init == 0, "a warm invoke never pays init")
					check(t, seen[l.env], "a warm invoke reuses an environment")
				}
				seen[l.env] = true
				leases = append(leases, l)
			}
			checkLimits(t, p)
		}
		for fn, ts := range colds {
			for i := range ts {
				for j := 0; j <= i; j++ {
					span := ts[i].Sub(ts[j]).Seconds()
					limit := float64(c.ScaleRate) * (1 + span/time.Duration(c.ScaleInterval).Seconds())
					if float64(i-j+1) > limit+1e-9 {
						t.Fatalf("%s: %d cold starts in %.3fs, the bucket allows %.1f", fn, i-j+1, span, limit)
					}
				}
			}
		}
	}
}

// checkLimits asserts the concurrency invariants from the platform's own
// state.
func checkLimits(t *testing.T, p *Platform) {
	p.mu.Lock()
	defer p.mu.Unlock()
	total, reserved, unreserved := 0, 0, 0
	for _, f := range p.order {
		n := len(f.running)
		total += n
		if f.cfg.Reserved > 0 {
			reserved += f.cfg.Reserved
			check(t, n <= f.cfg.Reserved, "%s: %d running over its reservation", f.cfg.Name, n)
		} else {
			unreserved += max(n, f.cfg.Provisioned)
		}
		check(t, f.cfg.Provisioned == f.provEnvs, "%s: %d provisioned environments", f.cfg.Name, f.provEnvs)
		check(t, f.provEnvs == len(f.provIdle)+countProvisioned(f.running), "%s: provisioned environments astray", f.cfg.Name)
	}
	check(t, unreserved == p.unreservedUsed, "unreserved bookkeeping: %d, counted %d", p.unreservedUsed, unreserved)
	check(t, unreserved <= p.cfg.AccountConcurrency-reserved, "unreserved functions over their share: %d", unreserved)
	check(t, total <= p.cfg.AccountConcurrency, "%d running over the account", total)
}

func countProvisioned(es []*env) int {
	n := 0
	for _, e := range es {
		if e.provisioned {
			n++
		}
	}
	return n
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// check fails t with the message when ok is false (cheaper than require
// in a loop of thousands of steps).
func check(t *testing.T, ok bool, format string, args ...any) {
	if !ok {
		t.Fatalf(format, args...)
	}
}
