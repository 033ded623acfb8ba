package survey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/report"
)

func TestParseAssertion(t *testing.T) {
	a, err := ParseAssertion(" survive(3x) >= 10s ")
	require.NoError(t, err)
	assert.Equal(t, Assertion{Expr: "survive(3x) >= 10s", Multiplier: 3, Op: report.OpGE, Value: 10 * time.Second}, a)
	a, err = ParseAssertion("survive(2.5)<1m")
	require.NoError(t, err)
	assert.Equal(t, report.OpLT, a.Op)
	assert.Equal(t, time.Minute, a.Value)
	for in, want := range map[string]string{
		"recover(3x) >= 10s": "unknown metric",
		"survive(3x >= 10s":  "missing )",
		"survive(0x) >= 10s": "multiplier",
		"survive(3x) 10s":    "no operator",
		"survive(3x) >= ten": "bad duration",
		"survive(3x) >=":     "bad duration",
	} {
		_, err := ParseAssertion(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
		assert.Contains(t, err.Error(), in, "the error names the assertion")
	}
	_, err = ParseAssertions([]string{"survive(3x) >= 1s", "bad", "worse"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"bad"`)
	assert.Contains(t, err.Error(), `"worse"`)
}

func TestAssertionCheckAndEvaluate(t *testing.T) {
	o := Options{Multipliers: []float64{2, 3, 5}, Min: time.Second, Max: 30 * time.Second, Resolution: time.Second}
	r := &Result{Options: o, Boundaries: []Boundary{
		{Multiplier: 2, Survived: 30 * time.Second, Bound: AboveMax},
		{Multiplier: 3, Survived: 7 * time.Second, Failed: 8 * time.Second, Bound: Exact},
		{Multiplier: 5, Failed: time.Second, Bound: BelowMin},
	}}
	for expr, pass := range map[string]bool{
		"survive(3x) >= 7s":  true,
		"survive(3x) >= 10s": false,
		"survive(2x) >= 30s": true,
		"survive(2x) > 30s":  false, // beyond MAX is not shown
		"survive(5x) < 1s":   true,
		"survive(5x) >= 1s":  false,
	} {
		a, err := ParseAssertion(expr)
		require.NoError(t, err)
		require.NoError(t, a.Check(o))
		v := a.Evaluate(r)
		assert.Equal(t, pass, v.Passed, expr)
		assert.NotEmpty(t, v.Actual)
	}
	a, _ := ParseAssertion("survive(4x) >= 1s")
	err := a.Check(o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "4x is not surveyed (multipliers: 2x, 3x, 5x)")
	v := a.Evaluate(r)
	assert.False(t, v.Passed)
	assert.Equal(t, "not surveyed to the end", v.Actual)
	vs := Evaluate([]Assertion{a}, r)
	assert.Equal(t, 1, Failed(vs))
}
