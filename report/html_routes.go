package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goodput-dev/goodput/results"
)

// routeLines is how many routes the HTML report's per-route latency
// chart draws at most: the busiest, by requests. More lines would not be
// told apart; the table lists every route.
const routeLines = 6

// topOutcomes is how many non-ok outcomes a per-route row names.
const topOutcomes = 3

// routesByRequests returns the route labels of s, busiest first (most
// requests; ties by name).
func routesByRequests(s *Summary) []string {
	names := slices.Collect(maps.Keys(s.ByRoute))
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(s.ByRoute[b].Requests, s.ByRoute[a].Requests), cmp.Compare(a, b))
	})
	return names
}

// routeTable is the HTML report's table of routes, busiest first: the
// text report's per-route columns, with the route's most frequent failed
// outcomes. Nil when the run had fewer than two routes.
func routeTable(s *Summary) []htmlTable {
	if len(s.ByRoute) < 2 {
		return nil
	}
	t := htmlTable{Title: "Routes", Caption: "Each route's requests over the whole run, busiest first. Goodput: ok within the SLO; late: ok after it; latency of successful requests from intended start.",
		Head: []string{"route", "requests", "attempts", "goodput/s", "goodput", "late", "p50", "p90", "p99", "max", "failed outcomes"}}
	for _, name := range routesByRequests(s) {
		r := s.ByRoute[name]
		ok := r.Outcomes[results.OutcomeOK.String()] > 0
		lat := func(v float64) htmlCell {
			if !ok {
				return num("–")
			}
			return num(formatMsValue(v))
		}
		p99 := lat(r.Latency.P99)
		if ok {
			p99.Class += " " + latencyTone(r.Latency.P99, s.SLOMs)
		}
		t.Rows = append(t.Rows, []htmlCell{
			{Text: name}, num(strconv.FormatInt(r.Requests, 10)), num(strconv.FormatInt(r.Attempts, 10)),
			num(compactNumber(round1(r.GoodputRPS))), {Text: pct(r.GoodputRatio), Class: "num " + goodputTone(r.GoodputRatio)}, num(pct(r.LateRatio)),
			lat(r.Latency.P50), lat(r.Latency.P90), p99, lat(r.Latency.Max),
			{Text: failedOutcomes(r.Outcomes)},
		})
	}
	return []htmlTable{t}
}

// failedOutcomes names the most frequent outcomes other than ok, with
// their counts: "shed 12 · conn_error 3"; "none" when every request was
// ok.
func failedOutcomes(outcomes map[string]int64) string {
	type oc struct {
		name string
		n    int64
	}
	var list []oc
	for name, n := range outcomes {
		if name != results.OutcomeOK.String() && n > 0 {
			list = append(list, oc{name, n})
		}
	}
	if len(list) == 0 {
		return "none"
	}
	slices.SortFunc(list, func(a, b oc) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name)) })
	parts := make([]string, 0, topOutcomes+1)
	for i, o := range list {
		if i == topOutcomes {
			parts = append(parts, fmt.Sprintf("%d more", len(list)-topOutcomes))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", o.name, o.n))
	}
	return strings.Join(parts, " · ")
}

// routeLatencyChart is the chart of each route's p99 per window: one line
// for each of the routeLines busiest routes measured per window (the
// first MaxRouteSeries of the run); a window without a successful request
// of a route breaks its line. The caption names the routes left out.
// Nothing when the run had fewer than two routes.
func routeLatencyChart(s *Summary, shades, limited []chartShade) []chartDef {
	if len(s.ByRoute) < 2 {
		return nil
	}
	measured := map[string]bool{}
	for _, w := range s.Windows {
		for name := range w.ByRoute {
			measured[name] = true
		}
	}
	xs := windowTimes(s)
	var series []chartSeries
	var left []string
	for _, name := range routesByRequests(s) {
		if !measured[name] || len(series) == routeLines {
			left = append(left, name)
			continue
		}
		series = append(series, chartSeries{Name: name, X: xs, Y: windowSeries(s, func(w *Window) float64 {
			r, ok := w.ByRoute[name]
			if !ok || r.Outcomes[results.OutcomeOK.String()] == 0 {
				return math.NaN()
			}
			return r.Latency.P99
		}), Color: runColor(len(series))})
	}
	if len(series) == 0 {
		return nil
	}
	caption := "Each window's p99 of each route's successful requests, from intended start; a line breaks where a route had no success. Log scale."
	if len(left) > 0 {
		caption += fmt.Sprintf(" The %d busiest routes measured per window are drawn; %d more are in the Routes table only.", len(series), len(left))
	}
	return []chartDef{{"p99 latency by route", caption, chartSpec{
		XLabel: "time (s)", XFromZero: true, YLabel: "p99 latency", LogY: true, Shades: shades, Limited: limited,
		Series: append(series, sloOver(s.SLOMs, xs)...),
	}}}
}

// compareCells returns the cells of row's values in runs runs, the best
// ones highlighted (the HTML marks them by class, not by the text's "*").
func compareCells(row CompareRow, runs int) []htmlCell {
	cells := make([]htmlCell, runs)
	for i := range cells {
		cells[i] = htmlCell{Text: strings.TrimPrefix(row.Cell(i), "* "), Class: "num"}
		if slices.Contains(row.Best, i) {
			cells[i].Class += " best"
		}
	}
	return cells
}

// routeCompareTable is a comparison's per-route rows: a row per route and
// metric, a column per run, the better value highlighted.
func routeCompareTable(c *Comparison) htmlTable {
	t := htmlTable{Title: "Side by side, per route", Caption: fmt.Sprintf("The routes at least two runs share. Percentages are relative to %s; the better value is highlighted; – where a run did not have the route.", c.firstLabel()),
		Head: append([]string{"route", "metric"}, c.Runs...)}
	for _, rc := range c.Routes {
		for j, row := range rc.Rows {
			route := htmlCell{Text: rc.Route}
			if j > 0 {
				route.Text = ""
			}
			t.Rows = append(t.Rows, append([]htmlCell{route, {Text: row.Metric}}, compareCells(row, len(c.Runs))...))
		}
	}
	return widen([]htmlTable{t})[0]
}
