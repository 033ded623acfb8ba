package report

import (
	"bytes"
	"testing"

	"github.com/goodput-dev/goodput/results"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asyncSummary aggregates asyncRun, keeping the records keep accepts.
func asyncSummary(t *testing.T, keep func(*results.Result) bool) *Summary {
	t.Helper()
	h, recs := asyncRun()
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(h))
	for i := range recs {
		if keep(&recs[i]) {
			a.AddResult(&recs[i])
		}
	}
	return a.Summary()
}

func all(*results.Result) bool { return true }

func TestDeliveryFigures(t *testing.T) {
	s := asyncSummary(t, all)
	f := FiguresOf(s)
	assert.Equal(t, 36.0, f["delivered"])
	assert.Equal(t, 1.0, f["expired"])
	assert.Equal(t, 1.0, f["dead_lettered"])
	assert.Equal(t, 2.0, f["undelivered"])
	assert.InDelta(t, 0.010, f["delivery_age_p50"], 0.0001)
	assert.InDelta(t, 0.900, f["delivery_age_p99"], 0.001)
	assert.InDelta(t, 0.900, f["delivery_age_max"], 0.001)
	_, ok := f["drain_time"]
	assert.False(t, ok, "two messages were never delivered: the backlog did not drain")

	phases := PhaseFigures(s)
	assert.InDelta(t, 0.010, phases["load"]["delivery_age_p99"], 0.0001)
	assert.InDelta(t, 0.900, phases["after"]["delivery_age_p99"], 0.001)
	_, ok = phases["load"]["delivered"]
	assert.False(t, ok, "counts are of the whole run")

	vs := Evaluate(mustParse(t,
		"phase(after).delivery_age_p99 < 200ms",
		"phase(load).delivery_age_p99 < 200ms",
		"undelivered == 0",
		"delivered >= 36",
		"drain_time < 30s",
	), f, Scopes{Phases: phases})
	pass := make([]bool, len(vs))
	for i, v := range vs {
		pass[i] = v.Pass
	}
	assert.Equal(t, []bool{false, true, false, true, false}, pass)
	assert.Equal(t, "phase(after).delivery_age_p99 = 900ms, want < 200ms", vs[0].Message)
	assert.Equal(t, "undelivered = 2, want == 0", vs[2].Message)
	assert.Contains(t, vs[4].Message, "drain_time: not measured")

	_, err := ParseAssertion("phase(after).undelivered == 0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "whole run only")
}

// Without undelivered messages the backlog drained: drain_time is the
// time from the end of the load to the last delivery.
func TestDrainTimeWhenEverythingArrived(t *testing.T) {
	s := asyncSummary(t, func(r *results.Result) bool { return r.Outcome != results.OutcomeUndelivered })
	f := FiguresOf(s)
	assert.Equal(t, 0.0, f["undelivered"])
	assert.InDelta(t, 1.5, f["drain_time"], 1e-9)
	vs := Evaluate(mustParse(t, "drain_time < 2s", "drain_time < 1s"), f, Scopes{})
	assert.True(t, vs[0].Pass, vs[0].Message)
	assert.Equal(t, "drain_time = 1.5s, want < 1s", vs[1].Message)
}

// A run without async records has no delivery metrics, so an assertion
// on one fails as not measured, and a comparison of such runs has no
// delivery rows.
func TestNoDeliveryFiguresWithoutDeliveries(t *testing.T) {
	plain := asyncSummary(t, func(r *results.Result) bool { return !isDelivery(r) })
	f := FiguresOf(plain)
	for _, name := range []string{"delivered", "expired", "dead_lettered", "undelivered", "drain_time", "delivery_age_p50", "delivery_age_p99", "delivery_age_max"} {
		_, ok := f[name]
		assert.False(t, ok, name)
	}
	_, ok := PhaseFigures(plain)["after"]["delivery_age_p99"]
	assert.False(t, ok)

	isRow := func(c Comparison, name string) bool {
		for _, r := range c.Rows {
			if r.Metric == name {
				return true
			}
		}
		return false
	}
	c := Compare([]CompareRun{{Label: "a", Figures: f}, {Label: "b", Figures: FiguresOf(plain)}})
	assert.False(t, isRow(c, "delivery_age_p99"))
	assert.False(t, isRow(c, "undelivered"))

	// One run with deliveries is enough for the rows, and the other run
	// shows a dash.
	async := asyncSummary(t, all)
	c = Compare([]CompareRun{{Label: "plain", Figures: f}, {Label: "async", Figures: FiguresOf(async)}})
	for _, name := range []string{"delivery_age_p50", "delivery_age_p99", "delivery_age_max", "delivered", "expired", "dead_lettered", "undelivered"} {
		assert.True(t, isRow(c, name), name)
	}
	var buf bytes.Buffer
	require.NoError(t, c.WriteText(&buf))
	assert.Regexp(t, `delivery_age_p99\s+–\s+900ms`, buf.String())
}

func TestCompareDeliveryRowsMarkTheBetterRun(t *testing.T) {
	fifo := asyncSummary(t, all)
	lifo := asyncSummary(t, func(r *results.Result) bool { return r.Outcome != results.OutcomeUndelivered })
	c := Compare([]CompareRun{{Label: "fifo", Figures: FiguresOf(fifo)}, {Label: "lifo", Figures: FiguresOf(lifo)}})
	rows := map[string]CompareRow{}
	for _, r := range c.Rows {
		rows[r.Metric] = r
	}
	require.Contains(t, rows, "undelivered")
	assert.Equal(t, "lower", rows["undelivered"].Better)
	assert.Equal(t, []int{1}, rows["undelivered"].Best)
	assert.Equal(t, "", rows["delivered"].Better)
	require.Contains(t, rows, "drain_time", "measured in the run that drained")
	assert.Equal(t, "–", rows["drain_time"].Cell(0))
	assert.Equal(t, "1.5s", rows["drain_time"].Cell(1))
}
