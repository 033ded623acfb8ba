package shed

import (
	"fmt"
	"time"
)

// Limiter says how many requests may be in flight at once. A [Shedder]
// reads Limit on every admission decision and reports every completed
// request to Observe. Implementations must be safe for concurrent use and
// Limit must be cheap (an atomic load).
type Limiter interface {
	// Limit returns the current concurrency limit, ≥ 1 for the limiters of
	// this package.
	Limit() int
	// Observe records one completed request at time now.
	Observe(now time.Time, s Sample)
}

// Sample is one completed request, as a [Limiter] sees it. A plain value.
type Sample struct {
	// RTT is the request's service time: from admission (after any queue
	// wait) to completion.
	RTT time.Duration
	// InFlight is the number of requests in flight when this one was
	// admitted, itself included. Limiters use it to tell a limit that is
	// being tested from one that traffic never reaches.
	InFlight int
	// Dropped says the request ended with an overload signal (it ran past
	// its deadline, or a dependency refused it).
	Dropped bool
}

// Static is a fixed concurrency limit. Its value is the limit; the zero
// value admits nothing (use ≥ 1). Safe for concurrent use.
type Static int

var _ Limiter = Static(0)

// Limit returns int(s).
func (s Static) Limit() int { return int(s) }

// Observe does nothing: a static limit does not adapt.
func (Static) Observe(time.Time, Sample) {}

// validateBounds checks the initial/min/max triple shared by the adaptive
// limiters.
func validateBounds(initial, lo, hi int) error {
	if lo < 1 {
		return fmt.Errorf("min: %d, want ≥ 1", lo)
	}
	if hi < lo {
		return fmt.Errorf("max: %d, want ≥ min (%d)", hi, lo)
	}
	if initial < lo || initial > hi {
		return fmt.Errorf("initial: %d, want min..max (%d..%d)", initial, lo, hi)
	}
	return nil
}

// clampf limits v to [lo, hi].
func clampf(v float64, lo, hi float64) float64 {
	return max(lo, min(hi, v))
}
