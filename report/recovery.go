package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Defaults of RecoveryOptions, as documented on its fields.
const (
	DefaultRecoveryWindow    = 5 * time.Second
	DefaultRecoveryGoodput   = 0.95
	DefaultRecoveryP99Factor = 1.5
)

// RecoveryOptions sets the tolerances of recovery detection. The zero value
// uses the defaults named on each field. It is a plain value, safe to copy.
type RecoveryOptions struct {
	// Window is how long goodput and p99 must stay within tolerance, in
	// consecutive windows, for the service to count as recovered
	// (default DefaultRecoveryWindow, 5 s).
	Window time.Duration
	// Goodput is the fraction of the offered rate that goodput must reach
	// in every window of the sustained stretch (default 0.95).
	Goodput float64
	// P99Factor scales the baseline p99: a window's p99 must be at most
	// max(P99Factor × baseline p99, SLO) (default 1.5).
	P99Factor float64
	// SLO is the latency objective; zero means the p99 limit is
	// P99Factor × baseline p99 alone.
	SLO time.Duration
	// WarmUp is skipped at the start of the run: baseline windows start at
	// or after it.
	WarmUp time.Duration
	// BaselineP99, when positive, is the baseline p99 to use instead of the
	// median of the baseline windows' p99s. Callers that hold the windows'
	// histograms pass the p99 of their merge here.
	BaselineP99 time.Duration
}

func (o RecoveryOptions) withDefaults() RecoveryOptions {
	if o.Window <= 0 {
		o.Window = DefaultRecoveryWindow
	}
	if o.Goodput <= 0 {
		o.Goodput = DefaultRecoveryGoodput
	}
	if o.P99Factor <= 0 {
		o.P99Factor = DefaultRecoveryP99Factor
	}
	return o
}

// RecoverySample is one window of a run as recovery detection reads it.
// Rates are per second.
type RecoverySample struct {
	Start   time.Duration // window start, from the run's start
	Offered float64       // new requests offered per second
	Goodput float64       // requests per second that succeeded within the SLO
	P99     time.Duration // p99 latency of the window's successful requests; 0 when none
}

// DisturbanceSpan is a stretch of a run during which the service was
// disturbed on purpose: a fault window or a surge.
type DisturbanceSpan struct {
	Name  string
	Start time.Duration // from the run's start
	End   time.Duration // when the trigger ended (the fault was removed, the surge stopped)
}

// RecoveryBaseline is the service's behaviour before the first disturbance.
type RecoveryBaseline struct {
	Windows       int     `json:"windows"`        // number of windows it was measured over
	OfferedRPS    float64 `json:"offered_rps"`    // mean offered rate
	GoodputRPS    float64 `json:"goodput_rps"`    // mean goodput
	GoodputRatio  float64 `json:"goodput_ratio"`  // GoodputRPS ÷ OfferedRPS; 0 when nothing was offered
	P99Ms         float64 `json:"p99_ms"`         // baseline p99
	P99LimitMs    float64 `json:"p99_limit_ms"`   // max(P99Factor × baseline p99, SLO): the recovery threshold
	GoodputFactor float64 `json:"goodput_factor"` // fraction of offered goodput must reach to count as recovered
}

// DisturbanceRecovery is how the service came back from one disturbance.
type DisturbanceRecovery struct {
	Name      string  `json:"name"`
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	Recovered bool    `json:"recovered"`
	// RecoveryTimeS is the start of the first window of the sustained
	// stretch minus the disturbance's end, in seconds; 0 when not recovered.
	RecoveryTimeS float64 `json:"recovery_time_s"`
	// Metastable is set when the service did not recover although the
	// trigger had ended at least two recovery windows before the run (or
	// the next disturbance) began.
	Metastable bool `json:"metastable"`
}

// Recovery is the recovery verdict of a run: one entry per disturbance and
// the overall verdict (recovered from all; the longest recovery time;
// metastable if any was). A run without disturbances has Disturbances
// empty and Recovered true.
type Recovery struct {
	Recovered     bool                  `json:"recovered"`
	RecoveryTimeS float64               `json:"recovery_time_s"`
	Metastable    bool                  `json:"metastable"`
	Baseline      RecoveryBaseline      `json:"baseline"`
	Disturbances  []DisturbanceRecovery `json:"disturbances"`
}

// RecoveryTime returns the overall recovery time as a Duration.
func (r Recovery) RecoveryTime() time.Duration { return durFromS(r.RecoveryTimeS) }

