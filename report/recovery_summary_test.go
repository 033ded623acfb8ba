package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDisturbanceSpansFromSummary(t *testing.T) {
	s := aggregate(t, Options{}, syntheticFile(t, 1))
	spans := DisturbanceSpans(s)
	names := map[string]DisturbanceSpan{}
	for _, d := range spans {
		names[d.Name] = d
	}
	require.Contains(t, names, "slow-db", "fault window")
	require.Contains(t, names, "surge", "surge phase: 300 rps between 100 and 100")
	assert.Equal(t, 6*time.Second, names["surge"].Start)
	assert.Equal(t, 8*time.Second, names["surge"].End)
	assert.NotContains(t, names, "steady")
	assert.NotContains(t, names, "warmup", "a first phase is never a surge")
}

func TestAnalyzeRecoveryOnSyntheticRun(t *testing.T) {
	s := aggregate(t, Options{}, syntheticFile(t, 1))

	// The run ends 4 s after the surge: too soon for 5 s of recovery, and
	// too soon to call it metastable.
	AnalyzeRecovery(s, RecoveryOptions{})
	require.NotNil(t, s.Recovery)
	require.Len(t, s.Recovery.Disturbances, 1, "the surge and its fault overlap: one disturbance")
	d := s.Recovery.Disturbances[0]
	assert.Equal(t, "surge + slow-db", d.Name)
	assert.InDelta(t, 8.002, d.EndS, 1e-9)
	assert.False(t, s.Recovery.Recovered)
	assert.False(t, s.Recovery.Metastable)
	assert.Equal(t, 4, s.Recovery.Baseline.Windows, "warm-up (0-2 s) excluded, 2-6 s kept")
	assert.Greater(t, s.Recovery.Baseline.P99Ms, 5.0)
	assert.Less(t, s.Recovery.Baseline.P99Ms, 200.0)

	// A 2 s recovery window fits: recovered at the first whole window
	// after the fault's end (9 s).
	AnalyzeRecovery(s, RecoveryOptions{Window: 2 * time.Second})
	require.NotNil(t, s.Recovery)
	assert.True(t, s.Recovery.Recovered)
	assert.InDelta(t, 0.998, s.Recovery.RecoveryTimeS, 1e-9)

	figs := FiguresOf(s)
	assert.Equal(t, 1.0, figs["recovered"])
	assert.InDelta(t, 0.998, figs["recovery_time"], 1e-9)
	vs := Evaluate(mustParse(t, "recovery_time < 2s", "metastable == false"), figs, Scopes{})
	assert.Zero(t, Failed(vs), "%+v", vs)
}

func TestAnalyzeRecoveryWithoutDisturbance(t *testing.T) {
	s := &Summary{WindowS: 1, Phases: []PhaseStats{{Name: "steady", DurationS: 10, FromRPS: 100, ToRPS: 100}}}
	s.Recovery = &Recovery{}
	AnalyzeRecovery(s, RecoveryOptions{})
	assert.Nil(t, s.Recovery)
	_, ok := FiguresOf(s)["recovered"]
	assert.False(t, ok)
}

func TestFiguresOfSummary(t *testing.T) {
	s := aggregate(t, Options{}, syntheticFile(t, 1))
	f := FiguresOf(s)
	assert.Equal(t, s.GoodputRatio, f["goodput_ratio"])
	assert.Equal(t, float64(s.Requests), f["requests"])
	assert.InDelta(t, s.Latency.P99/1000, f["p99"], 1e-12)
	assert.Equal(t, float64(s.Generator.Dropped), f["dropped"])
	assert.Greater(t, f["retries"], 0.0, "the surge's shed attempts were retried")
	assert.InDelta(t, 1, f["ok_ratio"]+f["error_ratio"], 1e-12)
	for name := range f {
		_, ok := LookupMetric(name)
		assert.True(t, ok, "FiguresOf sets only known metrics: %s", name)
	}

	phases := PhaseFigures(s)
	require.Contains(t, phases, "surge")
	assert.Greater(t, phases["surge"]["shed_ratio"], 0.1)
	assert.Zero(t, phases["steady"]["shed_ratio"])
	vs := Evaluate(mustParse(t, "phase(surge).shed_ratio < 0.5", "phase(steady).goodput_ratio >= 95%", "phase(surge).p99 < 50ms"), f, Scopes{Phases: phases})
	assert.True(t, vs[0].Pass, vs[0].Message)
	assert.True(t, vs[1].Pass, vs[1].Message)
	assert.False(t, vs[2].Pass, "the surge adds 80 ms: %s", vs[2].Message)
}

func TestNeverRecoveredMessage(t *testing.T) {
	f := Figures{}
	f.SetBool("recovered", false)
	vs := Evaluate(mustParse(t, "recovery_time < 15s"), f, Scopes{})
	assert.Equal(t, "recovery_time: the service did not recover before the run ended, want < 15s", vs[0].Message)
}

func mustParse(t *testing.T, exprs ...string) []Assertion {
	t.Helper()
	as, err := ParseAssertions(exprs)
	require.NoError(t, err)
	return as
}

// TestRecoveryIgnoresTheDrainAfterTheSchedule is the regression test of a
// collapsed service counted as recovered: the windows after the schedule
// have nothing offered, so they met the goodput condition.
func TestRecoveryIgnoresTheDrainAfterTheSchedule(t *testing.T) {
	s := &Summary{WindowS: 1, DurationS: 20, SLOMs: 100, Phases: []PhaseStats{
		{Name: "steady", DurationS: 5, FromRPS: 100, ToRPS: 100},
		{Name: "surge", StartS: 5, DurationS: 3, FromRPS: 300, ToRPS: 300},
		{Name: "after", StartS: 8, DurationS: 12, FromRPS: 100, ToRPS: 100},
	}}
	for i := range 30 {
		w := Window{StartS: float64(i), OfferedRPS: 100, GoodputRPS: 100, Latency: Latency{P99: 20}}
		switch {
		case i >= 5 && i < 20: // collapsed from the surge to the schedule's end
			w.GoodputRPS, w.Latency.P99 = 0, 0
		case i >= 20: // draining: nothing offered, nothing to fail
			w.OfferedRPS, w.GoodputRPS, w.Latency.P99 = 0, 0, 0
		}
		s.Windows = append(s.Windows, w)
	}
	AnalyzeRecovery(s, RecoveryOptions{})
	require.NotNil(t, s.Recovery)
	assert.False(t, s.Recovery.Recovered)
	assert.True(t, s.Recovery.Metastable, "12 s of normal load after the surge, never recovered")
	assert.Len(t, RecoverySamples(s), 20)
}
