package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderHTML writes the HTML report of runs (a comparison when several).
func renderHTML(t *testing.T, runs ...HTMLRun) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, HTMLReport{Runs: runs}))
	return buf.String()
}

// figureOf returns the <figure> of the chart titled title, "" when the
// page has none.
func figureOf(page, title string) string {
	i := strings.Index(page, "<h2>"+title+"</h2>")
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<figure>")
	end := strings.Index(page[i:], "</figure>")
	if start < 0 || end < 0 {
		return ""
	}
	return page[start : i+end]
}

var legendName = regexp.MustCompile(`</span>([^<]+)</li>`)

// legendOf lists a figure's legend entries, in order.
func legendOf(fig string) []string {
	var out []string
	for _, m := range legendName.FindAllStringSubmatch(fig, -1) {
		out = append(out, m[1])
	}
	return out
}

// hoverTitles counts a figure's hover points whose title starts with
// series + " · ".
func hoverTitles(fig, series string) int {
	return strings.Count(fig, "<title>"+series+" · ")
}

// tableOf returns the panel of the table titled title, "" when none.
func tableOf(page, title string) string {
	i := strings.Index(page, "<h2>"+title+"</h2>")
	if i < 0 {
		return ""
	}
	end := strings.Index(page[i:], "</table>")
	if end < 0 {
		return ""
	}
	return page[i : i+end]
}

func TestLoadChartShowsGoodputLateAndFailed(t *testing.T) {
	page := renderHTML(t, HTMLRun{Summary: lateRun(t)})
	fig := figureOf(page, "Load: offered, throughput, goodput, late and failed")
	require.NotEmpty(t, fig, "the load chart")
	assert.Equal(t, []string{"offered", "throughput", "goodput", "late", "failed"}, legendOf(fig))
	// Window 0 has 3 late requests and 1 failed (shed) one: both lines
	// have a point there, with those rates.
	assert.Contains(t, fig, "<title>late · 0.5s: 3 per second</title>")
	assert.Contains(t, fig, "<title>failed · 0.5s: 1 per second</title>")
	assert.Positive(t, hoverTitles(fig, "goodput"))
}

func TestColdRatioChartOnlyForRunsWithColdStarts(t *testing.T) {
	h, recs := functionRun()
	cold := summarise(t, h, recs)
	page := renderHTML(t, HTMLRun{Summary: cold})
	fig := figureOf(page, "Cold starts")
	require.NotEmpty(t, fig, "a run with cold starts has the cold-start chart")
	assert.Equal(t, []string{"cold ratio"}, legendOf(fig))
	assert.Equal(t, len(chartWindows(cold)), hoverTitles(fig, "cold ratio"), "one point per window")
	// Window 0 (quiet): 1 cold of 10 ran.
	assert.Contains(t, fig, "<title>cold ratio · 0.5s: 10 cold attempts (%)</title>")

	var warm []results.Result
	for _, r := range recs {
		if !r.Cold() {
			warm = append(warm, r)
		}
	}
	page = renderHTML(t, HTMLRun{Summary: summarise(t, h, warm)})
	assert.Empty(t, figureOf(page, "Cold starts"), "no cold start, no cold-start chart")
	assert.NotEmpty(t, figureOf(page, "Latency distribution"))
}

func TestComparisonListsColdRatioOnlyWhenARunHadColdStarts(t *testing.T) {
	h, recs := functionRun()
	var warm []results.Result
	for _, r := range recs {
		if !r.Cold() {
			warm = append(warm, r)
		}
	}
	warmS, coldS := summarise(t, h, warm), summarise(t, h, recs)
	has := func(c Comparison) bool {
		for _, r := range c.Rows {
			if r.Metric == "cold_ratio" {
				return true
			}
		}
		return false
	}
	require.Contains(t, FiguresOf(warmS), "cold_ratio", "measured (0) for a run with Server-Timing")
	assert.False(t, has(Compare([]CompareRun{{Label: "a", Figures: FiguresOf(warmS)}, {Label: "b", Figures: FiguresOf(warmS)}})), "two runs without cold starts")
	assert.True(t, has(Compare([]CompareRun{{Label: "warm", Figures: FiguresOf(warmS)}, {Label: "cold", Figures: FiguresOf(coldS)}})), "one run had cold starts")
	page := renderHTML(t, HTMLRun{Label: "a", Summary: warmS}, HTMLRun{Label: "b", Summary: warmS})
	assert.NotContains(t, page, "<td>cold_ratio</td>")
	page = renderHTML(t, HTMLRun{Label: "warm", Summary: warmS}, HTMLRun{Label: "cold", Summary: coldS})
	assert.Contains(t, page, "<td>cold_ratio</td>")
}

