package profiles

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSurgeSurveyBuiltin(t *testing.T) {
	doc, err := Open("surge-survey")
	require.NoError(t, err)
	runs, err := doc.Resolve(Options{})
	require.NoError(t, err)
	require.Len(t, runs, 2)
	sv := runs[1].Scenario.Survey
	require.NotNil(t, sv)
	assert.Equal(t, Rate(250), sv.Rate)
	assert.Equal(t, []float64{3}, sv.Multipliers)
	assert.Equal(t, SurveyDurations{Min: time.Second, Max: 30 * time.Second}, sv.Durations)
	assert.Equal(t, 2*time.Minute, sv.Settle, "a default")
	require.Len(t, sv.Assert, 2)
	assert.Equal(t, SurveyAssertion{Text: "variant(protected).survive(3x) >= 30s", Variant: "protected", Expr: "survive(3x) >= 30s"}, sv.Assert[1])

	runs, err = doc.Resolve(Options{Short: true})
	require.NoError(t, err)
	sv = runs[0].Scenario.Survey
	assert.Equal(t, SurveyDurations{Min: 5 * time.Second, Max: 5 * time.Second}, sv.Durations)
	assert.Equal(t, Rate(125), sv.Rate)
}
