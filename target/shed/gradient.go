package shed

import (
	"fmt"
	"math"
	"math/rand/v2"
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
	DefaultGradientMinRTTInterval  = time.Minute
	DefaultGradientMinRTTJitter    = 0.15
	DefaultGradientMinRTTFloor     = 3
	DefaultGradientMinRTTWindow    = 100 * time.Millisecond
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
	// average that tracks the baseline (no-load) RTT upwards when the
	// baseline is not re-measured (MinRTTInterval < 0). 0 means
	// DefaultGradientBaselineWindows (600, one minute of 100 ms windows).
	// Under sustained overload such an average catches up with the queueing
	// RTT and the limit climbs to Max: prefer re-measuring.
	BaselineWindows int
	// MinRTTInterval is how often the baseline is re-measured at low
	// concurrency, as Envoy's min_rtt_calc_interval: the limit drops to
	// MinRTTFloor until MinRTTWindow has passed, and the mean RTT of the
	// requests admitted during the drop becomes the baseline. 0 means
	// DefaultGradientMinRTTInterval (1 minute); < 0 turns re-measuring off
	// and the baseline follows the BaselineWindows average instead.
	MinRTTInterval time.Duration
	// MinRTTJitter spreads the re-measurements of many instances: each
	// interval is lengthened by a uniform fraction in [0, MinRTTJitter) of
	// MinRTTInterval, drawn from Rand. In [0, 1]; 0 means
	// DefaultGradientMinRTTJitter (0.15). Without Rand there is no jitter.
	MinRTTJitter float64
	// Rand draws the jitter. The limiter uses it under its own lock, so it
	// must not be used elsewhere. nil means no jitter: every interval is
	// exactly MinRTTInterval (deterministic).
	Rand *rand.Rand
	// MinRTTFloor is the limit while the baseline is re-measured, as
	// Envoy's min_concurrency; it is capped at Max (Min does not apply).
	// 0 means DefaultGradientMinRTTFloor (3).
	MinRTTFloor int
	// MinRTTWindow is the shortest re-measurement: it ends at the first
	// sample after MinRTTWindow has passed since the drop, once MinSamples
	// requests admitted after the drop have completed. 0 means
	// DefaultGradientMinRTTWindow (100 ms).
	MinRTTWindow time.Duration
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
	case c.MinRTTJitter < 0 || c.MinRTTJitter > 1:
		return fmt.Errorf("gradient: min_rtt_jitter: %v, want 0..1", c.MinRTTJitter)
	case c.MinRTTFloor < 0:
		return fmt.Errorf("gradient: min_rtt_floor: %d, want ≥ 0", c.MinRTTFloor)
	case c.MinRTTWindow < 0:
		return fmt.Errorf("gradient: min_rtt_window: %v, want ≥ 0", c.MinRTTWindow)
	}
	return nil
}

// Gradient is a concurrency limit that follows the gradient between the
// baseline round trip and the current one, in the style of Envoy's adaptive
// concurrency filter and Netflix's Gradient2. At the end of each window:
//
//	rtt      = mean RTT of the window's samples
//	baseline = min(baseline, rtt)
//	gradient = clamp(Tolerance × baseline / rtt, 0.5, 1)
//	new      = limit × gradient + Headroom(limit)
//	limit    = clamp(limit × (1 − Smoothing) + new × Smoothing, Min, Max)
//
// The baseline plays Envoy's minRTT: it drops at once to a faster window,
// so a step up in latency shrinks the limit (queueing somewhere downstream
// shows as rtt > baseline) and a step down lets it grow by the headroom
// each window. When traffic never used half the limit during a window the
// limit is left alone (it was not being tested).
//
// The baseline rises only when it is re-measured, as Envoy does: the first
// window to close at or after
//
//	next = last measurement + MinRTTInterval × (1 + MinRTTJitter × u), u ~ U[0, 1) from Rand (0 without)
//
// saves the limit and drops it to min(MinRTTFloor, Max); samples of
// requests admitted before the drop (now − RTT < drop) are ignored, since
// they waited in the old queue; once MinRTTWindow has passed and
// MinSamples later ones completed
//
//	baseline = mean RTT of those samples
//	limit    = the saved limit
//
// and windows resume. A window whose requests never exceeded the floor in
// flight is such a measurement already and sets the baseline the same way
// (no drop needed). With re-measuring off (MinRTTInterval < 0) the baseline
// instead rises as baseline + (rtt − baseline) × 2/(BaselineWindows+1)
// each window, which sustained overload drags up to the queueing RTT.
//
// Safe for concurrent use. Create it with [NewGradient]; the zero value is
// not usable.
type Gradient struct {
	cfg   GradientConfig
	alpha float64 // baseline EWMA weight
	floor int     // limit during a re-measurement

	mu          sync.Mutex
	limit       float64
	baseline    time.Duration
	windowStart time.Time
	sum         time.Duration
	count       int
	maxInFlight int
	nextMeasure time.Time // when the baseline is next re-measured; zero until the first window closed
	measuring   time.Time // when the running re-measurement dropped the limit; zero when none runs

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
	if cfg.MinRTTInterval == 0 {
		cfg.MinRTTInterval = DefaultGradientMinRTTInterval
	}
	if cfg.MinRTTJitter == 0 {
		cfg.MinRTTJitter = DefaultGradientMinRTTJitter
	}
	if cfg.MinRTTFloor == 0 {
		cfg.MinRTTFloor = DefaultGradientMinRTTFloor
	}
	if cfg.MinRTTWindow == 0 {
		cfg.MinRTTWindow = DefaultGradientMinRTTWindow
	}
	g := &Gradient{
		cfg:   cfg,
		alpha: 2 / float64(cfg.BaselineWindows+1),
		floor: min(cfg.MinRTTFloor, cfg.Max),
		limit: float64(cfg.Initial),
	}
	g.cur.Store(int64(cfg.Initial))
	return g, nil
}

