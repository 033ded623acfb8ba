package report

import (
	"html/template"
	"image/color"
	"math"
	"regexp"

	"github.com/goodput-dev/goodput/results"
)

// htmlChart is one rendered chart of the HTML report, with the legend the
// page draws beside it.
type htmlChart struct {
	Title   string
	Caption string
	Legend  []legendEntry
	SVG     []byte
}

// legendEntry is one swatch of a chart legend.
type legendEntry struct {
	Name   string
	Color  template.CSS // CSS colour, from cssColor
	Dashed bool
	Band   bool // a filled band rather than a line
}

// newChart renders spec into an htmlChart, with a legend entry per named
// series. It returns false when the chart has no data.
func newChart(title, caption string, spec chartSpec) (htmlChart, bool, error) {
	svg, err := renderChart(spec)
	if err == errNoData {
		return htmlChart{}, false, nil
	}
	if err != nil {
		return htmlChart{}, false, err
	}
	c := htmlChart{Title: title, Caption: caption, SVG: nameSVG(svg, title)}
	for _, s := range spec.Series {
		if s.Name != "" {
			c.Legend = append(c.Legend, legendEntry{Name: s.Name, Color: template.CSS(cssColor(s.Color)), Dashed: s.Dashed, Band: spec.Stacked})
		}
	}
	if len(spec.Shades) > 0 {
		c.Legend = append(c.Legend, legendEntry{Name: "disturbance", Color: template.CSS(cssColor(colShade)), Band: true})
	}
	if len(spec.Gaps) > 0 {
		c.Legend = append(c.Legend, legendEntry{Name: "no successes", Color: template.CSS(cssColor(colGap)), Band: true})
	}
	if len(spec.Limited) > 0 {
		c.Legend = append(c.Legend, legendEntry{Name: "generator-limited", Color: template.CSS(cssColor(colLimited)), Band: true})
	}
	return c, true, nil
}

// chartWindows are the windows time charts show: those that start before
// the schedule's end (later ones hold only stragglers, and would show the
// offered load falling to nothing), and not the idle tail of a run that
// stopped early (a ramp past its knee, an interrupted run).
func chartWindows(s *Summary) []Window {
	n := len(s.Windows)
	for n > 1 && s.DurationS > 0 && s.Windows[n-1].StartS >= s.DurationS-1e-9 {
		n--
	}
	for n > 1 && s.Windows[n-1].Requests == 0 && s.Windows[n-1].ThroughputRPS == 0 && s.Windows[n-1].InFlightMean == 0 {
		n--
	}
	return s.Windows[:n]
}

// windowTimes returns the midpoints of the chart windows: a window's rate
// belongs to the middle of the second it was measured over.
func windowTimes(s *Summary) []float64 {
	ws := chartWindows(s)
	xs := make([]float64, len(ws))
	for i, w := range ws {
		xs[i] = w.StartS + s.WindowS/2
	}
	return xs
}

// windowSeries maps f over the chart windows.
func windowSeries(s *Summary, f func(w *Window) float64) []float64 {
	ws := chartWindows(s)
	ys := make([]float64, len(ws))
	for i := range ws {
		ys[i] = f(&ws[i])
	}
	return ys
}

// latencyOrGap is a window latency in ms, NaN (a gap) when the window had
// no successful request.
func latencyOrGap(w *Window, v float64) float64 {
	if w.LatencyHistogram() == nil && v == 0 {
		return math.NaN()
	}
	return v
}

// disturbanceShades shades the run's fault windows and its named surges:
// a phase the schedule named itself ("phase 2", an attack's --phase) is
// a step of the load, not a disturbance someone planned.
func disturbanceShades(s *Summary) []chartShade {
	faults := map[string]bool{}
	for _, d := range s.Disturbances {
		faults[d.Name] = true
	}
	var spans []DisturbanceSpan
	for _, d := range DisturbanceSpans(s) {
		if unnamedPhase.MatchString(d.Name) && !faults[d.Name] {
			continue
		}
		spans = append(spans, d)
	}
	var out []chartShade
	for _, d := range mergeSpans(spans) {
		out = append(out, chartShade{From: d.Start.Seconds(), To: d.End.Seconds(), Label: d.Name})
	}
	return out
}

