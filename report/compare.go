package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// CompareRun is one run of a comparison: its label, its figures and, to
// compare per route, its routes' figures (RouteFigures; nil for none).
type CompareRun struct {
	Label   string
	Figures Figures
	Routes  map[string]Figures
}

// Comparison is several runs side by side: a row per metric that at least
// one run measured, a column per run, the relative difference of each
// run to the first, and the better value marked. It is a plain value.
type Comparison struct {
	Runs []string     `json:"runs"`
	Rows []CompareRow `json:"rows"`
	// Routes compares the routes that at least two runs share, by route
	// label: their rows of routeCompareMetrics. Absent when no two runs
	// share a route.
	Routes []RouteComparison `json:"routes,omitempty"`
}

// RouteComparison is one route across the runs of a Comparison; a run
// without the route has no value in its rows.
type RouteComparison struct {
	Route string       `json:"route"`
	Rows  []CompareRow `json:"rows"`
}

// routeCompareMetrics are the metrics a comparison shows per route: how
// much of the route's load was served in time, how much late, and its
// tail latency.
var routeCompareMetrics = []string{"goodput_ratio", "late_ratio", "p99"}

// CompareRow is one metric across the runs of a Comparison.
type CompareRow struct {
	Metric string `json:"metric"`
	Unit   string `json:"unit"`
	// Better is "higher", "lower" or "" when neither direction is better.
	Better string `json:"better"`
	// Values has one entry per run, nil where the run did not measure the
	// metric. Durations are in seconds.
	Values []*float64 `json:"values"`
	// RelDiff is (value − first) ÷ |first| per run; nil for the first run,
	// where either value is missing, where the first is 0, and for
	// booleans.
	RelDiff []*float64 `json:"rel_diff"`
	// Best lists the indexes of the runs with the better value; empty when
	// the metric has no better direction or all measured values are equal.
	Best []int `json:"best"`

	metric Metric
	never  []bool // recovery_time of a run that never recovered
}

// neverRecovered reports whether m is recovery_time in a run that was
// analysed for recovery and did not recover.
func neverRecovered(m Metric, f Figures) bool {
	r, ok := f["recovered"]
	return m.Name == "recovery_time" && ok && r == 0
}

// Compare lines up the runs' figures, one row per metric in Metrics()
// order, skipping metrics no run measured, and cold_ratio when no run had
// a cold start. Then, per route that at least two runs share (by label;
// OtherRoutes, a mix of routes, is not compared), the rows of
// goodput_ratio, late_ratio and p99.
func Compare(runs []CompareRun) Comparison {
	c := Comparison{Runs: make([]string, len(runs)), Rows: []CompareRow{}}
	figs := make([]Figures, len(runs))
	for i, r := range runs {
		c.Runs[i] = r.Label
		figs[i] = r.Figures
	}
	for _, m := range metricList {
		if row, ok := compareRow(m, figs); ok {
			c.Rows = append(c.Rows, row)
		}
	}
	for _, route := range sharedRoutes(runs) {
		for i, r := range runs {
			figs[i] = r.Routes[route]
		}
		rc := RouteComparison{Route: route, Rows: []CompareRow{}}
		for _, name := range routeCompareMetrics {
			m, _ := LookupMetric(name)
			if row, ok := compareRow(m, figs); ok {
				rc.Rows = append(rc.Rows, row)
			}
		}
		c.Routes = append(c.Routes, rc)
	}
	return c
}

// sharedRoutes returns the routes of at least two runs, sorted; none when
// no run has more than one route, whose rows would repeat the run's.
func sharedRoutes(runs []CompareRun) []string {
	if !slices.ContainsFunc(runs, func(r CompareRun) bool { return len(r.Routes) > 1 }) {
		return nil
	}
	count := map[string]int{}
	for _, r := range runs {
		for route := range r.Routes {
			if route != OtherRoutes {
				count[route]++
			}
		}
	}
	var out []string
	for route, n := range count {
		if n >= 2 {
			out = append(out, route)
		}
	}
	slices.Sort(out)
	return out
}

