package retry

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// BackoffKind is how the base delay before a retry grows.
type BackoffKind uint8

// Backoff kinds.
const (
	BackoffNone        BackoffKind = iota // retry at once
	BackoffConstant                       // always Base
	BackoffExponential                    // Base·Multiplier^(n−1), capped at Max
)

var backoffNames = []string{"none", "constant", "exponential"}

// String returns the flag spelling of k.
func (k BackoffKind) String() string {
	if int(k) < len(backoffNames) {
		return backoffNames[k]
	}
	return fmt.Sprintf("backoff(%d)", uint8(k))
}

// BackoffKinds returns the spellings of the backoff kinds, in order.
func BackoffKinds() []string { return slices.Clone(backoffNames) }

// ParseBackoffKind parses none, constant or exponential, the syntax of the
// --backoff flag and of a profile's client.backoff. Its errors are
// *SyntaxError.
func ParseBackoffKind(s string) (BackoffKind, error) {
	for i, n := range backoffNames {
		if s == n {
			return BackoffKind(i), nil
		}
	}
	return 0, enumError("backoff", s, backoffNames)
}

// Backoff computes the un-jittered delay b(n) before retry n (n = 1 for the
// first retry):
//
//	none:        b(n) = 0
//	constant:    b(n) = Base
//	exponential: b(n) = min(Max, Base·Multiplier^(n−1))
//
// The zero value is BackoffNone. Backoff is a value, safe to copy and share.
type Backoff struct {
	Kind       BackoffKind
	Base       time.Duration // ≥ 0
	Max        time.Duration // cap; 0 means no cap
	Multiplier float64       // exponential growth factor, ≥ 1; 0 means 2
}

// Validate reports what is wrong with b.
func (b Backoff) Validate() error {
	switch {
	case b.Kind > BackoffExponential:
		return fmt.Errorf("backoff kind %d: valid are none, constant, exponential", b.Kind)
	case b.Base < 0 || b.Max < 0:
		return fmt.Errorf("backoff base %v, max %v: must be ≥ 0", b.Base, b.Max)
	case b.Multiplier != 0 && (b.Multiplier < 1 || math.IsInf(b.Multiplier, 0) || math.IsNaN(b.Multiplier)):
		return fmt.Errorf("backoff multiplier %v: must be ≥ 1", b.Multiplier)
	}
	return nil
}

// Delay returns b(n), the base delay before retry n ≥ 1.
func (b Backoff) Delay(n int) time.Duration {
	switch b.Kind {
	case BackoffConstant:
		return b.capped(float64(b.Base))
	case BackoffExponential:
		m := b.Multiplier
		if m == 0 {
			m = 2
		}
		return b.capped(float64(b.Base) * math.Pow(m, float64(n-1)))
	}
	return 0
}

func (b Backoff) capped(d float64) time.Duration {
	if b.Max > 0 && d > float64(b.Max) {
		return b.Max
	}
	if d > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return time.Duration(d)
}

// Jitter spreads retry delays so that clients that failed together do not
// retry together. With b the backoff delay, u a uniform draw in [0, 1),
// prev the previous delay of this request (Base before the first retry):
//
//	none:         d = b
//	full:         d = U(0, b)            = u·b
//	equal:        d = b/2 + U(0, b/2)    = b/2 + u·b/2
//	decorrelated: d = min(Max, U(Base, 3·prev)) = min(Max, Base + u·(3·prev − Base))
//
// Decorrelated jitter ignores b: it grows from the previous delay instead.
// The zero value is JitterNone.
type Jitter uint8

// Jitter kinds.
const (
	JitterNone Jitter = iota
	JitterFull
	JitterEqual
	JitterDecorrelated
)

var jitterNames = []string{"none", "full", "equal", "decorrelated"}

// String returns the flag spelling of j.
func (j Jitter) String() string {
	if int(j) < len(jitterNames) {
		return jitterNames[j]
	}
	return fmt.Sprintf("jitter(%d)", uint8(j))
}

// Jitters returns the spellings of the jitter kinds, in order.
func Jitters() []string { return slices.Clone(jitterNames) }

// ParseJitter parses none, full, equal or decorrelated, the syntax of the
// --jitter flag and of a profile's client.jitter. Its errors are
// *SyntaxError.
func ParseJitter(s string) (Jitter, error) {
	for i, n := range jitterNames {
		if s == n {
			return Jitter(i), nil
		}
	}
	return 0, enumError("jitter", s, jitterNames)
}

// Apply returns the jittered delay for backoff delay b, previous delay prev,
// backoff parameters bo and the uniform draw u ∈ [0, 1).
func (j Jitter) Apply(b, prev time.Duration, bo Backoff, u float64) time.Duration {
	switch j {
	case JitterFull:
		return time.Duration(u * float64(b))
	case JitterEqual:
		return b/2 + time.Duration(u*float64(b/2))
	case JitterDecorrelated:
		if prev < bo.Base {
			prev = bo.Base
		}
		d := float64(bo.Base) + u*(3*float64(prev)-float64(bo.Base))
		return bo.capped(d)
	}
	return b
}
