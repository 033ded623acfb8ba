package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-compare", false, "rewrite the compare golden files")

func compareFixture() []CompareRun {
	a := Figures{"goodput_ratio": 0.62, "requests": 6000, "shed_ratio": 0, "amplification": 2.4, "wasted_work": 1500}
	a.SetDuration("p50", 180*time.Millisecond)
	a.SetDuration("p99", 2*time.Second)
	a.SetBool("metastable", true)
	a.SetBool("recovered", false)
	b := Figures{"goodput_ratio": 0.97, "requests": 6000, "shed_ratio": 0.21, "amplification": 1.1}
	b.SetDuration("p50", 40*time.Millisecond)
	b.SetDuration("p99", 250*time.Millisecond)
	b.SetDuration("recovery_time", 3*time.Second)
	b.SetBool("metastable", false)
	b.SetBool("recovered", true)
	c := Figures{"goodput_ratio": 0.97, "requests": 6000, "shed_ratio": 0.3, "amplification": 1.0}
	c.SetDuration("p50", 40*time.Millisecond)
	c.SetDuration("p99", 300*time.Millisecond)
	c.SetDuration("recovery_time", 4*time.Second)
	c.SetBool("metastable", false)
	c.SetBool("recovered", true)
	return []CompareRun{{Label: "unprotected", Figures: a}, {Label: "protected", Figures: b}, {Label: "lifo", Figures: c}}
}

func TestCompare(t *testing.T) {
	c := Compare(compareFixture())
	assert.Equal(t, []string{"unprotected", "protected", "lifo"}, c.Runs)
	rows := map[string]CompareRow{}
	var order []string
	for _, r := range c.Rows {
		rows[r.Metric] = r
		order = append(order, r.Metric)
	}
	assert.Equal(t, []string{"goodput_ratio", "requests", "p50", "p99", "shed_ratio", "amplification", "wasted_work", "recovered", "recovery_time", "metastable"}, order, "Metrics() order, unmeasured metrics skipped")

	g := rows["goodput_ratio"]
	assert.Equal(t, "higher", g.Better)
	assert.Equal(t, []int{1, 2}, g.Best, "ties are all marked")
	require.NotNil(t, g.RelDiff[1])
	assert.InDelta(t, (0.97-0.62)/0.62, *g.RelDiff[1], 1e-12)
	assert.Nil(t, g.RelDiff[0])

	p99 := rows["p99"]
	assert.Equal(t, []int{1}, p99.Best, "lower latency is better")
	assert.Equal(t, "* 250ms (−88%)", p99.Cell(1))
	assert.Equal(t, "300ms (−85%)", p99.Cell(2))
	assert.Equal(t, "2s", p99.Cell(0))

	assert.Empty(t, rows["requests"].Best, "no better direction")
	assert.Empty(t, rows["wasted_work"].Best, "only one run measured it")
	assert.Equal(t, "–", rows["wasted_work"].Cell(1))
	rt := rows["recovery_time"]
	assert.Nil(t, rt.Values[0])
	assert.Equal(t, "never", rt.Cell(0), "recovery_time of a run that did not recover")
	assert.Nil(t, rt.RelDiff[1], "no difference against a missing first value")
	assert.Equal(t, []int{1}, rt.Best)
	assert.Equal(t, []int{1, 2}, rows["metastable"].Best)
	assert.Nil(t, rows["shed_ratio"].RelDiff[1], "first value 0: no relative difference")
}

func TestCompareGolden(t *testing.T) {
	c := Compare(compareFixture())
	var text, js bytes.Buffer
	require.NoError(t, c.WriteText(&text))
	require.NoError(t, c.WriteJSON(&js))
	var decoded map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &decoded))
	require.Contains(t, decoded, "compare")
	compareGolden(t, "compare.txt", text.Bytes())
	compareGolden(t, "compare.json", js.Bytes())
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "compare", name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -run Golden -update-compare to create it")
	assert.Equal(t, string(want), string(got))
}

func TestFormatRelDiff(t *testing.T) {
	for d, want := range map[float64]string{0.1234: "+12%", -0.035: "−3.5%", 0.0001: "±0%", 2: "+200%", -0.0049: "−0.5%"} {
		assert.Equal(t, want, formatRelDiff(d), "%v", d)
	}
}

func BenchmarkCompare(b *testing.B) {
	runs := compareFixture()
	b.ReportAllocs()
	for b.Loop() {
		if c := Compare(runs); len(c.Rows) == 0 {
			b.Fatal("no rows")
		}
	}
}

