package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// TippingGoodput is the fraction of the offered rate goodput must reach for
// a ramp step to be within capacity.
const TippingGoodput = 0.99

// RampStep is one step of a stepped ramp: a constant offered rate held for
// a while, and what the service did with it. Rates are per second.
type RampStep struct {
	Name          string  `json:"name"`
	OfferedRPS    float64 `json:"offered_rps"`    // new requests offered per second
	ThroughputRPS float64 `json:"throughput_rps"` // attempts answered per second
	GoodputRPS    float64 `json:"goodput_rps"`    // requests per second that succeeded within the SLO
	P99Ms         float64 `json:"p99_ms"`         // p99 latency of successful requests, from intended start
	Concurrency   float64 `json:"concurrency"`    // mean attempts in flight
	// OK is set when the step is within capacity: goodput ≥ 99% of offered
	// and p99 ≤ SLO. TippingPointOf sets it.
	OK bool `json:"ok"`
}

// StepOK reports whether s is within capacity for slo: goodput ≥
// TippingGoodput × offered and p99 ≤ slo (slo 0: no latency condition).
// A step where nothing was offered is not within capacity: it was not run.
func StepOK(s RampStep, slo time.Duration) bool {
	if s.OfferedRPS <= 0 || s.GoodputRPS < TippingGoodput*s.OfferedRPS {
		return false
	}
	return slo <= 0 || s.P99Ms <= durMs(slo)
}

// TippingPoint is the result of a ramp: the highest offered rate the
// service carried within capacity, the curve it was found on, and a
// Universal Scalability Law fit of throughput against concurrency.
type TippingPoint struct {
	// Found is false when no step was within capacity.
	Found bool `json:"found"`
	// OfferedRPS is the tipping point: the offered rate of the highest step
	// with goodput ≥ 99% of offered and p99 ≤ SLO.
	OfferedRPS float64 `json:"offered_rps"`
	// Step indexes Steps at the tipping point; -1 when not found.
	Step  int        `json:"step"`
	SLOMs float64    `json:"slo_ms"`
	Steps []RampStep `json:"steps"`
	// USL is the fit of ThroughputRPS against Concurrency over the steps;
	// nil when there were too few distinct points.
	USL *USLFit `json:"usl,omitempty"`
}

// TippingPointOf finds the tipping point of a stepped ramp: the highest
// step (by offered rate) with goodput ≥ 99% of offered and p99 ≤ slo. It
// marks each step's OK, and fits the USL to the steps' (concurrency,
// throughput). The steps are copied, not modified.
func TippingPointOf(steps []RampStep, slo time.Duration) TippingPoint {
	tp := TippingPoint{Step: -1, SLOMs: durMs(slo), Steps: make([]RampStep, len(steps))}
	ns := make([]float64, 0, len(steps))
	xs := make([]float64, 0, len(steps))
	for i, s := range steps {
		s.OK = StepOK(s, slo)
		tp.Steps[i] = s
		if s.OK && (!tp.Found || s.OfferedRPS > tp.OfferedRPS) {
			tp.Found, tp.OfferedRPS, tp.Step = true, s.OfferedRPS, i
		}
		ns = append(ns, s.Concurrency)
		xs = append(xs, s.ThroughputRPS)
	}
	if fit, err := FitUSL(ns, xs); err == nil {
		tp.USL = &fit
	}
	return tp
}

// PastKnee reports whether a ramp may stop: at least one step was within
// capacity and the last n steps, all after it, were not. A ramp that never
// had a good step goes on until its last step.
func PastKnee(steps []RampStep, slo time.Duration, n int) bool {
	if len(steps) < n+1 {
		return false
	}
	for _, s := range steps[len(steps)-n:] {
		if StepOK(s, slo) {
			return false
		}
	}
	for _, s := range steps[:len(steps)-n] {
		if StepOK(s, slo) {
			return true
		}
	}
	return false
}

// IsRamp reports whether s looks like a stepped ramp: at least three
// phases, each at a constant offered rate, every one higher than the one
// before.
func IsRamp(s *Summary) bool {
	if len(s.Phases) < 3 {
		return false
	}
	for i, p := range s.Phases {
		if p.FromRPS != p.ToRPS || p.FromRPS <= 0 || (i > 0 && p.FromRPS <= s.Phases[i-1].FromRPS) {
			return false
		}
	}
	return true
}

