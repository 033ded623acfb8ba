package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stoppedRamp aggregates a ramp of five 2 s steps at 10, 20, … 50
// requests/s whose first two steps ran, every request ok in 10 ms, then
// the events evs.
func stoppedRamp(t *testing.T, evs ...results.Event) *Summary {
	t.Helper()
	h := results.Header{Version: results.FormatVersion, Label: "ramp", Seed: 1}
	for i := range 5 {
		rate := float64(10 * (i + 1))
		h.Phases = append(h.Phases, results.PhaseInfo{Name: fmt.Sprintf("step-%d", i+1), Offset: time.Duration(i) * 2 * time.Second, Duration: 2 * time.Second, FromRPS: rate, ToRPS: rate})
	}
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(h))
	id := uint64(0)
	for step := range 2 {
		n := 20 * (step + 1) // 10 or 20 a second for 2 s
		for i := range n {
			id++
			at := time.Duration(step)*2*time.Second + time.Duration(i)*2*time.Second/time.Duration(n)
			a.AddResult(&results.Result{RequestID: id, Attempt: 1, Phase: uint16(step), Final: true, Intended: at, Start: at, End: at + 10*time.Millisecond, Status: 200})
		}
	}
	for i := range evs {
		a.AddEvent(&evs[i])
	}
	return a.Summary()
}

func TestRampStoppedEndsTheRun(t *testing.T) {
	planned := stoppedRamp(t)
	assert.Equal(t, 10.0, planned.DurationS, "without the note, the whole schedule")
	assert.InDelta(t, 6.0, planned.OfferedRPS, 1e-9)

	s := stoppedRamp(t, results.Event{Kind: results.EventNote, At: 4 * time.Second, Scheduled: 4 * time.Second, Name: results.NoteRampStopped, Detail: "two steps past the knee"})
	assert.Equal(t, 4.0, s.DurationS, "the run ends where the ramp stopped")
	assert.InDelta(t, 15.0, s.OfferedRPS, 1e-9, "60 requests over 4 s")
	assert.InDelta(t, 15.0, s.GoodputRPS, 1e-9)
	assert.InDelta(t, 15.0, s.ThroughputRPS, 1e-9)
	assert.Len(t, s.Windows, 4, "no windows for the steps never run")
	assert.False(t, s.Interrupted, "a ramp that stopped past the knee was not interrupted")
	assert.Empty(t, s.Warnings)
	require.Len(t, s.Phases, 5, "phases stay as planned")
	assert.Equal(t, 2.0, s.Phases[4].DurationS)

	// Other notes do not end the run; the earliest end wins.
	other := stoppedRamp(t, results.Event{Kind: results.EventNote, At: 3 * time.Second, Name: "late start"})
	assert.Equal(t, 10.0, other.DurationS)
	both := stoppedRamp(t,
		results.Event{Kind: results.EventNote, At: 4 * time.Second, Name: results.NoteRampStopped},
		results.Event{Kind: results.EventInterrupted, At: 3 * time.Second, Name: "interrupted"})
	assert.Equal(t, 3.0, both.DurationS)
	assert.True(t, both.Interrupted)
}
