package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capacityCurve is a service with capacity c rps and a 20 ms service time:
// below c it carries everything with p99 25 ms; above, throughput stays at c
// while latency grows and goodput falls as queued requests miss the SLO.
func capacityCurve(c float64, offered []float64) []RampStep {
	steps := make([]RampStep, len(offered))
	for i, o := range offered {
		s := RampStep{OfferedRPS: o, ThroughputRPS: o, GoodputRPS: o, P99Ms: 25}
		if o > c {
			over := o/c - 1
			s.ThroughputRPS = c
			s.GoodputRPS = c * max(0, 1-3*over)
			s.P99Ms = 25 + 4000*over
		}
		s.Concurrency = s.ThroughputRPS * s.P99Ms / 1000
		steps[i] = s
	}
	return steps
}

func TestTippingPointOf(t *testing.T) {
	var offered []float64
	for r := 100.0; r <= 700; r += 50 {
		offered = append(offered, r)
	}
	steps := capacityCurve(400, offered)

	tp := TippingPointOf(steps, 250*time.Millisecond)
	require.True(t, tp.Found)
	assert.InDelta(t, 400, tp.OfferedRPS, 1e-9)
	assert.Equal(t, 6, tp.Step)
	assert.Len(t, tp.Steps, len(steps))
	for i, s := range tp.Steps {
		assert.Equal(t, s.OfferedRPS <= 400, s.OK, "step %d (%v rps)", i, s.OfferedRPS)
	}
	assert.False(t, steps[0].OK, "input not modified")

	// A tighter SLO moves the tipping point down even though goodput held:
	// at 400 rps p99 is 25 ms, so an SLO of 20 ms passes nothing.
	tp = TippingPointOf(steps, 20*time.Millisecond)
	assert.False(t, tp.Found)
	assert.Equal(t, -1, tp.Step)

	// Goodput 98.5% of offered is below the 99% bar.
	steps[6].GoodputRPS = 0.985 * steps[6].OfferedRPS
	tp = TippingPointOf(steps, 250*time.Millisecond)
	assert.InDelta(t, 350, tp.OfferedRPS, 1e-9)
}

func TestPastKnee(t *testing.T) {
	steps := capacityCurve(400, []float64{300, 350, 400, 450, 500, 550})
	slo := 250 * time.Millisecond
	assert.False(t, PastKnee(steps[:3], slo, 2), "all good so far")
	assert.False(t, PastKnee(steps[:4], slo, 2), "one step past the knee")
	assert.True(t, PastKnee(steps[:5], slo, 2), "two steps past the knee")
	bad := capacityCurve(100, []float64{300, 350, 400})
	assert.False(t, PastKnee(bad, slo, 2), "never good: keep going")
}

func TestFitUSLExact(t *testing.T) {
	want := USLFit{Lambda: 120, Sigma: 0.04, Kappa: 0.0008}
	var ns, xs []float64
	for n := 1.0; n <= 64; n *= 1.5 {
		ns = append(ns, n)
		xs = append(xs, want.Throughput(n))
	}
	got, err := FitUSL(ns, xs)
	require.NoError(t, err)
	assert.InEpsilon(t, want.Lambda, got.Lambda, 1e-4)
	assert.InEpsilon(t, want.Sigma, got.Sigma, 1e-3)
	assert.InEpsilon(t, want.Kappa, got.Kappa, 1e-3)
	peak := math.Sqrt((1 - want.Sigma) / want.Kappa)
	assert.InEpsilon(t, peak, got.PeakN, 1e-3)
	assert.InEpsilon(t, want.Throughput(peak), got.PeakRPS, 1e-4)
	assert.InDelta(t, 1, got.R2, 1e-9)
}

func TestFitUSLNoisy(t *testing.T) {
	want := USLFit{Lambda: 50, Sigma: 0.1, Kappa: 0.002}
	rng := rand.New(rand.NewPCG(7, 7))
	var ns, xs []float64
	for n := 1.0; n <= 80; n += 3 {
		ns = append(ns, n)
		xs = append(xs, want.Throughput(n)*(1+0.03*rng.NormFloat64()))
	}
	got, err := FitUSL(ns, xs)
	require.NoError(t, err)
	peak := math.Sqrt((1 - want.Sigma) / want.Kappa)
	assert.InEpsilon(t, peak, got.PeakN, 0.15, "peak concurrency")
	assert.InEpsilon(t, want.Throughput(peak), got.PeakRPS, 0.05, "peak throughput")
	assert.Greater(t, got.R2, 0.9)
}

