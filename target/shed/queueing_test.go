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
// rises with utilisation as a real dependency pool's does. It returns the
// shed ratio and the completions per second over the second half.
func mdc(l Limiter, rate float64, c int, service, span time.Duration, rng *rand.Rand) (shedRatio, goodput float64) {
	free := make(durations, c) // when each server is next free
	var pending []completion   // admitted, by end (FIFO: ends are in admission order)
	var offered, shed, done int
	for at := time.Duration(0); at < span; at += time.Duration(rng.ExpFloat64() / rate * float64(time.Second)) {
		for len(pending) > 0 && pending[0].end <= at {
			p := pending[0]
			pending = pending[1:]
			l.Observe(t0.Add(p.end), Sample{RTT: p.rtt, InFlight: p.inFlight})
			if p.end >= span/2 {
				done++
			}
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
		shed, goodput := mdc(g, rate, c, service, span, rand.New(rand.NewPCG(1, uint64(tt.load*100))))
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
