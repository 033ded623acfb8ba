package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// HTMLRun is one run shown in an HTML report.
type HTMLRun struct {
	Label   string // the run's name; defaults to Summary.Label
	Summary *Summary
}

// HTMLReport is what WriteHTML renders: one run, or several side by side.
type HTMLReport struct {
	// Title heads the page (default Summary.Title of the first run, else
	// "goodput report").
	Title string
	// Runs holds the run of a report, or the runs of a comparison, in
	// column order.
	Runs []HTMLRun
	// Comparison, when set, is shown as the comparison table, and the
	// charts overlay the runs.
	Comparison *Comparison
	// Verdicts are the assertions' verdicts; empty means the first run's
	// Summary.Assertions.
	Verdicts []Verdict
	// Generated is shown in the footer; zero leaves it out (golden files).
	Generated time.Time
}

// WriteHTML writes the report as ONE self-contained HTML file that works
// offline: inline CSS, inline SVG charts, the system font stack, no
// scripts and no external resources of any kind.
func WriteHTML(w io.Writer, r HTMLReport) error {
	if len(r.Runs) == 0 {
		return fmt.Errorf("html report: no run")
	}
	for i := range r.Runs {
		if r.Runs[i].Summary == nil {
			return fmt.Errorf("html report: run %d has no summary", i)
		}
		if r.Runs[i].Label == "" {
			r.Runs[i].Label = r.Runs[i].Summary.Label
		}
		if r.Runs[i].Label == "" {
			r.Runs[i].Label = unlabelledRun(r.Runs[i].Summary, i, len(r.Runs))
		}
	}
	if r.Title == "" {
		r.Title = r.Runs[0].Summary.Title
	}
	page, err := buildPage(r)
	if err != nil {
		return err
	}
	tmpl, err := template.New("report").Funcs(template.FuncMap{"svg": func(b []byte) template.HTML {
		// The SVG is ours: rendered by vgsvg, whose text is HTML-escaped.
		return template.HTML(b)
	}}).Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("html report: parse template: %w", err)
	}
	if err := tmpl.Execute(w, page); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// unlabelledRun names run i of n that has no label: by its start when it
// is the only one, by its position in a comparison.
func unlabelledRun(s *Summary, i, n int) string {
	if n == 1 && !s.Start.IsZero() {
		return "run of " + s.Start.UTC().Format("2006-01-02 15:04 UTC")
	}
	return fmt.Sprintf("run %d", i+1)
}

//go:embed html.tmpl
var htmlTemplate string

// htmlPage is the template's data.
type htmlPage struct {
	Title     string
	Subtitle  string
	Meta      []htmlKV
	Cards     []htmlCard
	Verdicts  []htmlVerdict
	Passed    int
	Failed    int
	Warnings  []string
	Compare   *htmlTable
	Charts    []htmlChart
	Tables    []htmlTable
	Slowest   []htmlSlow
	Generated string
}

type htmlKV struct{ Key, Value string }

// htmlCard is a headline figure. Tone is "good", "warn", "bad" or "".
type htmlCard struct {
	Label, Value, Note, Tone string
}

type htmlVerdict struct {
	Pass bool
	Text string
}

type htmlTable struct {
	Wide    bool // spans the page's width (many columns)
	Title   string
	Caption string
	Head    []string
	// HeadClass aligns each heading with its column ("num" or "").
	HeadClass []string
	Rows      [][]htmlCell
}

// htmlCell is a table cell; Class is "num", "best", "good", "bad" (space
// separated) or "".
type htmlCell struct {
	Text  string
	Class string
}

