package retry

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HedgeSpec configures hedging: when a request's first attempt has not
// answered after a delay, send a second attempt; the first answer wins.
// The delay is After, or, when Percentile > 0, that percentile of recent
// attempt latencies (no hedging until minHedgeSamples are known). Hedges
// are bounded by a ratio budget: hedges ≤ MaxFraction·requests over 10 s.
// The zero value is off.
type HedgeSpec struct {
	After       time.Duration
	Percentile  float64 // in (0, 100)
	MaxFraction float64 // default 0.1
}

// Hedging defaults.
const (
	DefaultHedgeFraction = 0.1
	minHedgeSamples      = 20
	hedgeRing            = 512
)

// ParseHedge parses none (or empty), a duration (e.g. 50ms) or pNN (e.g.
// p95, p99.9), the syntax of the --hedge-after flag and of a profile's
// client.hedge_after. Its errors are *SyntaxError.
func ParseHedge(s string) (HedgeSpec, error) {
	if s == "none" || s == "" {
		return HedgeSpec{}, nil
	}
	bad := &SyntaxError{What: "hedge after", Text: s, Valid: "none, a duration (e.g. 50ms) or a percentile of recent latencies pNN with 0 < NN < 100 (e.g. p95)"}
	if p, ok := strings.CutPrefix(s, "p"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v < 100) {
			return HedgeSpec{}, bad
		}
		return HedgeSpec{Percentile: v, MaxFraction: DefaultHedgeFraction}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return HedgeSpec{}, bad
	}
	return HedgeSpec{After: d, MaxFraction: DefaultHedgeFraction}, nil
}

// On reports whether hedging is enabled.
func (h HedgeSpec) On() bool { return h.After > 0 || h.Percentile > 0 }

// String returns the flag spelling of h.
func (h HedgeSpec) String() string {
	switch {
	case h.Percentile > 0:
		return "p" + strconv.FormatFloat(h.Percentile, 'g', -1, 64)
	case h.After > 0:
		return h.After.String()
	}
	return "none"
}

// Validate reports what is wrong with h.
func (h HedgeSpec) Validate() error {
	if h.After < 0 || h.Percentile < 0 || h.Percentile >= 100 || h.MaxFraction < 0 || math.IsNaN(h.Percentile) {
		return fmt.Errorf("hedge after %v, percentile %v, max fraction %v: out of range", h.After, h.Percentile, h.MaxFraction)
	}
	return nil
}

// Hedger holds what hedging needs across requests: recent latencies and
// the hedge budget. Safe for concurrent use; a nil *Hedger never hedges.
type Hedger struct {
	spec   HedgeSpec
	budget *RatioBudget

	mu     sync.Mutex
	ring   [hedgeRing]time.Duration
	n      int // samples recorded, saturating at len(ring)
	next   int
	delay  time.Duration // cached percentile
	since  int           // samples since delay was computed
	sorted []time.Duration
}

// NewHedger returns the hedger of h, or nil when hedging is off.
func NewHedger(h HedgeSpec) *Hedger {
	if !h.On() {
		return nil
	}
	f := h.MaxFraction
	if f == 0 {
		f = DefaultHedgeFraction
	}
	return &Hedger{spec: h, budget: NewRatioBudget(f, 0, 0), delay: -1}
}

// Request counts a request for the hedge budget.
func (h *Hedger) Request(now time.Time) {
	if h != nil {
		h.budget.Request(now)
	}
}

// Delay returns how long to wait before hedging; ok is false when there is
// no delay yet (too few samples for a percentile).
func (h *Hedger) Delay() (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if h.spec.Percentile == 0 {
		return h.spec.After, true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.delay, h.delay >= 0
}

// Allow spends one hedge from the budget.
func (h *Hedger) Allow(now time.Time) bool {
	_, ok := h.budget.Retry(now, false)
	return ok
}

// Observe records an attempt's latency. The percentile is recomputed every
// 64 samples from the last 512.
func (h *Hedger) Observe(d time.Duration) {
	if h == nil || h.spec.Percentile == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = d
	h.next = (h.next + 1) % hedgeRing
	h.n = min(h.n+1, hedgeRing)
	h.since++
	if h.n < minHedgeSamples || (h.delay >= 0 && h.since < 64) {
		return
	}
	h.since = 0
	h.sorted = append(h.sorted[:0], h.ring[:h.n]...)
	slices.Sort(h.sorted)
	i := int(math.Ceil(h.spec.Percentile/100*float64(h.n))) - 1
	h.delay = h.sorted[max(0, i)]
}
