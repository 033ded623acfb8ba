package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// pacer maps an arrival's position in count space (the x-th request of the
// schedule) to its intended start, as a pure function of the schedule and
// the rate multipliers set so far: no clock, no sleeps, so a 10-minute run
// does not drift and a test needs no time.
//
// With multiplier m set at offset t₀ (when the effective count was e₀ and the
// schedule's own count c₀ = Count(t₀)), the effective count is
// E(t) = e₀ + m·(Count(t) − c₀) for t ≥ t₀, and arrival x starts at
// E⁻¹(x) = TimeOf(c₀ + (x − e₀)/m).
//
// A pacer is not safe for concurrent use. Its zero value is not usable; use
// newPacer.
type pacer struct {
	sched *Schedule
	t0    time.Duration
	e0    float64
	c0    float64
	m     float64
}

// newPacer returns a pacer for s with multiplier 1.
func newPacer(s *Schedule) *pacer { return &pacer{sched: s, m: 1} }

// pacing is what pacer.At says about an arrival.
type pacing uint8

// Pacings.
const (
	paceAt    pacing = iota // the arrival starts at the returned offset
	paceNever               // the multiplier is 0: the arrival waits for a change
	paceDone                // the schedule ends before the arrival
)

// At returns the intended start of the arrival at count position x.
func (p *pacer) At(x float64) (time.Duration, pacing) {
	if x <= p.e0 {
		return p.t0, paceAt // due since the last change
	}
	if p.m == 0 {
		return 0, paceNever
	}
	t, ok := p.sched.TimeOf(p.c0 + (x-p.e0)/p.m)
	if !ok || t >= p.sched.Duration() {
		return t, paceDone
	}
	if t < p.t0 {
		t = p.t0
	}
	return t, paceAt
}

// Effective returns E(t), the effective count at offset t ≥ the last change.
func (p *pacer) Effective(t time.Duration) float64 {
	return p.e0 + p.m*(p.sched.Count(t)-p.c0)
}

// SetMultiplier multiplies the offered rate by m (≥ 0) from offset t on;
// t must not precede the previous change.
func (p *pacer) SetMultiplier(t time.Duration, m float64) {
	if t < p.t0 {
		t = p.t0
	}
	p.e0 = p.Effective(t)
	p.c0 = p.sched.Count(t)
	p.t0 = t
	p.m = m
}

// Multiplier returns the current rate multiplier.
func (p *pacer) Multiplier() float64 { return p.m }

// Arrival is an arrival process: how requests are spread in time at a given
// rate.
type Arrival uint8

// Arrival processes.
const (
	// ArrivalUniform spaces requests evenly: the k-th request of the schedule
	// starts when ∫rate dt reaches k (k = 0, 1, …).
	ArrivalUniform Arrival = iota
	// ArrivalPoisson draws exponential inter-arrivals (mean 1 in count
	// space): a Poisson process of the schedule's rate, by time change.
	ArrivalPoisson
)

// String returns the flag spelling of a.
func (a Arrival) String() string {
	if a == ArrivalPoisson {
		return "poisson"
	}
	return "uniform"
}

// ParseArrival parses "uniform" or "poisson".
func ParseArrival(s string) (Arrival, error) {
	switch s {
	case "uniform":
		return ArrivalUniform, nil
	case "poisson":
		return ArrivalPoisson, nil
	}
	return 0, fmt.Errorf("arrival %q: valid are uniform, poisson", s)
}

// Shard places one generator among Count generators sharing a run. The zero
// value means unsharded (one shard).
type Shard struct {
	Index int // in [0, Count)
	Count int // ≥ 1; 0 means 1
}

// N returns the shard count (1 for the zero value).
func (s Shard) N() int {
	if s.Count <= 0 {
		return 1
	}
	return s.Count
}

// Validate reports whether the shard is well formed.
func (s Shard) Validate() error {
	if s.Count < 0 || s.Index < 0 || (s.Index >= s.N()) {
		return fmt.Errorf("shard %d/%d: the index must be in [0, count)", s.Index, s.Count)
	}
	return nil
}

// String returns "I/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.N()) }

// arrivals yields one shard's arrivals in count space. For uniform arrivals
// shard I of N keeps the full schedule's arrivals k with k mod N == I, so
// the union of all shards is exactly the unsharded schedule; for Poisson
// each shard is an independent stream at rate/N (inter-arrivals N·Exp(1) in
// count space) seeded from (seed, I), whose superposition is Poisson at the
// full rate. Request ids are k·N + I: distinct across shards.
//
// arrivals is not safe for concurrent use.
type arrivals struct {
	kind Arrival
	n, i uint64
	k    uint64
	x    float64
	rng  *rand.Rand
}

// Random streams, one per purpose, so that changing one choice (say, the
// request mix) does not change another (the arrival times).
const (
	streamArrivals = 1 + iota
	streamMix
	streamTenant
	streamPlaceholders
)

// newStream returns a PCG-seeded generator for (seed, purpose, shard).
func newStream(seed uint64, purpose, shard int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(purpose)<<32|uint64(shard)))
}

// newArrivals returns shard's arrivals of kind, seeded from seed.
func newArrivals(kind Arrival, seed uint64, shard Shard) *arrivals {
	return &arrivals{
		kind: kind,
		n:    uint64(shard.N()),
		i:    uint64(shard.Index),
		rng:  newStream(seed, streamArrivals, shard.Index),
	}
}

// Next returns the next arrival's request id and its position in count space.
func (a *arrivals) Next() (id uint64, x float64) {
	id = a.k*a.n + a.i
	a.k++
	if a.kind == ArrivalUniform {
		return id, float64(id)
	}
	a.x += float64(a.n) * a.rng.ExpFloat64()
	return id, a.x
}

// IntendedStarts lists the intended starts of every arrival of shard in
// schedule s at multiplier 1: the schedule the runner plays, for tests and
// for checking shards against the unsharded run.
func IntendedStarts(s *Schedule, kind Arrival, seed uint64, shard Shard) []time.Duration {
	p := newPacer(s)
	a := newArrivals(kind, seed, shard)
	out := make([]time.Duration, 0, int(math.Ceil(s.Total()/float64(shard.N())))+1)
	for {
		_, x := a.Next()
		t, pace := p.At(x)
		if pace != paceAt {
			return out
		}
		out = append(out, t)
	}
}
