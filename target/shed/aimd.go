package shed

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [AIMDConfig] fields left zero.
const (
	DefaultAIMDBackoff  = 0.9
	DefaultAIMDCooldown = 100 * time.Millisecond
)

// AIMDConfig configures an [AIMD] limiter. It is a value; [NewAIMD]
// validates it and keeps a copy. The zero value is invalid (Min ≥ 1).
type AIMDConfig struct {
	// Initial, Min and Max bound the limit: 1 ≤ Min ≤ Initial ≤ Max.
	Initial, Min, Max int
	// LatencyThreshold makes a sample whose RTT exceeds it count as
	// congestion, like a dropped one. 0 means only Sample.Dropped counts.
	LatencyThreshold time.Duration
	// Backoff is the factor the limit is multiplied by on congestion, in
	// (0, 1). 0 means DefaultAIMDBackoff (0.9).
	Backoff float64
	// Cooldown is the least time between two decreases, so a burst of
	// congested samples from one episode cuts the limit once, not once per
	// sample. 0 means DefaultAIMDCooldown (100 ms).
	Cooldown time.Duration
}

// Validate reports the first field out of range.
func (c AIMDConfig) Validate() error {
	if err := validateBounds(c.Initial, c.Min, c.Max); err != nil {
		return fmt.Errorf("aimd: %w", err)
	}
	if c.LatencyThreshold < 0 {
		return fmt.Errorf("aimd: latency_threshold: %v, want ≥ 0", c.LatencyThreshold)
	}
	if c.Backoff < 0 || c.Backoff >= 1 {
		return fmt.Errorf("aimd: backoff: %v, want 0 < backoff < 1 (0 for %v)", c.Backoff, DefaultAIMDBackoff)
	}
	if c.Cooldown < 0 {
		return fmt.Errorf("aimd: cooldown: %v, want ≥ 0", c.Cooldown)
	}
	return nil
}

// AIMD is an additive-increase, multiplicative-decrease concurrency limit,
// as TCP's congestion window:
//
//   - congestion (a dropped sample, or RTT > LatencyThreshold):
//     limit ← max(Min, limit × Backoff), at most once per Cooldown;
//   - otherwise, when the limit is being used (2 × InFlight ≥ limit):
//     limit ← min(Max, limit + 1/limit), which adds about one per limit's
//     worth of completions, i.e. about one per round trip.
//
// Safe for concurrent use. Create it with [NewAIMD]; the zero value is not
// usable.
type AIMD struct {
	cfg AIMDConfig

	mu           sync.Mutex
	limit        float64
	lastDecrease time.Time

	cur atomic.Int64 // int(limit), read by Limit without the lock
}

var _ Limiter = (*AIMD)(nil)

// NewAIMD returns an AIMD limiter starting at cfg.Initial.
func NewAIMD(cfg AIMDConfig) (*AIMD, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultAIMDBackoff
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = DefaultAIMDCooldown
	}
	a := &AIMD{cfg: cfg, limit: float64(cfg.Initial)}
	a.cur.Store(int64(cfg.Initial))
	return a, nil
}

// Limit returns the current limit.
func (a *AIMD) Limit() int { return int(a.cur.Load()) }

// Observe adapts the limit to one completed request at time now.
func (a *AIMD) Observe(now time.Time, s Sample) {
	congested := s.Dropped || (a.cfg.LatencyThreshold > 0 && s.RTT > a.cfg.LatencyThreshold)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case congested:
		if !a.lastDecrease.IsZero() && now.Sub(a.lastDecrease) < a.cfg.Cooldown {
			return
		}
		a.limit = max(float64(a.cfg.Min), a.limit*a.cfg.Backoff)
		a.lastDecrease = now
	case 2*s.InFlight >= int(a.limit):
		a.limit = min(float64(a.cfg.Max), a.limit+1/a.limit)
	default:
		return
	}
	a.cur.Store(int64(a.limit))
}