// completeStep is the fraction of a step's configured requests (rate ×
// duration) it must hold to count: a ramp that stopped past the knee, or
// was interrupted, leaves its last step incomplete.
const completeStep = 0.9

// RampSteps returns one step per complete phase of s, in order: phases
// holding fewer than 90% of their configured requests (rate × duration)
// were cut short and are left out. A step's offered rate is its
// configured rate (the tipping point is a rate the schedule offered, not
// a count over a duration rounded to whole requests). A step's concurrency is the mean
// in-flight count over the windows that lie wholly inside its phase,
// leaving out the first when there are three or more (the transient of
// the step up).
func RampSteps(s *Summary) []RampStep {
	width := s.WindowS
	steps := make([]RampStep, 0, len(s.Phases))
	for _, p := range s.Phases {
		if float64(p.Requests) < completeStep*p.FromRPS*p.DurationS {
			continue
		}
		var inflight []float64
		for _, w := range s.Windows {
			if w.StartS >= p.StartS-1e-9 && w.StartS+width <= p.StartS+p.DurationS+1e-9 {
				inflight = append(inflight, w.InFlightMean)
			}
		}
		if len(inflight) >= 3 {
			inflight = inflight[1:]
		}
		var mean float64
		for _, v := range inflight {
			mean += v / float64(len(inflight))
		}
		offered := p.OfferedRPS
		if p.FromRPS > 0 {
			offered = p.FromRPS
		}
		steps = append(steps, RampStep{
			Name:          p.Name,
			OfferedRPS:    offered,
			ThroughputRPS: p.ThroughputRPS,
			GoodputRPS:    p.GoodputRPS,
			P99Ms:         p.Latency.P99,
			Concurrency:   mean,
		})
	}
	return steps
}

// AnalyzeTippingPoint finds the tipping point of the ramp s
// (TippingPointOf its RampSteps) and stores it in s.TippingPoint. slo 0
// means s.SLOMs.
func AnalyzeTippingPoint(s *Summary, slo time.Duration) {
	if slo == 0 {
		slo = durFromMs(s.SLOMs)
	}
	tp := TippingPointOf(RampSteps(s), slo)
	s.TippingPoint = &tp
}

// WriteText writes the ramp's curve as an aligned table, one line per
// step, then the tipping point and the USL fit.
func (tp *TippingPoint) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\toffered/s\tthroughput/s\tgoodput/s\tgoodput\tp99\tin flight\twithin capacity\t")
	for i, s := range tp.Steps {
		ok := "no"
		switch {
		case i == tp.Step:
			ok = "tipping point"
		case s.OK:
			ok = "yes"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.2f%%\t%s\t%.1f\t%s\t\n", s.Name, s.OfferedRPS, s.ThroughputRPS, s.GoodputRPS,
			100*safeRatio(s.GoodputRPS, s.OfferedRPS), formatSeconds(s.P99Ms/1000), s.Concurrency, ok)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write tipping point: %w", err)
	}
	var b strings.Builder
	slo := "p99 ≤ SLO " + formatSeconds(tp.SLOMs/1000)
	if tp.SLOMs <= 0 {
		slo = "no latency objective"
	}
	if tp.Found {
		fmt.Fprintf(&b, "\ntipping point: %.1f requests/s (highest step with goodput ≥ 99%% of offered and %s)\n", tp.OfferedRPS, slo)
	} else {
		fmt.Fprintf(&b, "\ntipping point: none (no step had goodput ≥ 99%% of offered and %s)\n", slo)
	}
	if u := tp.USL; u != nil {
		fmt.Fprintf(&b, "USL fit of throughput against concurrency: σ = %.4g, κ = %.4g, λ = %.4g/s, R² = %.3f", u.Sigma, u.Kappa, u.Lambda, u.R2)
		if u.PeakN > 0 {
			fmt.Fprintf(&b, "; predicted peak %.1f/s at %.1f in flight\n", u.PeakRPS, u.PeakN)
		} else {
			b.WriteString("; no peak within reach (κ = 0)\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write tipping point: %w", err)
	}
	return nil
}