// DetectRecovery measures how the service recovered from each disturbance.
//
// samples are consecutive windows of equal width, in order; the run ends at
// the last sample's start + width. The baseline is the samples that start
// at or after opts.WarmUp and end at or before the first disturbance's
// start. After each disturbance, the service is recovered at the first
// window, starting at or after the disturbance's end, from which every
// window for opts.Window (rounded up to whole windows) has goodput ≥
// opts.Goodput × offered and p99 ≤ max(opts.P99Factor × baseline p99,
// opts.SLO); the stretch must end before the next disturbance starts (or
// the run ends). recovery time = that window's start − the disturbance's
// end. When no such stretch exists, the disturbance is not recovered, and
// metastable if its end was at least 2 × opts.Window before the horizon.
//
// Without a baseline p99 (no window before the first disturbance) and
// without an SLO there is no latency condition. A window with nothing
// offered meets the goodput condition; a window with no successful request
// has p99 0 and meets the latency condition, so an idle stretch counts as
// recovered, while a stretch that is offered load and answers none of it
// does not.
func DetectRecovery(samples []RecoverySample, width time.Duration, disturbances []DisturbanceSpan, opts RecoveryOptions) Recovery {
	opts = opts.withDefaults()
	spans := mergeSpans(disturbances)

	var runEnd time.Duration
	if n := len(samples); n > 0 {
		runEnd = samples[n-1].Start + width
	}
	firstStart := runEnd
	if len(spans) > 0 {
		firstStart = spans[0].Start
	}
	base, baseP99 := recoveryBaseline(samples, width, firstStart, opts)
	limit := max(time.Duration(opts.P99Factor*float64(baseP99)), opts.SLO)
	base.P99LimitMs = durMs(limit)
	base.GoodputFactor = opts.Goodput

	rec := Recovery{Recovered: true, Baseline: base, Disturbances: []DisturbanceRecovery{}}
	need := windowsFor(opts.Window, width)
	good := func(s RecoverySample) bool {
		return s.Goodput >= opts.Goodput*s.Offered && (limit == 0 || s.P99 <= limit)
	}
	for i, d := range spans {
		horizon := runEnd
		if i+1 < len(spans) {
			horizon = min(horizon, spans[i+1].Start)
		}
		dr := DisturbanceRecovery{Name: d.Name, StartS: d.Start.Seconds(), EndS: d.End.Seconds()}
		run := 0
		for j, s := range samples {
			if s.Start < d.End {
				continue
			}
			if s.Start+width > horizon {
				break
			}
			if !good(s) {
				run = 0
				continue
			}
			run++
			if run == need {
				at := samples[j-need+1].Start
				dr.Recovered = true
				dr.RecoveryTimeS = (at - d.End).Seconds()
				break
			}
		}
		if !dr.Recovered {
			dr.Metastable = horizon-d.End >= 2*opts.Window
			rec.Recovered = false
		}
		rec.Metastable = rec.Metastable || dr.Metastable
		rec.RecoveryTimeS = max(rec.RecoveryTimeS, dr.RecoveryTimeS)
		rec.Disturbances = append(rec.Disturbances, dr)
	}
	return rec
}

// recoveryBaseline summarises the samples in [opts.WarmUp, before) and
// returns their p99.
func recoveryBaseline(samples []RecoverySample, width, before time.Duration, opts RecoveryOptions) (RecoveryBaseline, time.Duration) {
	var b RecoveryBaseline
	var p99s []time.Duration
	for _, s := range samples {
		if s.Start < opts.WarmUp || s.Start+width > before {
			continue
		}
		b.Windows++
		b.OfferedRPS += s.Offered
		b.GoodputRPS += s.Goodput
		p99s = append(p99s, s.P99)
	}
	if b.Windows > 0 {
		b.OfferedRPS /= float64(b.Windows)
		b.GoodputRPS /= float64(b.Windows)
	}
	if b.OfferedRPS > 0 {
		b.GoodputRatio = b.GoodputRPS / b.OfferedRPS
	}
	p99 := opts.BaselineP99
	if p99 <= 0 && len(p99s) > 0 {
		slices.Sort(p99s)
		p99 = p99s[len(p99s)/2]
	}
	b.P99Ms = durMs(p99)
	return b, p99
}

