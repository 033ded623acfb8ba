package retry

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ThrottleSpec configures client-side adaptive throttling (Google SRE
// book, "Handling Overload"). K == 0 means off; the zero value is off.
type ThrottleSpec struct {
	K      float64       // accepts multiplier, ≥ 1 when on (the book uses 2)
	Window time.Duration // history length; 0 means 2 minutes, as in the book
}

const defaultThrottleWindow = 2 * time.Minute

// ParseThrottle parses none or sre:K (K ≥ 1), the syntax of the --throttle
// flag and of a profile's client.throttle. Its errors are *SyntaxError.
func ParseThrottle(s string) (ThrottleSpec, error) {
	if s == "none" {
		return ThrottleSpec{}, nil
	}
	k, ok := strings.CutPrefix(s, "sre:")
	v, err := strconv.ParseFloat(k, 64)
	if !ok || err != nil || !(v >= 1) || math.IsInf(v, 0) {
		return ThrottleSpec{}, &SyntaxError{What: "throttle", Text: s, Valid: "none or sre:K with K ≥ 1 (e.g. sre:2)"}
	}
	return ThrottleSpec{K: v, Window: defaultThrottleWindow}, nil
}

// String returns the flag spelling of s.
func (s ThrottleSpec) String() string {
	if s.K == 0 {
		return "none"
	}
	return "sre:" + strconv.FormatFloat(s.K, 'g', -1, 64)
}

// Validate reports what is wrong with s.
func (s ThrottleSpec) Validate() error {
	if s.K != 0 && !(s.K >= 1) || s.Window < 0 {
		return fmt.Errorf("throttle K %v, window %v: K must be 0 (off) or ≥ 1, window ≥ 0", s.K, s.Window)
	}
	return nil
}

// Throttle is client-side adaptive throttling: over the window, with
// requests the attempts this client tried to send (including those it
// rejected itself) and accepts those the service accepted, each attempt is
// rejected locally with probability
//
//	p = max(0, (requests − K·accepts) / (requests + 1)).
//
// Safe for concurrent use; build with NewThrottle. A nil *Throttle allows
// everything.
type Throttle struct {
	mu     sync.Mutex
	k      float64
	counts slidingCounts // [0] requests, [1] accepts
}

// NewThrottle returns the throttle of s, or nil when s is off.
func NewThrottle(s ThrottleSpec) *Throttle {
	if s.K == 0 {
		return nil
	}
	w := s.Window
	if w == 0 {
		w = defaultThrottleWindow
	}
	return &Throttle{k: s.K, counts: newSlidingCounts(w)}
}

// RejectProbability returns p at now without counting anything.
func (t *Throttle) RejectProbability(now time.Time) float64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.probability(now)
}

func (t *Throttle) probability(now time.Time) float64 {
	req, acc := t.counts.sums(now)
	return math.Max(0, (req-t.k*acc)/(req+1))
}

// Allow counts an attempt and says whether it may be sent, given the
// uniform draw u ∈ [0, 1): it is rejected when u < p.
func (t *Throttle) Allow(now time.Time, u float64) bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.probability(now)
	t.counts.add(now, 0, 1)
	return u >= p
}

// Accepted counts an attempt the service accepted (answered without
// rejecting it: an outcome of ok or client_error).
func (t *Throttle) Accepted(now time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.counts.add(now, 1, 1)
	t.mu.Unlock()
}