func TestFitUSLLinear(t *testing.T) {
	// Perfectly linear scaling: σ = κ = 0, no peak.
	got, err := FitUSL([]float64{1, 2, 4, 8}, []float64{10, 20, 40, 80})
	require.NoError(t, err)
	assert.InEpsilon(t, 10, got.Lambda, 1e-6)
	assert.InDelta(t, 0, got.Sigma, 1e-6)
	assert.InDelta(t, 0, got.Kappa, 1e-9)
	assert.Zero(t, got.PeakN)
}

func TestFitUSLRefusesTooFewPoints(t *testing.T) {
	_, err := FitUSL([]float64{1, 1, 2, 0}, []float64{10, 11, 20, 5})
	assert.ErrorIs(t, err, ErrUSLPoints)
	_, err = FitUSL([]float64{1}, []float64{1, 2})
	assert.Error(t, err)
}

func BenchmarkFitUSL(b *testing.B) {
	want := USLFit{Lambda: 120, Sigma: 0.04, Kappa: 0.0008}
	var ns, xs []float64
	for n := 1.0; n <= 64; n++ {
		ns = append(ns, n)
		xs = append(xs, want.Throughput(n)*(1+0.01*math.Sin(n)))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitUSL(ns, xs); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTippingPointFromSummary(t *testing.T) {
	// A ramp of 5 s steps at 100..600 rps against a 400 rps service.
	s := &Summary{WindowS: 1, SLOMs: 250}
	for i, o := range []float64{100, 200, 300, 400, 500, 600} {
		st := capacityCurve(400, []float64{o})[0]
		p := PhaseStats{Name: fmt.Sprintf("step-%d", i+1), StartS: float64(5 * i), DurationS: 5, FromRPS: o, ToRPS: o, Requests: int64(5 * o),
			OfferedRPS: st.OfferedRPS, ThroughputRPS: st.ThroughputRPS, GoodputRPS: st.GoodputRPS, Latency: Latency{P99: st.P99Ms}}
		s.Phases = append(s.Phases, p)
		for w := range 5 {
			// The first window of a step is a transient and is left out.
			inflight := st.Concurrency
			if w == 0 {
				inflight = 1000
			}
			s.Windows = append(s.Windows, Window{StartS: float64(5*i + w), InFlightMean: inflight})
		}
	}
	require.True(t, IsRamp(s))
	AnalyzeTippingPoint(s, 0)
	require.NotNil(t, s.TippingPoint)
	assert.True(t, s.TippingPoint.Found)
	assert.InDelta(t, 400, s.TippingPoint.OfferedRPS, 1e-9)
	assert.InDelta(t, 250, s.TippingPoint.SLOMs, 1e-9)
	assert.InDelta(t, 400*0.025, s.TippingPoint.Steps[3].Concurrency, 1e-9)
	assert.Equal(t, 400.0, FiguresOf(s)["tipping_point"])

	// The configured rate is the step's offered load, not the count of
	// requests over the duration (25.33/s for 38 requests in 1.5 s).
	s.Phases[3].OfferedRPS = 400.4
	AnalyzeTippingPoint(s, 0)
	assert.Equal(t, 400.0, s.TippingPoint.OfferedRPS)

	// A ramp stopped during its last step, and a step never started, are
	// left out; so a step with nothing offered is never the tipping point.
	s.Phases[5].Requests = 600
	s.Phases = append(s.Phases, PhaseStats{Name: "step-7", StartS: 30, DurationS: 5, FromRPS: 700, ToRPS: 700})
	steps := RampSteps(s)
	require.Len(t, steps, 5)
	assert.Equal(t, "step-5", steps[4].Name)
	assert.False(t, StepOK(RampStep{}, time.Second), "nothing offered")

	s.Phases[2].FromRPS = 50
	assert.False(t, IsRamp(s), "rates must rise")
	assert.False(t, IsRamp(&Summary{Phases: s.Phases[:2]}), "too few steps")
}

func TestTippingPointWriteText(t *testing.T) {
	steps := capacityCurve(400, []float64{300, 400, 500})
	for i := range steps {
		steps[i].Name = fmt.Sprintf("step %d", i+1)
	}
	tp := TippingPointOf(steps, 250*time.Millisecond)
	var b strings.Builder
	require.NoError(t, tp.WriteText(&b))
	out := b.String()
	assert.Contains(t, out, "tipping point: 400.0 requests/s (highest step with goodput ≥ 99% of offered and p99 ≤ SLO 250ms)")
	assert.Regexp(t, `step 2\s+400.0\s+400.0\s+400.0\s+100.00%\s+25ms\s+10.0\s+tipping point`, out)
	assert.Regexp(t, `step 3 .* no\s*\n`, out)

	b.Reset()
	none := TippingPointOf(steps[2:], 250*time.Millisecond)
	require.NoError(t, none.WriteText(&b))
	assert.Contains(t, b.String(), "tipping point: none")
}