// windowsFor is how many windows of width cover d, at least one.
func windowsFor(d, width time.Duration) int {
	if width <= 0 {
		return 1
	}
	n := int((d + width - 1) / width)
	return max(n, 1)
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// durMs is d in (fractional) milliseconds, the unit of latency in JSON.
func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// durFromS converts fractional seconds to a Duration.
func durFromS(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// mergeSpans sorts spans by start and merges those that overlap or touch.
func mergeSpans(in []DisturbanceSpan) []DisturbanceSpan {
	spans := slices.Clone(in)
	slices.SortStableFunc(spans, func(a, b DisturbanceSpan) int { return cmpDur(a.Start, b.Start) })
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			last := &out[n-1]
			last.End = max(last.End, s.End)
			if s.Name != "" && s.Name != last.Name {
				last.Name += " + " + s.Name
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// surgeFactor is how much higher than both its neighbours a phase's
// offered rate must be to count as a surge.
const surgeFactor = 1.5

// DisturbanceSpans returns the disturbances of a run: its fault windows
// and its surges. A surge is a phase whose offered rate is at least 1.5×
// the rates of the phases before and after it (so the steps of a ramp are
// not surges).
func DisturbanceSpans(s *Summary) []DisturbanceSpan {
	var out []DisturbanceSpan
	for _, d := range s.Disturbances {
		out = append(out, DisturbanceSpan{Name: d.Name, Start: durFromS(d.StartS), End: durFromS(d.EndS)})
	}
	for i := 1; i+1 < len(s.Phases); i++ {
		p, prev, next := s.Phases[i], s.Phases[i-1], s.Phases[i+1]
		rate := max(p.FromRPS, p.ToRPS)
		if rate >= surgeFactor*prev.ToRPS && rate >= surgeFactor*next.FromRPS && rate > 0 {
			out = append(out, DisturbanceSpan{Name: p.Name, Start: durFromS(p.StartS), End: durFromS(p.StartS + p.DurationS)})
		}
	}
	return out
}

// RecoverySamples returns the windows of s as recovery detection reads
// them: those that start within the schedule (s.DurationS). The windows
// after it hold only the requests still draining, with nothing offered,
// and would count as recovered however collapsed the service was.
func RecoverySamples(s *Summary) []RecoverySample {
	out := make([]RecoverySample, 0, len(s.Windows))
	for i := range s.Windows {
		w := &s.Windows[i]
		if s.DurationS > 0 && w.StartS >= s.DurationS-1e-9 {
			break
		}
		out = append(out, RecoverySample{Start: w.Start(), Offered: w.OfferedRPS, Goodput: w.GoodputRPS, P99: durFromMs(w.Latency.P99)})
	}
	return out
}

// AnalyzeRecovery measures recovery (DetectRecovery) from the
// disturbances of s and stores it in s.Recovery; it leaves s.Recovery nil
// when the run had none. Unset options default from s: the SLO from
// s.SLOMs, the warm-up from a first phase named "warm…", and the baseline
// p99 from the merged histograms of the baseline windows (percentiles of
// a merge, never averaged).
func AnalyzeRecovery(s *Summary, opts RecoveryOptions) {
	spans := DisturbanceSpans(s)
	if len(spans) == 0 {
		s.Recovery = nil
		return
	}
	if opts.SLO == 0 {
		opts.SLO = durFromMs(s.SLOMs)
	}
	if opts.WarmUp == 0 && len(s.Phases) > 1 && strings.HasPrefix(strings.ToLower(s.Phases[0].Name), "warm") {
		opts.WarmUp = durFromS(s.Phases[0].StartS + s.Phases[0].DurationS)
	}
	width := durFromS(s.WindowS)
	if opts.BaselineP99 == 0 {
		first := slices.MinFunc(mergeSpans(spans), func(a, b DisturbanceSpan) int { return cmpDur(a.Start, b.Start) }).Start
		merged := hdr.New(histLowest, histHighest, histDigits)
		for i := range s.Windows {
			w := &s.Windows[i]
			if h := w.LatencyHistogram(); h != nil && w.Start() >= opts.WarmUp && w.Start()+width <= first {
				h.MergeInto(merged)
			}
		}
		if merged.TotalCount() > 0 {
			opts.BaselineP99 = time.Duration(merged.ValueAtPercentile(99)) * time.Microsecond
		}
	}
	rec := DetectRecovery(RecoverySamples(s), width, spans, opts)
	s.Recovery = &rec
}

// durFromMs converts fractional milliseconds to a Duration.
func durFromMs(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// WriteText writes the recovery verdict for a terminal: the baseline and
// thresholds, then one line per disturbance.
func (r *Recovery) WriteText(w io.Writer) error {
	var b strings.Builder
	base := r.Baseline
	fmt.Fprintf(&b, "recovery: baseline over %d windows: goodput %.2f%%, p99 %s; recovered once goodput ≥ %.0f%% of offered and p99 ≤ %s hold\n",
		base.Windows, 100*base.GoodputRatio, formatSeconds(base.P99Ms/1000), 100*base.GoodputFactor, formatSeconds(base.P99LimitMs/1000))
	for _, d := range r.Disturbances {
		fmt.Fprintf(&b, "  %s (%s–%s): ", d.Name, formatSeconds(d.StartS), formatSeconds(d.EndS))
		switch {
		case d.Recovered:
			fmt.Fprintf(&b, "recovered %s after it ended\n", formatSeconds(d.RecoveryTimeS))
		case d.Metastable:
			b.WriteString("NOT recovered: metastable (the trigger ended, the service stayed down until the end)\n")
		default:
			b.WriteString("not recovered before the run ended\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write recovery: %w", err)
	}
	return nil
}
