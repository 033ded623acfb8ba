package shed

import (
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"
)

// durations is a min-heap of times, as offsets from t0.
type durations []time.Duration

func (h durations) Len() int           { return len(h) }
func (h durations) Less(i, j int) bool { return h[i] < h[j] }
func (h durations) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *durations) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *durations) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// completion is an admitted request's end, its RTT and the in-flight count
// when it was admitted.
type completion struct {
	end, rtt time.Duration
	inFlight int
}

// mdc simulates a limiter in front of an M/D/c system for span: Poisson
// arrivals at rate per second, admitted while fewer than l.Limit() are in
// flight (else shed), then FIFO onto c servers each busy for service. The
// RTT the limiter sees is the wait for a server plus the service, so it
// rises with utilisation as a real dependency pool's does. Clients wait at
// most timeout for the answer (0: forever); a later answer is not goodput.
// watch, if not nil, is called at every arrival. mdc returns the shed ratio
// and the in-time completions per second over the second half.
func mdc(l Limiter, rate float64, c int, service, timeout, span time.Duration, rng *rand.Rand, watch func(at time.Duration)) (shedRatio, goodput float64) {
	free := make(durations, c) // when each server is next free
	var pending []completion   // admitted, by end (FIFO: ends are in admission order)
	var offered, shed, done int
	for at := time.Duration(0); at < span; at += time.Duration(rng.ExpFloat64() / rate * float64(time.Second)) {
		for len(pending) > 0 && pending[0].end <= at {
			p := pending[0]
			pending = pending[1:]
			l.Observe(t0.Add(p.end), Sample{RTT: p.rtt, InFlight: p.inFlight})
			if p.end >= span/2 && (timeout == 0 || p.rtt <= timeout) {
				done++
			}
		}
		if watch != nil {
			watch(at)
		}
		measured := at >= span/2 // the first half is warm-up: the limit settles
		if measured {
			offered++
		}
		if len(pending) >= l.Limit() {
			if measured {
				shed++
			}
			continue
		}
		start := max(at, heap.Pop(&free).(time.Duration))
		heap.Push(&free, start+service)
		pending = append(pending, completion{end: start + service, rtt: start + service - at, inFlight: len(pending) + 1})
	}
	return float64(shed) / float64(offered), float64(done) / (span / 2).Seconds()
}

// A gradient limiter in front of a dependency pool must allow the
// concurrency Little's law asks for (rate × RTT) at any load the pool can
// serve, although the RTT rises with utilisation (requests wait for a
// slot): below capacity it sheds (almost) nothing; past it, it keeps the
// pool busy (goodput ≈ capacity) and its limit ≥ the c slots. Pool 4 of
// 40 ms: capacity 100/s, as compare-shedding's db.
func TestGradientAllowsLittlesLawConcurrency(t *testing.T) {
	const (
		c       = 4
		service = 40 * time.Millisecond
		span    = 120 * time.Second
	)
	capacity := c / service.Seconds()
	for _, tt := range []struct {
		load    float64 // offered, as a fraction of capacity
		maxShed float64
	}{
		{0.5, 0.001}, {0.75, 0.01}, {0.9, 0.02}, {3, 1},
	} {
		g, err := NewGradient(GradientConfig{Initial: 16, Min: 1, Max: 128})
		if err != nil {
			t.Fatal(err)
		}
		rate := tt.load * capacity
		shed, goodput := mdc(g, rate, c, service, 0, span, rand.New(rand.NewPCG(1, uint64(tt.load*100))), nil)
		t.Logf("%.0f%% of capacity: limit %d, shed %.2f%%, goodput %.1f/s", 100*tt.load, g.Limit(), 100*shed, goodput)
		if shed > tt.maxShed {
			t.Errorf("%.0f%% of capacity: shed %.2f%%, want ≤ %.1f%%", 100*tt.load, 100*shed, 100*tt.maxShed)
		}
		if want := min(rate, capacity) * service.Seconds(); float64(g.Limit()) < want {
			t.Errorf("%.0f%% of capacity: limit %d, want ≥ rate × service = %.1f", 100*tt.load, g.Limit(), want)
		}
		if want := 0.95 * min(rate, capacity); goodput < want {
			t.Errorf("%.0f%% of capacity: goodput %.1f/s, want ≥ %.1f/s", 100*tt.load, goodput, want)
		}
	}
}

// Under sustained overload (3× capacity for 5 simulated minutes, clients
// waiting 1 s) the gradient limiter must keep protecting: its limit stays
// near the Little's-law concurrency of the pool (c at capacity, plus the
// headroom's queue) and goodput near capacity. Without re-measuring the
// baseline, the baseline's moving average catches up with the queueing RTT
// and the limit climbs to Max within about two minutes: queueing RTT then
// exceeds the clients' patience and goodput collapses. The second case
// checks that this test tells the two apart.
func TestGradientSustainedOverload(t *testing.T) {
	const (
		c        = 4
		service  = 40 * time.Millisecond
		patience = time.Second
		span     = 5 * time.Minute
		maxLimit = 128
	)
	capacity := c / service.Seconds()
	for _, tt := range []struct {
		name     string
		interval time.Duration
	}{
		{"remeasured", 0}, // the default: every 60–69 s
		{"ewma_only", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := NewGradient(GradientConfig{Initial: 16, Min: 1, Max: maxLimit,
				MinRTTInterval: tt.interval, Rand: rand.New(rand.NewPCG(4, 2))})
			if err != nil {
				t.Fatal(err)
			}
			var peak, drops int // highest limit after the first minute; re-measurements seen
			floor := false
			_, goodput := mdc(g, 3*capacity, c, service, patience, span, rand.New(rand.NewPCG(1, 300)), func(at time.Duration) {
				l := g.Limit()
				if at >= time.Minute {
					peak = max(peak, l)
				}
				if l == DefaultGradientMinRTTFloor && !floor {
					drops++
				}
				floor = l == DefaultGradientMinRTTFloor
			})
			t.Logf("%s: peak limit %d after 1 min, final %d, baseline %v, %d re-measurements, goodput %.1f/s of %.0f/s",
				tt.name, peak, g.Limit(), g.Baseline(), drops, goodput, capacity)
			if tt.interval < 0 {
				if peak < maxLimit/2 || goodput > capacity/2 {
					t.Errorf("without re-measuring: peak limit %d, goodput %.1f/s; want the flaw this test catches (limit ≥ %d, goodput ≤ %.0f/s)",
						peak, goodput, maxLimit/2, capacity/2)
				}
				return
			}
			if peak > 4*c {
				t.Errorf("peak limit %d after the first minute, want ≤ %d (Little's law: %d, plus headroom)", peak, 4*c, c)
			}
			if g.Limit() < c {
				t.Errorf("final limit %d, want ≥ c = %d", g.Limit(), c)
			}
			if drops < 4 {
				t.Errorf("%d re-measurements in %v, want ≥ 4 (every 60–69 s)", drops, span)
			}
			if want := 0.95 * capacity; goodput < want {
				t.Errorf("goodput %.1f/s, want ≥ %.1f/s", goodput, want)
			}
		})
	}
}
