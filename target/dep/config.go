package dep

import (
	"errors"
	"fmt"

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
	// database connection pool). A call waits for a free slot, FIFO, and
	// holds it for its latency. Capacity is Pool / mean latency.
	Pool int `json:"pool"`
	// Latency is the distribution of one call's service time.
	Latency dist.Latency `json:"latency"`
	// AddLatency and AddJitter are added to every call: AddLatency +
	// U(0, AddJitter). Faults use them to slow a dependency down.
	AddLatency dist.Duration `json:"add_latency,omitempty"`
	AddJitter  dist.Duration `json:"add_jitter,omitempty"`
	// LatencyMultiplier scales the sampled latency (1 = unchanged; 0 is
	// read as 1).
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

// Validate reports the first field of c that is out of range, by its JSON
// name.
func (c Config) Validate() error {
	var errs []error
	if c.Pool < 1 {
		errs = append(errs, fmt.Errorf("pool: %d, want ≥ 1", c.Pool))
	}
	if c.URL == "" {
		if err := c.Latency.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("latency.%w", err))
		}
	}
	if c.AddLatency < 0 {
		errs = append(errs, fmt.Errorf("add_latency: %v, want ≥ 0", c.AddLatency))
	}
	if c.AddJitter < 0 {
		errs = append(errs, fmt.Errorf("add_jitter: %v, want ≥ 0", c.AddJitter))
	}
	if c.LatencyMultiplier < 0 {
		errs = append(errs, fmt.Errorf("latency_multiplier: %v, want ≥ 0", c.LatencyMultiplier))
	}
	if c.ErrorRate < 0 || c.ErrorRate > 1 {
		errs = append(errs, fmt.Errorf("error_rate: %v, want 0..1", c.ErrorRate))
	}
	if c.ErrorStatus != 0 && (c.ErrorStatus < 400 || c.ErrorStatus > 599) {
		errs = append(errs, fmt.Errorf("error_status: %d, want 400..599 (or 0 for a connection reset)", c.ErrorStatus))
	}
	return errors.Join(errs...)
}