func TestComparePerRoute(t *testing.T) {
	route := func(goodput, late float64, p99 time.Duration) Figures {
		f := Figures{"goodput_ratio": goodput, "late_ratio": late, "requests": 100}
		f.SetDuration("p99", p99)
		return f
	}
	runs := []CompareRun{
		{Label: "fifo", Figures: Figures{"goodput_ratio": 0.7}, Routes: map[string]Figures{
			"GET /a": route(0.9, 0.05, 200*time.Millisecond), "POST /b": route(0.5, 0.4, 2*time.Second), "GET /only-fifo": route(1, 0, time.Millisecond),
		}},
		{Label: "lifo", Figures: Figures{"goodput_ratio": 0.8}, Routes: map[string]Figures{
			"GET /a": route(0.9, 0.05, 250*time.Millisecond), "POST /b": route(0.75, 0.1, 500*time.Millisecond), OtherRoutes: route(1, 0, time.Millisecond),
		}},
		{Label: "none", Figures: Figures{"goodput_ratio": 0.1}},
	}
	c := Compare(runs)
	require.Len(t, c.Routes, 2, "only the routes two runs share; not a route of one run, nor (other)")
	assert.Equal(t, "GET /a", c.Routes[0].Route)
	b := c.Routes[1]
	assert.Equal(t, "POST /b", b.Route)
	var metrics []string
	for _, r := range b.Rows {
		metrics = append(metrics, r.Metric)
	}
	assert.Equal(t, []string{"goodput_ratio", "late_ratio", "p99"}, metrics)
	assert.Equal(t, []int{1}, b.Rows[0].Best)
	assert.Equal(t, "* 75.00% (+50%)", b.Rows[0].Cell(1))
	assert.Equal(t, "* 500ms (−75%)", b.Rows[2].Cell(1))
	assert.Equal(t, "–", b.Rows[2].Cell(2), "the third run has no routes")

	var text bytes.Buffer
	require.NoError(t, c.WriteText(&text))
	assert.Regexp(t, `\nroute\s+metric\s+fifo\s+lifo\s+none\n`, text.String())
	assert.Regexp(t, `\nPOST /b\s+goodput_ratio\s+50\.00%\s+\* 75\.00% \(\+50%\)\s+–\n\s+late_ratio\s+40\.00%\s+\* 10\.00% \(−75%\)`, text.String())

	var js bytes.Buffer
	require.NoError(t, c.WriteJSON(&js))
	var m struct {
		Compare struct {
			Routes []struct {
				Route string `json:"route"`
				Rows  []struct {
					Metric string     `json:"metric"`
					Values []*float64 `json:"values"`
				} `json:"rows"`
			} `json:"routes"`
		} `json:"compare"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &m))
	require.Len(t, m.Compare.Routes, 2)
	assert.Equal(t, "p99", m.Compare.Routes[1].Rows[2].Metric)
	assert.InDelta(t, 0.5, *m.Compare.Routes[1].Rows[2].Values[1], 1e-9, "seconds")

	noShared := Compare([]CompareRun{runs[0], runs[2]})
	assert.Empty(t, noShared.Routes)
	js.Reset()
	require.NoError(t, noShared.WriteJSON(&js))
	assert.NotContains(t, js.String(), `"routes"`)

	oneRoute := func(label string) CompareRun {
		return CompareRun{Label: label, Figures: Figures{"goodput_ratio": 0.5}, Routes: map[string]Figures{"GET /a": route(0.5, 0, time.Second)}}
	}
	assert.Empty(t, Compare([]CompareRun{oneRoute("x"), oneRoute("y")}).Routes, "runs of one route: their route rows would repeat the run's")
}

func TestHTMLComparisonPerRoute(t *testing.T) {
	s := twoRoutesTwoPhases(t)
	page := renderHTML(t, HTMLRun{Label: "a", Summary: s}, HTMLRun{Label: "b", Summary: s})
	panel := tableOf(page, "Side by side, per route")
	require.NotEmpty(t, panel)
	rows := tableRows(panel)
	require.Len(t, rows, 6, "two routes × goodput_ratio, late_ratio, p99")
	assert.Equal(t, []string{"POST /b", "goodput_ratio", "60.00%", "60.00% (±0%)"}, rows[3])
	assert.Equal(t, []string{"", "late_ratio", "20.00%", "20.00% (±0%)"}, rows[4])

	one := lateRun(t)
	page = renderHTML(t, HTMLRun{Label: "a", Summary: one}, HTMLRun{Label: "b", Summary: one})
	assert.Empty(t, tableOf(page, "Side by side, per route"), "runs without routes")
}
