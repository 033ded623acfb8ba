package dep

import (
	"errors"
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/dist"
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
	Latency dist.Latency `json:"latency"`
	// AddLatency and AddJitter are added to every call: AddLatency +
	// U(0, AddJitter), each 0..MaxLatency. Faults use them to slow a
	// dependency down.
	AddLatency dist.Duration `json:"add_latency,omitempty"`
	AddJitter  dist.Duration `json:"add_jitter,omitempty"`
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
		for _, d := range []struct {
			name string
			d    dist.Duration
		}{{"p50", c.Latency.P50}, {"p99", c.Latency.P99}, {"min", c.Latency.Min}, {"max", c.Latency.Max}, {"scale", c.Latency.Scale}} {
			if time.Duration(d.d) > MaxLatency {
				errs = append(errs, fmt.Errorf("latency.%s: %v, want 0..%v", d.name, time.Duration(d.d), MaxLatency))
			}
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