// unnamedPhase matches the name a schedule gives a phase that has none
// (workload.Schedule: "phase N").
var unnamedPhase = regexp.MustCompile(`^phase [0-9]+$`)

// noSuccessGaps are the stretches of chart windows that offered requests
// but had no successful one: the latency lines break there.
func noSuccessGaps(s *Summary) []chartShade {
	return windowSpans(s, "no successes", func(w *Window) bool {
		return w.Requests > 0 && w.LatencyHistogram() == nil && w.Latency.P50 == 0
	})
}

// generatorLimitedSpans are the stretches of chart windows flagged
// generator-limited (Window.GeneratorLimited).
func generatorLimitedSpans(s *Summary) []chartShade {
	return windowSpans(s, "generator", func(w *Window) bool { return w.GeneratorLimited })
}

// windowSpans shades, under label, the chart windows for which in holds;
// adjacent ones merge into one span.
func windowSpans(s *Summary, label string, in func(*Window) bool) []chartShade {
	var out []chartShade
	for _, w := range chartWindows(s) {
		if !in(&w) {
			continue
		}
		end := w.StartS + s.WindowS
		if n := len(out); n > 0 && math.Abs(out[n-1].To-w.StartS) < 1e-9 {
			out[n-1].To = end
			continue
		}
		out = append(out, chartShade{From: w.StartS, To: end, Label: label})
	}
	return out
}

// constantSeries is a horizontal line at y across xs's range.
func constantSeries(name string, xs []float64, y float64, c color.Color) chartSeries {
	if len(xs) == 0 {
		return chartSeries{Name: name, Color: c, Dashed: true}
	}
	return chartSeries{Name: name, X: []float64{xs[0], xs[len(xs)-1]}, Y: []float64{y, y}, Color: c, Dashed: true, Width: 1.2}
}

// chartDef is a chart to render: its title, caption and spec.
type chartDef struct {
	title, caption string
	spec           chartSpec
}