// tableRows returns the text of each cell of each body row of a table
// panel (from tableOf).
func tableRows(panel string) [][]string {
	var rows [][]string
	body := panel[strings.Index(panel, "<tbody>")+len("<tbody>"):]
	for _, tr := range strings.Split(body, "<tr>")[1:] {
		var row []string
		for _, m := range cellText.FindAllStringSubmatch(tr, -1) {
			row = append(row, m[1])
		}
		rows = append(rows, row)
	}
	return rows
}

var cellText = regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)

func TestHTMLRouteTableAndLatencyLines(t *testing.T) {
	s := twoRoutesTwoPhases(t)
	page := renderHTML(t, HTMLRun{Summary: s})
	panel := tableOf(page, "Routes")
	require.NotEmpty(t, panel, "a run of two routes has the Routes table")
	assert.Contains(t, panel, `<th class="num">requests</th>`)
	rows := tableRows(panel)
	require.Len(t, rows, 2)
	// Both routes made 10 requests: by name. POST /b: 2 late of 10, 1 ok
	// after a shed first attempt, 2 shed for good.
	assert.Equal(t, []string{"GET /a", "10", "10", "5", "100.00%", "0.00%", "10ms", "20ms", "20ms", "20ms", "none"}, rows[0])
	assert.Equal(t, []string{"POST /b", "10", "11", "3", "60.00%", "20.00%", "10ms", "400ms", "400ms", "400ms", "shed 2"}, rows[1])

	fig := figureOf(page, "p99 latency by route")
	require.NotEmpty(t, fig)
	assert.Equal(t, []string{"GET /a", "POST /b", "SLO"}, legendOf(fig))
	assert.Contains(t, fig, "<title>POST /b · 1.5s: 401ms</title>", "the surge window's p99 of POST /b (2 significant digits)")
	assert.Contains(t, fig, "<title>GET /a · 0.5s: 10ms</title>")
	assert.NotContains(t, fig, "more are in the Routes table")

	for name, one := range map[string]*Summary{"no route": lateRun(t), "one route": func() *Summary {
		h, recs := syntheticRamp()
		data, _ := encodeStream(t, h, recs)
		return aggregate(t, Options{}, data)
	}()} {
		page := renderHTML(t, HTMLRun{Summary: one})
		assert.Empty(t, tableOf(page, "Routes"), name)
		assert.Empty(t, figureOf(page, "p99 latency by route"), name)
	}
}

// A run of more routes than the chart draws: the busiest get lines, the
// caption says how many are left to the table, which lists them all.
func TestHTMLRouteLinesAreBounded(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{}))
	const routes = MaxRouteSeries + 2
	for i := range routes {
		for j := range 10 + i { // later routes are busier
			at := time.Duration(j) * 50 * time.Millisecond
			r := results.Result{Route: fmt.Sprintf("GET /r%02d", i), Attempt: 1, Final: true, Status: 200, Intended: at, Start: at, End: at + time.Duration(i+1)*time.Millisecond}
			a.AddResult(&r)
		}
	}
	s := a.Summary()
	page := renderHTML(t, HTMLRun{Summary: s})
	fig := figureOf(page, "p99 latency by route")
	require.NotEmpty(t, fig)
	// r10 and r11 are the busiest but past the routes measured per window.
	assert.Equal(t, []string{"GET /r09", "GET /r08", "GET /r07", "GET /r06", "GET /r05", "GET /r04"}, legendOf(fig))
	assert.Contains(t, fig, fmt.Sprintf("The %d busiest routes measured per window are drawn; %d more are in the Routes table only.", routeLines, routes-routeLines))
	assert.Len(t, tableRows(tableOf(page, "Routes")), routes)
}