// compareRow lines up metric m across the runs' figures (nil for a run
// without them); false when no run measured it, or for a metric whose 0
// means none (cold_ratio) when every run had 0.
func compareRow(m Metric, figs []Figures) (CompareRow, bool) {
	n := len(figs)
	row := CompareRow{Metric: m.Name, Unit: m.Unit.String(), Values: make([]*float64, n), RelDiff: make([]*float64, n), Best: []int{}, metric: m, never: make([]bool, n)}
	switch m.Better {
	case BetterHigher:
		row.Better = "higher"
	case BetterLower:
		row.Better = "lower"
	}
	measured, nonZero := false, false
	for i, f := range figs {
		if v, ok := f[m.Name]; ok {
			row.Values[i] = &v
			measured = true
			nonZero = nonZero || v != 0
		} else if neverRecovered(m, f) {
			row.never[i] = true
			measured = true
		}
	}
	if !measured || (m.zeroIsNone && !nonZero) {
		return row, false
	}
	if first := row.Values[0]; first != nil && *first != 0 && m.Unit != UnitBool {
		for i := 1; i < n; i++ {
			if v := row.Values[i]; v != nil {
				d := (*v - *first) / math.Abs(*first)
				row.RelDiff[i] = &d
			}
		}
	}
	row.Best = bestOf(row.Values, m.Better)
	return row, true
}

// bestOf returns the indexes holding the best value in direction b, or
// none when b is neither, fewer than two values were measured, or all are
// equal.
func bestOf(vals []*float64, b Better) []int {
	if b == BetterNeither {
		return []int{}
	}
	n := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v != nil {
			n++
			lo, hi = min(lo, *v), max(hi, *v)
		}
	}
	if n < 2 || lo == hi {
		return []int{}
	}
	want := hi
	if b == BetterLower {
		want = lo
	}
	out := []int{}
	for i, v := range vals {
		if v != nil && *v == want {
			out = append(out, i)
		}
	}
	return out
}

// Cell formats run i's value for people, with the relative difference to
// the first run, and a leading "*" on the better value: "* 80ms (−36%)".
func (r CompareRow) Cell(i int) string {
	v := r.Values[i]
	if v == nil {
		if r.never[i] {
			return "never"
		}
		return "–"
	}
	s := r.metric.Format(*v)
	if d := r.RelDiff[i]; d != nil {
		s += fmt.Sprintf(" (%s)", formatRelDiff(*d))
	}
	for _, b := range r.Best {
		if b == i {
			return "* " + s
		}
	}
	return s
}

// formatRelDiff writes d as a signed percentage: +12%, −3.5%, ±0%.
func formatRelDiff(d float64) string {
	p := 100 * d
	switch {
	case math.Abs(p) < 0.05:
		return "±0%"
	case math.Abs(p) >= 10:
		p = math.Round(p)
	default:
		p = math.Round(p*10) / 10
	}
	s := fmt.Sprintf("%+g%%", p)
	return strings.Replace(s, "-", "−", 1)
}

// WriteText writes the comparison as an aligned table: a row per metric,
// a column per run, each cell with its difference to the first run and
// "*" on the better value.
func (c Comparison) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "metric")
	for _, r := range c.Runs {
		fmt.Fprintf(tw, "\t%s", r)
	}
	fmt.Fprintln(tw)
	for _, row := range c.Rows {
		fmt.Fprint(tw, row.Metric)
		for i := range c.Runs {
			fmt.Fprintf(tw, "\t%s", row.Cell(i))
		}
		fmt.Fprintln(tw)
	}
	if len(c.Routes) > 0 {
		fmt.Fprint(tw, "\nroute\tmetric")
		for _, r := range c.Runs {
			fmt.Fprintf(tw, "\t%s", r)
		}
		fmt.Fprintln(tw)
		for _, rc := range c.Routes {
			for j, row := range rc.Rows {
				route := rc.Route
				if j > 0 {
					route = ""
				}
				fmt.Fprintf(tw, "%s\t%s", route, row.Metric)
				for i := range c.Runs {
					fmt.Fprintf(tw, "\t%s", row.Cell(i))
				}
				fmt.Fprintln(tw)
			}
		}
	}
	fmt.Fprintf(tw, "\n(* better value; percentages relative to %s)\n", c.firstLabel())
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

func (c Comparison) firstLabel() string {
	if len(c.Runs) == 0 {
		return "the first run"
	}
	return c.Runs[0]
}

// WriteJSON writes {"compare": c} followed by a newline.
func (c Comparison) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(struct {
		Compare Comparison `json:"compare"`
	}{c}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode comparison: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