func buildPage(r HTMLReport) (*htmlPage, error) {
	p := &htmlPage{Title: r.Title}
	if p.Title == "" {
		p.Title = "goodput report"
	}
	if !r.Generated.IsZero() {
		p.Generated = r.Generated.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	compare := r.Comparison != nil || len(r.Runs) > 1
	verdicts := r.Verdicts
	for _, v := range verdicts {
		p.Verdicts = append(p.Verdicts, htmlVerdict{Pass: v.Pass, Text: v.Message})
	}
	if len(verdicts) == 0 {
		// Each run's own assertions, named by run in a comparison.
		for _, run := range r.Runs {
			for _, v := range run.Summary.Assertions {
				text := v.Message
				if compare {
					text = run.Label + ": " + text
				}
				p.Verdicts = append(p.Verdicts, htmlVerdict{Pass: v.Pass, Text: text})
				verdicts = append(verdicts, v)
			}
		}
	}
	p.Failed = Failed(verdicts)
	p.Passed = len(verdicts) - p.Failed

	if compare {
		return buildComparePage(p, r)
	}
	s := r.Runs[0].Summary
	p.Subtitle = r.Runs[0].Label
	p.Meta = runMeta(s)
	p.Cards = runCards(s)
	p.Warnings = s.Warnings
	charts, err := runCharts(r.Runs[0].Label, s)
	if err != nil {
		return nil, err
	}
	p.Charts = charts
	p.Tables = widen(runTables(s))
	p.Slowest = slowestSection(s.Slowest)
	return p, nil
}

func buildComparePage(p *htmlPage, r HTMLReport) (*htmlPage, error) {
	labels := make([]string, len(r.Runs))
	for i, run := range r.Runs {
		labels[i] = run.Label
		s := run.Summary
		g := htmlCard{Label: run.Label, Value: pct(s.GoodputRatio), Tone: goodputTone(s.GoodputRatio)}
		g.Note = "goodput · p99 " + formatMsValue(s.Latency.P99)
		if rec := s.Recovery; rec != nil {
			g.Note += " · " + recoveryPhrase(rec)
		}
		if tp := s.TippingPoint; tp != nil && tp.Found {
			g.Note += " · tipping point " + compactNumber(tp.OfferedRPS) + "/s"
		}
		p.Cards = append(p.Cards, g)
		for _, w := range s.Warnings {
			p.Warnings = append(p.Warnings, run.Label+": "+w)
		}
	}
	p.Subtitle = "comparison of " + strings.Join(labels, ", ")
	cmp := r.Comparison
	if cmp == nil {
		runs := make([]CompareRun, len(r.Runs))
		for i, run := range r.Runs {
			runs[i] = CompareRun{Label: run.Label, Figures: FiguresOf(run.Summary), Routes: RouteFigures(run.Summary)}
		}
		c := Compare(runs)
		cmp = &c
	}
	t := htmlTable{Title: "Side by side", Caption: fmt.Sprintf("Percentages are relative to %s; the better value is highlighted.", cmp.firstLabel()), Head: append([]string{"metric"}, cmp.Runs...)}
	for _, row := range cmp.Rows {
		t.Rows = append(t.Rows, append([]htmlCell{{Text: row.Metric}}, compareCells(row, len(cmp.Runs))...))
	}
	p.Compare = &widen([]htmlTable{t})[0]
	charts, err := compareCharts(r.Runs)
	if err != nil {
		return nil, err
	}
	p.Charts = charts
	if len(cmp.Routes) > 0 {
		p.Tables = append(p.Tables, routeCompareTable(cmp))
	}
	for _, run := range r.Runs {
		if rec := run.Summary.Recovery; rec != nil {
			rt := recoveryTable(rec)
			rt.Title = "Recovery: " + run.Label
			p.Tables = append(p.Tables, rt)
		}
	}
	p.Tables = widen(p.Tables)
	return p, nil
}

func runMeta(s *Summary) []htmlKV {
	m := []htmlKV{
		{"started", s.Start.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"duration", formatSeconds(s.DurationS)},
		{"requests", strconv.FormatInt(s.Requests, 10)},
		{"attempts", strconv.FormatInt(s.Attempts, 10)},
		{"SLO", formatMsValue(s.SLOMs)},
		{"window", formatSeconds(s.WindowS)},
		{"seed", strconv.FormatUint(s.Seed, 10)},
	}
	if s.SLOMs == 0 {
		m[4].Value = "none"
	}
	if s.Tool != "" {
		m = append(m, htmlKV{"tool", s.Tool})
	}
	if len(s.Hosts) > 0 {
		m = append(m, htmlKV{"hosts", strings.Join(s.Hosts, ", ")})
	}
	if s.Interrupted {
		m = append(m, htmlKV{"status", "interrupted"})
	}
	return m
}

func runCards(s *Summary) []htmlCard {
	cards := []htmlCard{
		{Label: "Goodput", Value: pct(s.GoodputRatio), Tone: goodputTone(s.GoodputRatio),
			Note: fmt.Sprintf("%s/s of %s/s offered · late %s/s · failed %s/s", compactNumber(round1(s.GoodputRPS)), compactNumber(round1(s.OfferedRPS)),
				compactNumber(round1(s.LateRPS)), compactNumber(round1(failedRPS(s.OfferedRPS, s.GoodputRPS, s.LateRPS))))},
		{Label: "Latency p99", Value: formatMsValue(s.Latency.P99), Tone: latencyTone(s.Latency.P99, s.SLOMs),
			Note: "p50 " + formatMsValue(s.Latency.P50) + " · p99.9 " + formatMsValue(s.Latency.P999)},
		{Label: "Shed", Value: pct(s.ShedRatio), Note: fmt.Sprintf("amplification %.2f×", s.Amplification)},
		{Label: "Throughput", Value: compactNumber(round1(s.ThroughputRPS)) + "/s", Note: fmt.Sprintf("%d attempts for %d requests", s.Attempts, s.Requests)},
	}
	if rec := s.Recovery; rec != nil {
		c := htmlCard{Label: "Recovery time", Value: formatSeconds(rec.RecoveryTimeS), Tone: "good", Note: "recovered"}
		switch {
		case rec.Metastable:
			c.Value, c.Tone, c.Note = "never", "bad", "metastable: the trigger ended, the service stayed down"
		case !rec.Recovered:
			c.Value, c.Tone, c.Note = "never", "warn", "not recovered before the run ended"
		}
		c.Note += fmt.Sprintf(" · baseline p99 %s", formatMsValue(rec.Baseline.P99Ms))
		cards = append(cards, c)
	}
	if tp := s.TippingPoint; tp != nil {
		c := htmlCard{Label: "Tipping point", Value: "none", Tone: "bad", Note: "no step within capacity"}
		if tp.Found {
			c.Value, c.Tone = compactNumber(tp.OfferedRPS)+"/s", ""
			c.Note = "goodput ≥ 99% of offered and p99 ≤ " + formatMsValue(tp.SLOMs)
		}
		if u := tp.USL; u != nil && u.PeakN > 0 {
			c.Note += fmt.Sprintf(" · USL peak %s/s at %.0f in flight", compactNumber(round1(u.PeakRPS)), u.PeakN)
		}
		cards = append(cards, c)
	}
	gen := htmlCard{Label: "Generator lag p99", Value: formatMsValue(s.Generator.LagP99Ms), Note: fmt.Sprintf("%d dropped", s.Generator.Dropped)}
	if s.Generator.Dropped > 0 || s.Generator.LagP99Ms > 10 {
		gen.Tone = "warn"
	}
	return append(cards, gen)
}

func recoveryPhrase(r *Recovery) string {
	switch {
	case len(r.Disturbances) == 0:
		return "no disturbance"
	case r.Recovered:
		return "recovered in " + formatSeconds(r.RecoveryTimeS)
	case r.Metastable:
		return "metastable"
	}
	return "not recovered"
}

func runTables(s *Summary) []htmlTable {
	var tables []htmlTable
	if len(s.Phases) > 0 {
		t := htmlTable{Title: "Phases", Head: []string{"phase", "start", "duration", "offered/s", "throughput/s", "goodput/s", "late/s", "failed/s", "goodput", "p50", "p99", "shed", "amplification"}}
		for _, ph := range s.Phases {
			if ph.Requests == 0 {
				continue // never reached: a ramp stopped past its knee
			}
			t.Rows = append(t.Rows, []htmlCell{
				{Text: ph.Name}, num(formatSeconds(ph.StartS)), num(formatSeconds(ph.DurationS)),
				num(compactNumber(round1(ph.OfferedRPS))), num(compactNumber(round1(ph.ThroughputRPS))), num(compactNumber(round1(ph.GoodputRPS))),
				num(compactNumber(round1(ph.LateRPS))), num(compactNumber(round1(failedRPS(ph.OfferedRPS, ph.GoodputRPS, ph.LateRPS)))),
				{Text: pct(ph.GoodputRatio), Class: "num " + goodputTone(ph.GoodputRatio)},
				num(formatMsValue(ph.Latency.P50)), num(formatMsValue(ph.Latency.P99)), num(pct(ph.ShedRatio)), num(fmt.Sprintf("%.2f×", ph.Amplification)),
			})
		}
		tables = append(tables, t)
	}
	tables = append(tables, routeTable(s)...)
	if rec := s.Recovery; rec != nil {
		tables = append(tables, recoveryTable(rec))
	}
	if tp := s.TippingPoint; tp != nil {
		t := htmlTable{Title: "Ramp steps", Head: []string{"step", "offered/s", "throughput/s", "goodput/s", "goodput", "p99", "in flight", "within capacity"}}
		for i, st := range tp.Steps {
			ok := htmlCell{Text: "yes", Class: "good"}
			if !st.OK {
				ok = htmlCell{Text: "no", Class: "bad"}
			}
			if i == tp.Step {
				ok.Text = "tipping point"
			}
			t.Rows = append(t.Rows, []htmlCell{
				{Text: st.Name}, num(compactNumber(round1(st.OfferedRPS))), num(compactNumber(round1(st.ThroughputRPS))), num(compactNumber(round1(st.GoodputRPS))),
				num(pct(safeRatio(st.GoodputRPS, st.OfferedRPS))), num(formatMsValue(st.P99Ms)), num(fmt.Sprintf("%.1f", st.Concurrency)), ok,
			})
		}
		if u := tp.USL; u != nil {
			t.Caption = fmt.Sprintf("Universal Scalability Law fit of throughput against concurrency: σ = %.4g, κ = %.4g, λ = %.4g/s, R² = %.3f", u.Sigma, u.Kappa, u.Lambda, u.R2)
			if u.PeakN > 0 {
				t.Caption += fmt.Sprintf("; predicted peak %s/s at %.1f in flight.", compactNumber(round1(u.PeakRPS)), u.PeakN)
			} else {
				t.Caption += "; no peak within reach (κ = 0)."
			}
		}
		tables = append(tables, t)
	}
	out := htmlTable{Title: "Outcomes", Caption: "Requests by final outcome; attempts by their own outcome.", Head: []string{"outcome", "requests", "attempts"}}
	for _, o := range results.Outcomes() {
		n, a := s.Outcomes[o.String()], s.AttemptOutcomes[o.String()]
		if n == 0 && a == 0 {
			continue
		}
		out.Rows = append(out.Rows, []htmlCell{{Text: o.String()}, num(strconv.FormatInt(n, 10)), num(strconv.FormatInt(a, 10))})
	}
	tables = append(tables, out)
	if len(s.StatusCodes) > 0 {
		t := htmlTable{Title: "HTTP status", Head: []string{"status", "attempts"}}
		codes := make([]string, 0, len(s.StatusCodes))
		for c := range s.StatusCodes {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			t.Rows = append(t.Rows, []htmlCell{{Text: c}, num(strconv.FormatInt(s.StatusCodes[c], 10))})
		}
		tables = append(tables, t)
	}
	if len(s.Errors) > 0 {
		t := htmlTable{Title: "Errors", Caption: "Failed attempts by error message, most frequent first.", Head: []string{"error", "outcome", "attempts"}}
		for _, e := range s.Errors {
			t.Rows = append(t.Rows, []htmlCell{{Text: e.Error}, {Text: e.Outcome}, num(strconv.FormatInt(e.Count, 10))})
		}
		tables = append(tables, t)
	}
	if st := s.ServerTiming; st != nil {
		tables = append(tables, htmlTable{Title: "Server-Timing breakdown", Caption: fmt.Sprintf("Mean over %d attempts that carried the header.", st.Attempts),
			Head: []string{"queue", "app", "dependencies"},
			Rows: [][]htmlCell{{num(formatMsValue(st.Queue)), num(formatMsValue(st.App)), num(formatMsValue(st.Dep))}}})
	}
	if tt := s.TopTenants; len(tt.ByAttempts) > 0 {
		t := htmlTable{Title: "Top tenants", Head: []string{"tenant", "attempts", "tenant", "failed attempts"}}
		for i := range max(len(tt.ByAttempts), len(tt.ByFailures)) {
			row := make([]htmlCell, 4)
			if i < len(tt.ByAttempts) {
				row[0], row[1] = htmlCell{Text: tt.ByAttempts[i].Tenant}, num(strconv.FormatInt(tt.ByAttempts[i].Count, 10))
			}
			if i < len(tt.ByFailures) {
				row[2], row[3] = htmlCell{Text: tt.ByFailures[i].Tenant}, num(strconv.FormatInt(tt.ByFailures[i].Count, 10))
			}
			t.Rows = append(t.Rows, row)
		}
		tables = append(tables, t)
	}
	return tables
}

func recoveryTable(rec *Recovery) htmlTable {
	b := rec.Baseline
	t := htmlTable{Title: "Disturbances and recovery",
		Caption: fmt.Sprintf("Baseline over %d windows: goodput %s, p99 %s. Recovered once goodput ≥ %s of offered and p99 ≤ %s hold for the recovery window.",
			b.Windows, pct(b.GoodputRatio), formatMsValue(b.P99Ms), pct(b.GoodputFactor), formatMsValue(b.P99LimitMs)),
		Head: []string{"disturbance", "start", "end", "recovered", "recovery time", "metastable"}}
	for _, d := range rec.Disturbances {
		recovered, rt := htmlCell{Text: "yes", Class: "good"}, num(formatSeconds(d.RecoveryTimeS))
		if !d.Recovered {
			recovered, rt = htmlCell{Text: "no", Class: "bad"}, num("–")
		}
		meta := htmlCell{Text: "no"}
		if d.Metastable {
			meta = htmlCell{Text: "yes", Class: "bad"}
		}
		t.Rows = append(t.Rows, []htmlCell{{Text: d.Name}, num(formatSeconds(d.StartS)), num(formatSeconds(d.EndS)), recovered, rt, meta})
	}
	return t
}

// widen marks the tables with many columns to span the page, and aligns
// each heading with its column's first cell.
func widen(ts []htmlTable) []htmlTable {
	for i := range ts {
		t := &ts[i]
		t.Wide = len(t.Head) >= 6
		t.HeadClass = make([]string, len(t.Head))
		if len(t.Rows) > 0 {
			for j, c := range t.Rows[0] {
				if j < len(t.HeadClass) && strings.HasPrefix(c.Class, "num") {
					t.HeadClass[j] = "num"
				}
			}
		}
	}
	return ts
}

func num(s string) htmlCell { return htmlCell{Text: s, Class: "num"} }

func pct(r float64) string { return strconv.FormatFloat(100*r, 'f', 2, 64) + "%" }

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// formatMsValue writes a millisecond figure with a unit: 0.84ms, 250ms, 1.2s.
func formatMsValue(ms float64) string { return formatSeconds(ms / 1000) }

func goodputTone(r float64) string {
	switch {
	case r >= TippingGoodput:
		return "good"
	case r >= 0.9:
		return "warn"
	}
	return "bad"
}

func latencyTone(p99, slo float64) string {
	if slo <= 0 {
		return ""
	}
	if p99 <= slo {
		return "good"
	}
	return "bad"
}
