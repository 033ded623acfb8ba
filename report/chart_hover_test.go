package report

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChartTopTickLabelIsNotClipped(t *testing.T) {
	for _, spec := range []chartSpec{
		{YFromZero: true, Series: []chartSeries{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{10, 95, 40}}}},
		{LogY: true, Series: []chartSeries{{Name: "p99", X: []float64{0, 1, 2}, Y: []float64{3, 80, 900}}}},
	} {
		svg, err := renderChart(spec)
		require.NoError(t, err)
		// vgsvg writes text at y inside a flipped group: its baseline is at
		// 230 + y in the SVG, and a 10 px label rises about 7.5 above it.
		ys := regexp.MustCompile(`<text x="[^"]*" y="(-?[0-9.]+)"`).FindAllStringSubmatch(string(svg), -1)
		require.NotEmpty(t, ys)
		for _, m := range ys {
			y, err := strconv.ParseFloat(m[1], 64)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, 230+y-7.5, 0.0, "a label above the SVG's top: y=%s", m[1])
		}
	}
}

func TestChartsHaveAccessibleNamesAndHoverValues(t *testing.T) {
	c, ok, err := newChart("Load & goodput", "", chartSpec{XLabel: "time (s)", YLabel: "per second", Series: []chartSeries{{Name: "goodput", X: []float64{0.5, 1.5}, Y: []float64{10, 20}, Color: colGoodput}}})
	require.NoError(t, err)
	require.True(t, ok)
	svg := string(c.SVG)
	assert.True(t, strings.HasPrefix(svg, `<svg class="chart"`))
	assert.Contains(t, svg, `aria-label="Load &amp; goodput">`)
	assert.Contains(t, svg, "<title>Load &amp; goodput</title>")
	assert.Contains(t, svg, "<title>goodput · 0.5s: 10 per second</title>")
	assert.Contains(t, svg, "<title>goodput · 1.5s: 20 per second</title>")
	assert.Equal(t, 2, strings.Count(svg, "<circle"), "one hover target a point")
}

func TestNoSuccessGapsAreShadedAndNamed(t *testing.T) {
	s := &Summary{WindowS: 1, DurationS: 5, Windows: []Window{
		{StartS: 0, Requests: 5, Latency: Latency{P50: 3}}, {StartS: 1, Requests: 5}, {StartS: 2, Requests: 5},
		{StartS: 3, Requests: 0}, {StartS: 4, Requests: 5, Latency: Latency{P50: 3}},
	}}
	assert.Equal(t, []chartShade{{From: 1, To: 3, Label: "no successes"}}, noSuccessGaps(s), "idle windows are no gap; adjacent ones merge")
}

func TestUnnamedPhasesAreNotShadedAsDisturbances(t *testing.T) {
	phases := func(names ...string) []PhaseStats {
		var out []PhaseStats
		for i, n := range names {
			rate := 100.0
			if i == 1 {
				rate = 1000
			}
			out = append(out, PhaseStats{Name: n, StartS: float64(10 * i), DurationS: 10, FromRPS: rate, ToRPS: rate})
		}
		return out
	}
	assert.Empty(t, disturbanceShades(&Summary{Phases: phases("phase 1", "phase 2", "phase 3")}), "an attack's --phase steps")
	assert.Len(t, disturbanceShades(&Summary{Phases: phases("warmup", "surge", "recover")}), 1, "a named surge")
	assert.Len(t, disturbanceShades(&Summary{Phases: phases("phase 1", "phase 2", "phase 3"), Disturbances: []Disturbance{{Name: "slow-db", StartS: 3, EndS: 5}}}), 1, "faults are always shaded")
}