// Limit returns the current limit (the floor while the baseline is
// re-measured).
func (g *Gradient) Limit() int { return int(g.cur.Load()) }

// Baseline returns the current baseline RTT (0 before the first window
// closed).
func (g *Gradient) Baseline() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.baseline
}

// Observe adds one completed request at time now and, when the window or
// the re-measurement is complete, recomputes the limit.
func (g *Gradient) Observe(now time.Time, s Sample) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.measuring.IsZero() {
		g.measure(now, s)
		return
	}
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
	atFloor := g.maxInFlight <= g.floor
	g.sum, g.count, g.maxInFlight = 0, 0, 0

	remeasure := g.cfg.MinRTTInterval > 0
	switch {
	case g.baseline == 0 || remeasure && atFloor:
		g.baseline = rtt
		if remeasure {
			g.scheduleMeasure(now)
		}
	case remeasure:
		g.baseline = min(g.baseline, rtt)
	default:
		g.baseline += time.Duration(g.alpha * float64(rtt-g.baseline))
		g.baseline = min(g.baseline, rtt)
	}
	if used {
		gradient := clampf(g.cfg.Tolerance*float64(g.baseline)/float64(rtt), 0.5, 1)
		next := g.limit*gradient + float64(g.cfg.Headroom(int(g.limit)))
		g.limit = clampf(g.limit*(1-g.cfg.Smoothing)+next*g.cfg.Smoothing, float64(g.cfg.Min), float64(g.cfg.Max))
		g.cur.Store(int64(g.limit))
	}
	if remeasure && !now.Before(g.nextMeasure) {
		g.measuring = now
		g.cur.Store(int64(g.floor))
	}
}

// measure adds one sample to the running re-measurement and ends it when
// complete, restoring the saved limit. g.mu is held.
func (g *Gradient) measure(now time.Time, s Sample) {
	if now.Add(-s.RTT).Before(g.measuring) {
		return // admitted before the drop: it waited in the old queue
	}
	g.sum += s.RTT
	g.count++
	if now.Sub(g.measuring) < g.cfg.MinRTTWindow || g.count < g.cfg.MinSamples {
		return
	}
	g.baseline = max(g.sum/time.Duration(g.count), time.Nanosecond)
	g.sum, g.count, g.maxInFlight = 0, 0, 0
	g.measuring = time.Time{}
	g.cur.Store(int64(g.limit))
	g.scheduleMeasure(now)
}

// scheduleMeasure sets when the baseline is next re-measured, one jittered
// interval after now. g.mu is held.
func (g *Gradient) scheduleMeasure(now time.Time) {
	d := g.cfg.MinRTTInterval
	if g.cfg.Rand != nil {
		d += time.Duration(g.cfg.MinRTTJitter * g.cfg.Rand.Float64() * float64(d))
	}
	g.nextMeasure = now.Add(d)
}
