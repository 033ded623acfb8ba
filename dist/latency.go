package dist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Latency is a service-time distribution: a dependency's latency, or the
// one a latency fault puts in its place.
//
//   - "fixed": always P50.
//   - "uniform": U(Min, Max).
//   - "lognormal": the lognormal whose median is P50 and whose 99th
//     percentile is P99: μ = ln(P50), σ = (ln(P99) − ln(P50)) / 2.3263.
//   - "exponential": the exponential whose mean is Scale (rate 1/Scale):
//     the memoryless service time of queueing theory's M/M/c models.
//
// A Latency is a plain value, safe for concurrent use.
type Latency struct {
	// Dist is the shape: `fixed` (p50), `uniform` (min..max),
	// `lognormal` (p50 and p99) or `exponential` (scale).
	Dist string `json:"dist"`
	// P50 is the median (fixed, lognormal).
	P50 Duration `json:"p50,omitempty"`
	// P99 is the 99th percentile (lognormal).
	P99 Duration `json:"p99,omitempty"`
	// Min is the lower bound (uniform).
	Min Duration `json:"min,omitempty"`
	// Max is the upper bound (uniform).
	Max Duration `json:"max,omitempty"`
	// Scale is the mean (exponential).
	Scale Duration `json:"scale,omitempty"`
}

// Validate reports the first field of l that is out of range, by its JSON
// name.
func (l Latency) Validate() error {
	switch l.Dist {
	case "fixed":
		if l.P50 < 0 {
			return fmt.Errorf("p50: %v, want ≥ 0", l.P50)
		}
	case "uniform":
		if l.Min < 0 || l.Max < l.Min {
			return fmt.Errorf("min/max: %v/%v, want 0 ≤ min ≤ max", l.Min, l.Max)
		}
	case "lognormal":
		if l.P50 <= 0 || l.P99 < l.P50 {
			return fmt.Errorf("p50/p99: %v/%v, want 0 < p50 ≤ p99", l.P50, l.P99)
		}
	case "exponential":
		if l.Scale <= 0 {
			return fmt.Errorf("scale: %v, want > 0", l.Scale)
		}
	default:
		return fmt.Errorf("dist: %q, want fixed, uniform, lognormal or exponential", l.Dist)
	}
	return nil
}

// ParseLatency reads a latency distribution written as on the command line:
//
//	20ms                     fixed
//	fixed:20ms               fixed
//	uniform:10ms-30ms        U(10ms, 30ms)
//	lognormal:20ms,80ms      lognormal with p50 20ms and p99 80ms
//	exponential:20ms         exponential with mean 20ms
//
// The result is valid.
func ParseLatency(s string) (Latency, error) {
	kind, rest, found := strings.Cut(s, ":")
	if !found {
		kind, rest = "fixed", s
	}
	var l Latency
	switch kind {
	case "fixed":
		d, err := parseDur(rest)
		if err != nil {
			return l, fmt.Errorf("latency %q: %w", s, err)
		}
		l = Latency{Dist: "fixed", P50: Duration(d)}
	case "uniform":
		lo, hi, ok := strings.Cut(rest, "-")
		if !ok {
			return l, fmt.Errorf("latency %q: want uniform:MIN-MAX such as uniform:10ms-30ms", s)
		}
		mn, err := parseDur(lo)
		if err != nil {
			return l, fmt.Errorf("latency %q: %w", s, err)
		}
		mx, err := parseDur(hi)
		if err != nil {
			return l, fmt.Errorf("latency %q: %w", s, err)
		}
		l = Latency{Dist: "uniform", Min: Duration(mn), Max: Duration(mx)}
	case "lognormal":
		a, b, ok := strings.Cut(rest, ",")
		if !ok {
			return l, fmt.Errorf("latency %q: want lognormal:P50,P99 such as lognormal:20ms,80ms", s)
		}
		p50, err := parseDur(a)
		if err != nil {
			return l, fmt.Errorf("latency %q: %w", s, err)
		}
		p99, err := parseDur(b)
		if err != nil {
			return l, fmt.Errorf("latency %q: %w", s, err)
		}
		l = Latency{Dist: "lognormal", P50: Duration(p50), P99: Duration(p99)}
	case "exponential":
		mean, err := parseDur(rest)
		if err != nil {
			return l, fmt.Errorf("latency %q: %w", s, err)
		}
		l = Latency{Dist: "exponential", Scale: Duration(mean)}
	default:
		return l, fmt.Errorf("latency %q: unknown distribution %q, want fixed, uniform, lognormal or exponential", s, kind)
	}
	if err := l.Validate(); err != nil {
		return Latency{}, fmt.Errorf("latency %q: %w", s, err)
	}
	return l, nil
}

func parseDur(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a Go duration such as 20ms", s)
	}
	return d, nil
}

// String writes l in the form ParseLatency reads.
func (l Latency) String() string {
	switch l.Dist {
	case "fixed":
		return time.Duration(l.P50).String()
	case "uniform":
		return fmt.Sprintf("uniform:%v-%v", time.Duration(l.Min), time.Duration(l.Max))
	case "lognormal":
		return fmt.Sprintf("lognormal:%v,%v", time.Duration(l.P50), time.Duration(l.P99))
	case "exponential":
		return "exponential:" + time.Duration(l.Scale).String()
	}
	return l.Dist
}

// Mean returns the mean of the distribution (for capacity estimates).
func (l Latency) Mean() time.Duration {
	switch l.Dist {
	case "fixed":
		return time.Duration(l.P50)
	case "uniform":
		return time.Duration(l.Min) + time.Duration(l.Max-l.Min)/2
	case "lognormal":
		mu := math.Log(float64(l.P50))
		sigma := (math.Log(float64(l.P99)) - mu) / 2.3263
		return time.Duration(math.Exp(mu + sigma*sigma/2))
	case "exponential":
		return time.Duration(l.Scale)
	}
	return 0
}

// Sample draws one latency from l using rng, in nanoseconds, as a float
// so that a caller can scale it before rounding (and clamp what
// overflows a time.Duration). An unknown Dist draws 0.
func (l Latency) Sample(rng *rand.Rand) float64 {
	switch l.Dist {
	case "fixed":
		return float64(l.P50)
	case "uniform":
		return float64(l.Min) + rng.Float64()*float64(l.Max-l.Min)
	case "lognormal":
		mu := math.Log(float64(l.P50))
		sigma := (math.Log(float64(l.P99)) - mu) / 2.3263
		return math.Exp(mu + sigma*rng.NormFloat64())
	case "exponential":
		return rng.ExpFloat64() * float64(l.Scale)
	}
	return 0
}

// Draw draws one latency from l using rng, as a Duration (saturating at the
// largest one).
func (l Latency) Draw(rng *rand.Rand) time.Duration {
	ns := l.Sample(rng)
	if ns >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

// Normalized returns l with the fields its distribution does not use set
// to zero (after a partial update switched the distribution, say from
// fixed to uniform, the old P50 would otherwise linger).
func (l Latency) Normalized() Latency {
	switch l.Dist {
	case "fixed":
		return Latency{Dist: l.Dist, P50: l.P50}
	case "uniform":
		return Latency{Dist: l.Dist, Min: l.Min, Max: l.Max}
	case "lognormal":
		return Latency{Dist: l.Dist, P50: l.P50, P99: l.P99}
	case "exponential":
		return Latency{Dist: l.Dist, Scale: l.Scale}
	}
	return l
}