// runCharts are the charts of one run's report.
func runCharts(label string, s *Summary) ([]htmlChart, error) {
	xs := windowTimes(s)
	shades := disturbanceShades(s)
	limited := generatorLimitedSpans(s)
	var specs []chartDef
	add := func(title, caption string, spec chartSpec) {
		specs = append(specs, chartDef{title, caption, spec})
	}

	add("Load: offered, throughput, goodput, late and failed", "Per second in each window. Offered, goodput, late and failed count requests in the window of their intended start (goodput: those that succeeded within the SLO; late: those that succeeded after it; failed: the rest of the offered, never ok); throughput counts answered attempts in the window they ended. So when answers come late, goodput can run above throughput for a while, and throughput lags behind the load that caused it.", chartSpec{
		XLabel: "time (s)", XFromZero: true, YLabel: "per second", YFromZero: true, Shades: shades, Limited: limited,
		Series: []chartSeries{
			{Name: "offered", X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.OfferedRPS }), Color: colOffered, Dashed: true},
			{Name: "throughput", X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.ThroughputRPS }), Color: colThroughput},
			{Name: "goodput", X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.GoodputRPS }), Color: colGoodput, Width: 2.2},
			{Name: "late", X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.LateRPS }), Color: colLate},
			{Name: "failed", X: xs, Y: windowSeries(s, func(w *Window) float64 { return failedRPS(w.OfferedRPS, w.GoodputRPS, w.LateRPS) }), Color: colFailed},
		},
	})

	lat := []chartSeries{
		{Name: "p50", X: xs, Y: windowSeries(s, func(w *Window) float64 { return latencyOrGap(w, w.Latency.P50) }), Color: colP50},
		{Name: "p90", X: xs, Y: windowSeries(s, func(w *Window) float64 { return latencyOrGap(w, w.Latency.P90) }), Color: colP90},
		{Name: "p99", X: xs, Y: windowSeries(s, func(w *Window) float64 { return latencyOrGap(w, w.Latency.P99) }), Color: colP99, Width: 2.2},
		{Name: "p99.9", X: xs, Y: windowSeries(s, func(w *Window) float64 { return latencyOrGap(w, w.Latency.P999) }), Color: colP999},
		{Name: "max", X: xs, Y: windowSeries(s, func(w *Window) float64 { return latencyOrGap(w, w.Latency.Max) }), Color: colMax, Width: 0.9},
	}
	if s.SLOMs > 0 {
		lat = append(lat, constantSeries("SLO", xs, s.SLOMs, colSLO))
	}
	add("Latency percentiles over time", "Successful requests, from intended start; each window's own HdrHistogram. Log scale.", chartSpec{
		XLabel: "time (s)", XFromZero: true, YLabel: "latency", LogY: true, Shades: shades, Gaps: noSuccessGaps(s), Limited: limited, Series: lat,
	})
	specs = append(specs, routeLatencyChart(s, shades, limited)...)

	var bands []chartSeries
	width := max(s.WindowS, 1e-9)
	for _, o := range results.Outcomes() {
		name := o.String()
		ys := windowSeries(s, func(w *Window) float64 { return float64(w.Outcomes[name]) / width })
		if slicesAllZero(ys) {
			continue
		}
		bands = append(bands, chartSeries{Name: name, X: xs, Y: ys, Color: outcomeColor(o)})
	}
	add("Outcomes over time", "Requests per second by final outcome, in the window of their intended start.", chartSpec{
		XLabel: "time (s)", XFromZero: true, YLabel: "requests per second", Stacked: true, YFromZero: true, Shades: shades, Series: bands,
	})

	add("Concurrency in flight", "Time-averaged attempts in flight in each window (Little's law: throughput × latency).", chartSpec{
		XLabel: "time (s)", XFromZero: true, YLabel: "attempts in flight", YFromZero: true, Shades: shades,
		Series: []chartSeries{{Name: "in flight", X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.InFlightMean }), Color: colThroughput}},
	})

	if s.ServerTiming != nil {
		timing := func(f func(st *ServerTimingMs) float64) []float64 {
			return windowSeries(s, func(w *Window) float64 {
				if w.ServerTiming == nil {
					return 0
				}
				return f(w.ServerTiming)
			})
		}
		add("Where the time goes", "The service's own Server-Timing breakdown, mean per attempt in each window: queue wait, its own work, dependencies.", chartSpec{
			XLabel: "time (s)", XFromZero: true, YLabel: "ms per attempt", Stacked: true, YFromZero: true, Shades: shades,
			Series: []chartSeries{
				{Name: "queue", X: xs, Y: timing(func(st *ServerTimingMs) float64 { return st.Queue }), Color: colQueue},
				{Name: "app", X: xs, Y: timing(func(st *ServerTimingMs) float64 { return st.App }), Color: colApp},
				{Name: "dependencies", X: xs, Y: timing(func(st *ServerTimingMs) float64 { return st.Dep }), Color: colDep},
			},
		})
	}

	if s.ColdStarts != nil {
		add("Cold starts", "Share of the attempts started in each window that paid for a cold start (the service's Server-Timing carried init), of those the service ran (answered, not shed).", chartSpec{
			XLabel: "time (s)", XFromZero: true, YLabel: "cold attempts (%)", YFromZero: true, Shades: shades, Height: smallChartHeight,
			Series: []chartSeries{{Name: "cold ratio", X: xs, Y: windowSeries(s, func(w *Window) float64 { return 100 * w.ColdRatio }), Color: colCold, Width: 2}},
		})
	}

	px, py := percentileCurve(s)
	add("Latency distribution", "Percentiles of the whole run's successful requests on a 1/(1−p) axis, so the tail gets the room it deserves.", chartSpec{
		XLabel: "percentile", YLabel: "latency", LogY: true, PercentileX: true,
		Series: append([]chartSeries{{Name: label, X: px, Y: py, Color: colP99, Width: 2}}, sloOver(s.SLOMs, px)...),
	})

	if tp := s.TippingPoint; tp != nil {
		specs = append(specs, rampCharts(tp)...)
	}

	return renderCharts(specs)
}

