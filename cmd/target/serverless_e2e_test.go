package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// surgeReport is the part of loadgen's JSON report the surge test reads.
type surgeReport struct {
	summary
	Throttles  map[string]int64 `json:"throttles"`
	ColdStarts *struct {
		Count int64   `json:"count"`
		Ratio float64 `json:"ratio"`
	} `json:"cold_starts"`
	Windows []struct {
		StartS       float64          `json:"start_s"`
		OfferedRPS   float64          `json:"offered_rps"`
		GoodputRPS   float64          `json:"goodput_rps"`
		GoodputRatio float64          `json:"goodput_ratio"`
		Outcomes     map[string]int64 `json:"outcomes"`
		ColdRatio    float64          `json:"cold_ratio"`
	} `json:"windows"`
}

// Issue 17, done when: from cold, a surge from 0 to 500 rps on a 100 ms
// function with --scale-rate 10/1s is throttled (scaling) for about as
// long as theory says, then served in full, and the report's cold ratio
// shows the flip.
//
// Theory. 500 rps × 100 ms needs 50 environments (Little's law; the
// 10 rps ceiling per environment asks for the same 50). The scaling
// bucket holds 10 and refills at 10/s, so the function has 10
// environments at once and 10 + 10·t after t seconds: 50 at t = 4 s
// (the "~5 s" is 50 ÷ 10 without the bucket's first 10). Until
// then the function serves about 10 × its environments per second and
// throttles the rest with X-Throttle-Reason: scaling. The 50 ms init of
// each cold start holds its environment a little longer, so the last
// throttles fall in the window [4 s, 5 s) in theory; the bounds below
// (served in full from a window within 3..8 s on) leave room for a
// noisy machine. The test runs the full 500 rps: the binaries are built
// without -race and the run costs about 3 CPU-seconds over 12 s.
//
// The function has init=50ms because loadgen tells a cold start by a
// Server-Timing init entry with a positive duration.
func TestServerlessSurgeScalingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes, 12 s")
	}
	const (
		rate    = 500
		seconds = 12
	)
	var r surgeReport
	measure(t, "surge", 150, func() []summary {
		// A fresh target each time: the surge must start from cold.
		api, _ := startTarget(t, "--preset", "serverless", "--fn", "work=100ms,init=50ms",
			"--scale-rate", "10/1s", "--account-concurrency", "1000")
		r = surge(t, api+"/fn/work", rate, seconds)
		return []summary{r.summary}
	})
	for _, w := range r.Windows {
		t.Logf("window %2.0f s: offered %3.0f/s, goodput %3.0f/s, throttled %3d, cold ratio %.3f",
			w.StartS, w.OfferedRPS, w.GoodputRPS, w.Outcomes["shed"], w.ColdRatio)
	}
	require.EqualValues(t, rate*seconds, r.Requests)
	require.GreaterOrEqual(t, len(r.Windows), seconds, "a window per second")
	assert.Equal(t, []string{"scaling"}, keys(r.Throttles), "every throttle is the scaling rate's")
	assert.Equal(t, r.Outcomes["shed"], r.Throttles["scaling"], "every 429 carried its reason")

	// The ramp ends at the first window from which every window is
	// served in full (goodput ≥ 90% of offered). A window after it may
	// still have a few scaling throttles: when the loaded machine stalls
	// the generator, it catches up with a burst that needs more
	// environments than the steady 50, which the bucket adds at its
	// rate. That is the platform working, not the ramp going on, so the
	// ramp is not "the last window with a throttle".
	ramp := seconds
	for ramp > 0 && r.Windows[ramp-1].GoodputRatio >= 0.9 {
		ramp--
	}
	assert.GreaterOrEqual(t, ramp, 3, "throttled for about 4-5 s (theory), not less than 3")
	require.LessOrEqual(t, ramp, 8, "throttled for about 4-5 s (theory), not more than 8: then served in full")
	// The ramp itself: the first three windows have 10-40 of the 50
	// environments needed, so about 350, 250 and 150 throttles.
	for i := range 3 {
		assert.Greater(t, r.Windows[i].Outcomes["shed"], int64(50), "window %d is within the scaling ramp", i)
	}
	assert.Less(t, r.Windows[0].GoodputRatio, 0.6, "the first second serves about 150 of 500")
	var during, after int64
	for i, w := range r.Windows {
		if i < ramp {
			during += w.Outcomes["shed"]
		} else {
			after += w.Outcomes["shed"]
		}
	}
	assert.InDelta(t, 800, during, 300, "theory: ∫(500 − 10·(10 + 10t)) dt over 0..4 s = 800 throttles")
	assert.LessOrEqual(t, after, during/5, "throttles only in the first seconds")

	served := r.Windows[ramp:seconds] // at least 4 windows, each ≥ 90% served

	// The mode flip: the first second's invokes include the cold starts
	// of 10-20 new environments out of ~150 served (theory ~0.13); once
	// scaled, nearly every invoke is warm. A burst after a stall may
	// still add environments, but the bucket allows at most 20 in any
	// second (10 banked, 10 refilled): 0.04 of 500.
	require.NotNil(t, r.ColdStarts, "the report counts cold starts")
	assert.GreaterOrEqual(t, r.ColdStarts.Count, int64(50), "at least the 50 environments needed were created cold")
	assert.GreaterOrEqual(t, r.Windows[0].ColdRatio, 0.08, "cold ratio high at the surge")
	mean := 0.0
	for _, w := range served[1:] {
		assert.LessOrEqual(t, w.ColdRatio, 0.045, "window %.0f s is warm", w.StartS)
		mean += w.ColdRatio / float64(len(served)-1)
	}
	assert.LessOrEqual(t, mean, 0.025, "once scaled, about every invoke is warm (0.000-0.012 measured)")
	assert.LessOrEqual(t, mean, r.Windows[0].ColdRatio/4, "the flip: far fewer cold starts than at the surge")
}

// surge runs loadgen attack with POSTs at rate for seconds, no retries,
// and returns its JSON report.
func surge(t *testing.T, url string, rate, seconds int) surgeReport {
	t.Helper()
	var r surgeReport
	require.NoError(t, json.Unmarshal(attackJSON(t, url, rate, seconds, "--method", "POST"), &r))
	return r
}

func keys(m map[string]int64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
