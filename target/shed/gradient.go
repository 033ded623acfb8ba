package shed

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [GradientConfig] fields left zero.
const (
	DefaultGradientWindow          = 100 * time.Millisecond
	DefaultGradientMinSamples      = 10
	DefaultGradientTolerance       = 1.5
	DefaultGradientSmoothing       = 0.2
	DefaultGradientBaselineWindows = 600
)

// GradientConfig configures a [Gradient] limiter. It is a value;
// [NewGradient] validates it and keeps a copy. The zero value is invalid
// (Min ≥ 1).
type GradientConfig struct {
	// Initial, Min and Max bound the limit: 1 ≤ Min ≤ Initial ≤ Max.
	Initial, Min, Max int
	// Window is how long samples are gathered before the limit is
	// recomputed from their mean RTT. A window closes at the first sample
	// after Window has passed and at least MinSamples were seen. 0 means
	// DefaultGradientWindow (100 ms).
	Window time.Duration
	// MinSamples is the fewest samples a window needs. 0 means
	// DefaultGradientMinSamples (10).
	MinSamples int
	// Tolerance is how far the window's RTT may rise above the baseline
	// before the limit shrinks: gradient = min(1, Tolerance × baseline /
	// RTT). ≥ 1; 0 means DefaultGradientTolerance (1.5).
	Tolerance float64
	// Smoothing weighs the new estimate against the old limit, in (0, 1].
	// 0 means DefaultGradientSmoothing (0.2).
	Smoothing float64
	// BaselineWindows is the span, in windows, of the exponential moving
	// average that tracks the baseline (no-load) RTT upwards; a window
	// faster than the baseline lowers it at once. 0 means
	// DefaultGradientBaselineWindows (600, one minute of 100 ms windows).
	BaselineWindows int
	// Headroom is the queue-size allowance added to the limit each window,
	// so the limit probes upwards: newLimit = limit × gradient +
	// Headroom(limit). nil means ⌈√limit⌉.
	Headroom func(limit int) int
}

// Validate reports the first field out of range.
func (c GradientConfig) Validate() error {
	if err := validateBounds(c.Initial, c.Min, c.Max); err != nil {
		return fmt.Errorf("gradient: %w", err)
	}
	switch {
	case c.Window < 0:
		return fmt.Errorf("gradient: window: %v, want ≥ 0", c.Window)
	case c.MinSamples < 0:
		return fmt.Errorf("gradient: min_samples: %d, want ≥ 0", c.MinSamples)
	case c.Tolerance != 0 && c.Tolerance < 1:
		return fmt.Errorf("gradient: tolerance: %v, want ≥ 1 (0 for %v)", c.Tolerance, DefaultGradientTolerance)
	case c.Smoothing < 0 || c.Smoothing > 1:
		return fmt.Errorf("gradient: smoothing: %v, want 0 < smoothing ≤ 1 (0 for %v)", c.Smoothing, DefaultGradientSmoothing)
	case c.BaselineWindows < 0:
		return fmt.Errorf("gradient: baseline_windows: %d, want ≥ 0", c.BaselineWindows)
	}
	return nil
}

// Gradient is a concurrency limit that follows the gradient between the
// baseline round trip and the current one, in the style of Envoy's adaptive
// concurrency filter and Netflix's Gradient2. At the end of each window:
//
//	rtt      = mean RTT of the window's samples
//	baseline = min(rtt, baseline + (rtt − baseline) × 2/(BaselineWindows+1))
//	gradient = clamp(Tolerance × baseline / rtt, 0.5, 1)
//	new      = limit × gradient + Headroom(limit)
//	limit    = clamp(limit × (1 − Smoothing) + new × Smoothing, Min, Max)
//
// The baseline plays Envoy's minRTT: it drops at once to a faster window
// and rises only slowly, so a step up in latency shrinks the limit (queueing
// somewhere downstream shows as rtt > baseline) and a step down lets it
// grow by the headroom each window. When traffic never used half the limit
// during a window the limit is left alone (it was not being tested).
//
// Safe for concurrent use. Create it with [NewGradient]; the zero value is
// not usable.
type Gradient struct {
	cfg   GradientConfig
	alpha float64 // baseline EWMA weight

	mu          sync.Mutex
	limit       float64
	baseline    time.Duration
	windowStart time.Time
	sum         time.Duration
	count       int
	maxInFlight int

	cur atomic.Int64
}

var _ Limiter = (*Gradient)(nil)

// NewGradient returns a gradient limiter starting at cfg.Initial.
func NewGradient(cfg GradientConfig) (*Gradient, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultGradientWindow
	}
	if cfg.MinSamples == 0 {
		cfg.MinSamples = DefaultGradientMinSamples
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = DefaultGradientTolerance
	}
	if cfg.Smoothing == 0 {
		cfg.Smoothing = DefaultGradientSmoothing
	}
	if cfg.BaselineWindows == 0 {
		cfg.BaselineWindows = DefaultGradientBaselineWindows
	}
	if cfg.Headroom == nil {
		cfg.Headroom = func(limit int) int { return int(math.Ceil(math.Sqrt(float64(limit)))) }
	}
	g := &Gradient{cfg: cfg, alpha: 2 / float64(cfg.BaselineWindows+1), limit: float64(cfg.Initial)}
	g.cur.Store(int64(cfg.Initial))
	return g, nil
}

// Limit returns the current limit.
func (g *Gradient) Limit() int { return int(g.cur.Load()) }

// Baseline returns the current baseline RTT (0 before the first window
// closed).
func (g *Gradient) Baseline() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.baseline
}

// Observe adds one completed request at time now and, when the window is
// complete, recomputes the limit.
func (g *Gradient) Observe(now time.Time, s Sample) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.count == 0 {
		g.windowStart = now
	}
	g.sum += s.RTT
	g.count++
	g.maxInFlight = max(g.maxInFlight, s.InFlight)
	if now.Sub(g.windowStart) < g.cfg.Window || g.count < g.cfg.MinSamples {
		return
	}
	rtt := max(g.sum/time.Duration(g.count), time.Nanosecond)
	used := 2*g.maxInFlight >= int(g.limit)
	g.sum, g.count, g.maxInFlight = 0, 0, 0

	if g.baseline == 0 {
		g.baseline = rtt
	} else {
		g.baseline += time.Duration(g.alpha * float64(rtt-g.baseline))
		g.baseline = min(g.baseline, rtt)
	}
	if !used {
		return
	}
	gradient := clampf(g.cfg.Tolerance*float64(g.baseline)/float64(rtt), 0.5, 1)
	next := g.limit*gradient + float64(g.cfg.Headroom(int(g.limit)))
	g.limit = clampf(g.limit*(1-g.cfg.Smoothing)+next*g.cfg.Smoothing, float64(g.cfg.Min), float64(g.cfg.Max))
	g.cur.Store(int64(g.limit))
}