// renderCharts renders each chart, leaving out those without data.
func renderCharts(defs []chartDef) ([]htmlChart, error) {
	out := make([]htmlChart, 0, len(defs))
	for _, d := range defs {
		c, ok, err := newChart(d.title, d.caption, d.spec)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// sloOver is an SLO line across xs, or nothing without an SLO.
func sloOver(sloMs float64, xs []float64) []chartSeries {
	if sloMs <= 0 || len(xs) == 0 {
		return nil
	}
	return []chartSeries{constantSeries("SLO", xs, sloMs, colSLO)}
}

func slicesAllZero(ys []float64) bool {
	for _, y := range ys {
		if y != 0 && !math.IsNaN(y) {
			return false
		}
	}
	return true
}

// percentileCurve samples the run's latency distribution at p = 1 − 10^(−k/20)
// (20 points a decade of 1/(1−p)) up to the percentile its sample count
// resolves, and returns x = 1/(1−p) and y = latency in ms. Without the
// histogram (a Summary read from JSON) it falls back to the summary's
// percentiles.
func percentileCurve(s *Summary) (xs, ys []float64) {
	h := s.LatencyHistogram()
	if h == nil || h.TotalCount() == 0 {
		l := s.Latency
		if l.P50 == 0 {
			return nil, nil
		}
		return []float64{2, 10, 100, 1000}, []float64{l.P50, l.P90, l.P99, l.P999}
	}
	n := float64(h.TotalCount())
	for k := 0; ; k++ {
		tail := math.Pow(10, -float64(k)/20)
		if tail*n < 1 && k > 0 {
			break
		}
		xs = append(xs, 1/tail)
		ys = append(ys, float64(h.ValueAtPercentile(100*(1-tail)))/1000)
		if k > 200 {
			break
		}
	}
	return xs, ys
}

// rampCharts are the charts of a ramp: goodput and throughput against
// offered load with the tipping point marked, and p99 against offered.
func rampCharts(tp *TippingPoint) []chartDef {
	var off, thr, good, p99 []float64
	for _, s := range tp.Steps {
		off = append(off, s.OfferedRPS)
		thr = append(thr, s.ThroughputRPS)
		good = append(good, s.GoodputRPS)
		p99 = append(p99, s.P99Ms)
	}
	var marks []chartMark
	if tp.Found {
		marks = []chartMark{{X: tp.OfferedRPS, Label: "tipping point " + compactNumber(tp.OfferedRPS) + "/s", Color: colSLO}}
	}
	ideal := chartSeries{Name: "offered (ideal)", X: off, Y: off, Color: colOffered, Dashed: true, Width: 1}
	p99Series := []chartSeries{{Name: "p99", X: off, Y: p99, Color: colP99, Points: true, Width: 2}}
	p99Series = append(p99Series, sloOver(tp.SLOMs, off)...)
	return []chartDef{
		{"Ramp: goodput and throughput against offered load", "One point per step. The tipping point is the highest step with goodput ≥ 99% of offered and p99 ≤ SLO.", chartSpec{
			XLabel: "offered load (requests/s)", YLabel: "per second", YFromZero: true, Marks: marks,
			Series: []chartSeries{ideal, {Name: "throughput", X: off, Y: thr, Color: colThroughput, Points: true}, {Name: "goodput", X: off, Y: good, Color: colGoodput, Points: true, Width: 2.2}},
		}},
		{"Ramp: p99 latency against offered load", "p99 of each step's successful requests, log scale.", chartSpec{
			XLabel: "offered load (requests/s)", YLabel: "p99 latency", LogY: true, Marks: marks, Series: p99Series,
		}},
	}
}

// compareCharts overlay the runs of a comparison, one colour a run.
func compareCharts(runs []HTMLRun) ([]htmlChart, error) {
	goodput := chartDef{"Goodput over time", "Requests per second that succeeded within the SLO, per run, against the load offered to the first.", chartSpec{XLabel: "time (s)", XFromZero: true, YLabel: "per second", YFromZero: true}}
	p99 := chartDef{"p99 latency over time", "Each window's p99 of successful requests, per run. Log scale.", chartSpec{XLabel: "time (s)", XFromZero: true, YLabel: "p99 latency", LogY: true}}
	dist := chartDef{"Latency distribution", "Percentiles of each run's successful requests on a 1/(1−p) axis.", chartSpec{XLabel: "percentile", YLabel: "latency", LogY: true, PercentileX: true}}
	inflight := chartDef{"Concurrency in flight", "Time-averaged attempts in flight, per run.", chartSpec{XLabel: "time (s)", XFromZero: true, YLabel: "attempts in flight", YFromZero: true}}
	amp := chartDef{"Retry amplification over time", "Attempts ÷ requests in each window, per run (1 = no retries).", chartSpec{XLabel: "time (s)", XFromZero: true, YLabel: "attempts per request", YFromZero: true}}
	ramp := chartDef{"Goodput against offered load", "Ramps: one point per step, per run.", chartSpec{XLabel: "offered load (requests/s)", YLabel: "goodput per second", YFromZero: true}}
	hasRamp := false
	for i, r := range runs {
		s := r.Summary
		c := runColor(i)
		xs := windowTimes(s)
		goodput.spec.Series = append(goodput.spec.Series, chartSeries{Name: r.Label, X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.GoodputRPS }), Color: c})
		p99.spec.Series = append(p99.spec.Series, chartSeries{Name: r.Label, X: xs, Y: windowSeries(s, func(w *Window) float64 { return latencyOrGap(w, w.Latency.P99) }), Color: c})
		px, py := percentileCurve(s)
		dist.spec.Series = append(dist.spec.Series, chartSeries{Name: r.Label, X: px, Y: py, Color: c})
		inflight.spec.Series = append(inflight.spec.Series, chartSeries{Name: r.Label, X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.InFlightMean }), Color: c})
		amp.spec.Series = append(amp.spec.Series, chartSeries{Name: r.Label, X: xs, Y: windowSeries(s, func(w *Window) float64 {
			if w.Requests == 0 {
				return math.NaN()
			}
			return w.Amplification
		}), Color: c})
		if tp := s.TippingPoint; tp != nil {
			hasRamp = true
			var off, good []float64
			for _, st := range tp.Steps {
				off = append(off, st.OfferedRPS)
				good = append(good, st.GoodputRPS)
			}
			ramp.spec.Series = append(ramp.spec.Series, chartSeries{Name: r.Label, X: off, Y: good, Color: c, Points: true})
		}
		if i == 0 {
			goodput.spec.Series = append([]chartSeries{{Name: "offered (" + r.Label + ")", X: xs, Y: windowSeries(s, func(w *Window) float64 { return w.OfferedRPS }), Color: colOffered, Dashed: true, Width: 1.2}}, goodput.spec.Series...)
			goodput.spec.Shades = disturbanceShades(s)
			p99.spec.Shades = goodput.spec.Shades
			inflight.spec.Shades = goodput.spec.Shades
			amp.spec.Shades = goodput.spec.Shades
		}
	}
	defs := []chartDef{goodput, p99, dist, inflight, amp}
	if hasRamp {
		defs = append(defs, ramp)
	}
	return renderCharts(defs)
}
