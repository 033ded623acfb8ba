package serverless

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// BenchmarkAcquireRelease is the invoke path: admission (account,
// reservation), the pick of the most recently used idle environment and
// its release, with 64 environments warm.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, envRPS := range []float64{0, 10} {
		name := "no-ceiling"
		if envRPS > 0 {
			name = "env-rps-10"
		}
		b.Run(name, func(b *testing.B) {
			c := DefaultConfig()
			c.EnvRPS = envRPS
			c.Functions = []Function{DefaultFunction("f", fixed(time.Millisecond))}
			p, err := New(c, Options{Rand: newRand()})
			if err != nil {
				b.Fatal(err)
			}
			warm := make([]Lease, 64)
			for i := range warm {
				warm[i], _ = p.Acquire(t0, "f")
			}
			for _, l := range warm {
				p.Release(t0, l)
			}
			now := t0.Add(100 * time.Millisecond)
			b.ReportAllocs()
			for b.Loop() {
				// 1.6 ms apart: with 64 environments at 10 rps each, one is
				// always eligible again.
				now = now.Add(1600 * time.Microsecond)
				l, err := p.Acquire(now, "f")
				if err != nil || l.Cold {
					b.Fatalf("cold %v, err %v", l.Cold, err)
				}
				p.Release(now, l)
			}
		})
	}
}

// BenchmarkThrottled is the refusal path: it must stay cheap under
// overload.
func BenchmarkThrottled(b *testing.B) {
	c := DefaultConfig()
	c.AccountConcurrency = 1
	c.Functions = []Function{DefaultFunction("f", dist.Latency{Dist: "fixed"})}
	p, err := New(c, Options{Rand: newRand()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Acquire(t0, "f"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Acquire(t0, "f"); err != ReasonAccount {
			b.Fatal(err)
		}
	}
}
