package dep

import (
	"errors"
	"fmt"
	"time"
)

// Config is the behaviour of one simulated dependency. It is the JSON body
// of the reference target's admin call PUT /admin/deps/{name}, which fault
// injectors use; every field is optional there and a missing field keeps
// its current value. Durations are Go duration strings in JSON ("20ms").
//
// A Config is a value: copy it, change the copy, validate it, apply it.
type Config struct {
	// Pool is the number of calls the dependency serves at once (like a
	// database connection pool), 1..MaxPool. A call waits for a free slot,
	// FIFO, and holds it for its latency. Capacity is Pool / mean latency.
	Pool int `json:"pool"`
	// Latency is the distribution of one call's service time; each of its
	// durations is 0..MaxLatency.
	Latency Latency `json:"latency"`
	// AddLatency and AddJitter are added to every call: AddLatency +
	// U(0, AddJitter), each 0..MaxLatency. Faults use them to slow a
	// dependency down.
	AddLatency Duration `json:"add_latency,omitempty"`
	AddJitter  Duration `json:"add_jitter,omitempty"`
	// LatencyMultiplier scales the sampled latency (1 = unchanged; 0 is
	// read as 1), 0..MaxLatencyMultiplier.
	LatencyMultiplier float64 `json:"latency_multiplier,omitempty"`
	// ErrorRate is the probability in [0, 1] that a call fails with
	// ErrorStatus (or a connection reset when ErrorStatus is 0 and the
	// dependency is remote).
	ErrorRate   float64 `json:"error_rate,omitempty"`
	ErrorStatus int     `json:"error_status,omitempty"`
	// Stall makes every call hang until the stall is lifted or the
	// caller's context ends (a blackhole).
	Stall bool `json:"stall,omitempty"`
	// StopOnCancel says whether a call stops working when its caller's
	// context ends. A real database query often does not: false models work
	// that goes on (and holds its pool slot) for a client who already left.
	StopOnCancel bool `json:"stop_on_cancel"`
	// URL, when set, makes the dependency a real HTTP service: each call is
	// a GET to URL (so a fault proxy can sit in front of it) and the
	// simulated latency fields are not used.
	URL string `json:"url,omitempty"`
}

// Latency is a service-time distribution.
//
//   - "fixed": always P50.
//   - "uniform": U(Min, Max).
//   - "lognormal": the lognormal whose median is P50 and whose 99th
//     percentile is P99: μ = ln(P50), σ = (ln(P99) − ln(P50)) / 2.3263.
type Latency struct {
	Dist string   `json:"dist"`
	P50  Duration `json:"p50,omitempty"`
	P99  Duration `json:"p99,omitempty"`
	Min  Duration `json:"min,omitempty"`
	Max  Duration `json:"max,omitempty"`
}

// Ranges of Config's numeric fields: each bounds what one setting can cost
// (memory, or how long a call holds a slot).
const (
	// MaxPool bounds Config.Pool.
	MaxPool = 10_000
	// MaxLatency bounds every duration of a Config: the latency
	// distribution's parameters, AddLatency and AddJitter.
	MaxLatency = time.Hour
	// MaxLatencyMultiplier bounds Config.LatencyMultiplier.
	MaxLatencyMultiplier = 1000
)

// Validate reports every field of c that is out of range, by its JSON
// name and with the valid range.
func (c Config) Validate() error {
	var errs []error
	if c.Pool < 1 || c.Pool > MaxPool {
		errs = append(errs, fmt.Errorf("pool: %d, want 1..%d", c.Pool, MaxPool))
	}
	if c.URL == "" {
		if err := c.Latency.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("latency.%w", err))
		}
	}
	if c.AddLatency < 0 || time.Duration(c.AddLatency) > MaxLatency {
		errs = append(errs, fmt.Errorf("add_latency: %v, want 0..%v", time.Duration(c.AddLatency), MaxLatency))
	}
	if c.AddJitter < 0 || time.Duration(c.AddJitter) > MaxLatency {
		errs = append(errs, fmt.Errorf("add_jitter: %v, want 0..%v", time.Duration(c.AddJitter), MaxLatency))
	}
	if !(c.LatencyMultiplier >= 0 && c.LatencyMultiplier <= MaxLatencyMultiplier) {
		errs = append(errs, fmt.Errorf("latency_multiplier: %v, want 0..%d", c.LatencyMultiplier, MaxLatencyMultiplier))
	}
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		errs = append(errs, fmt.Errorf("error_rate: %v, want 0..1", c.ErrorRate))
	}
	if c.ErrorStatus != 0 && (c.ErrorStatus < 400 || c.ErrorStatus > 599) {
		errs = append(errs, fmt.Errorf("error_status: %d, want 400..599 (or 0 for a connection reset)", c.ErrorStatus))
	}
	return errors.Join(errs...)
}

// Validate reports the first field of l that is out of range.
func (l Latency) Validate() error {
	for _, d := range []struct {
		name string
		d    Duration
	}{{"p50", l.P50}, {"p99", l.P99}, {"min", l.Min}, {"max", l.Max}} {
		if time.Duration(d.d) > MaxLatency {
			return fmt.Errorf("%s: %v, want 0..%v", d.name, time.Duration(d.d), MaxLatency)
		}
	}
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
	default:
		return fmt.Errorf("dist: %q, want fixed, uniform or lognormal", l.Dist)
	}
	return nil
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("250ms").
type Duration time.Duration

// MarshalText encodes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText decodes a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as 250ms or 2s", b)
	}
	*d = Duration(v)
	return nil
}
