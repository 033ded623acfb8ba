package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TextOptions configures WriteText. The zero value writes plain text with
// no per-window table.
type TextOptions struct {
	// Color adds ANSI colours (for a terminal; callers decide whether the
	// output is one).
	Color bool
	// Windows adds a table with one line per window.
	Windows bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// textWriter accumulates the first write error, so renderers can write
// freely and check once.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// fmtMs formats milliseconds with three significant digits or more.
func fmtMs(ms float64) string {
	switch {
	case ms == 0:
		return "0"
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 3, 64)
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64)
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	default:
		return strconv.FormatFloat(ms, 'f', 0, 64)
	}
}

// fmtDur formats milliseconds as a short duration ("250ms", "1.5s").
func fmtDur(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond).String()
}

// cell is one table cell: its text and an optional ANSI colour.
type cell struct {
	text, color string
}

// table writes rows with the first column left-aligned and the others
// right-aligned, two spaces apart, indented by two spaces. Widths ignore
// colour codes.
func (t *textWriter) table(rows [][]cell, color bool) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text))
			text := c.text
			if color && c.color != "" {
				text = c.color + text + ansiReset
			}
			b.WriteString(" ")
			if i == 0 {
				b.WriteString(text + pad)
			} else {
				b.WriteString(" " + pad + text)
			}
		}
		t.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
}

func plain(format string, args ...any) cell { return cell{text: fmt.Sprintf(format, args...)} }

// WriteText writes s as an aligned terminal summary.
func WriteText(w io.Writer, s *Summary, opts TextOptions) error {
	bw := bufio.NewWriter(w)
	t := &textWriter{w: bw}
	paint := func(code, text string) string {
		if !opts.Color {
			return text
		}
		return code + text + ansiReset
	}
	ratioColor := func(r float64) string {
		switch {
		case r >= 0.99:
			return ansiGreen
		case r >= 0.9:
			return ansiYellow
		default:
			return ansiRed
		}
	}
	pct := func(r float64, digits int) cell {
		return cell{text: strconv.FormatFloat(100*r, 'f', digits, 64) + "%", color: ratioColor(r)}
	}

	label := s.Label
	if label == "" {
		label = "(unlabelled run)"
	}
	heading := "goodput report"
	if s.Title != "" {
		heading = s.Title
	}
	t.printf("%s  seed %d", paint(ansiBold, heading+": "+label), s.Seed)
	if s.Shards > 1 {
		t.printf(", %d shards", s.Shards)
	}
	if len(s.Hosts) > 0 {
		t.printf(", host %s", strings.Join(s.Hosts, ","))
	}
	if !s.Start.IsZero() {
		t.printf(", started %s", s.Start.UTC().Format(time.RFC3339))
	}
	t.printf("\n")
	slo := "none"
	if s.SLOMs > 0 {
		slo = fmtDur(s.SLOMs)
	}
	t.printf("duration %.1fs  SLO %s  window %s\n\n", s.DurationS, slo, fmtDur(s.WindowS*1000))

	t.table([][]cell{
		{plain("requests"), plain("%d", s.Requests), plain("offered"), plain("%.1f rps", s.OfferedRPS)},
		{plain("attempts"), plain("%d", s.Attempts), plain("throughput"), plain("%.1f rps", s.ThroughputRPS), plain("amplification %.2f", s.Amplification)},
		{plain("goodput"), pct(s.GoodputRatio, 2), plain(""), plain("%.1f rps", s.GoodputRPS), plain("ok within the SLO")},
		{plain("late"), plain("%.2f%%", 100*s.LateRatio), plain(""), plain("%.1f rps", s.LateRPS), plain("ok after the SLO")},
		{plain("failed"), plain("%.2f%%", 100*failedRatio(s.GoodputRatio, s.LateRatio, s.Requests)), plain(""),
			plain("%.1f rps", failedRPS(s.OfferedRPS, s.GoodputRPS, s.LateRPS)), plain("not ok")},
	}, opts.Color)

	t.printf("\nlatency (ms, successful requests, from intended start)\n")
	l := s.Latency
	t.table([][]cell{
		{plain(""), plain("p50"), plain("p90"), plain("p99"), plain("p99.9"), plain("max"), plain("mean")},
		{plain(""), plain("%s", fmtMs(l.P50)), plain("%s", fmtMs(l.P90)), plain("%s", fmtMs(l.P99)), plain("%s", fmtMs(l.P999)), plain("%s", fmtMs(l.Max)), plain("%s", fmtMs(l.Mean))},
	}, opts.Color)

	t.printf("\noutcomes\n")
	rows := [][]cell{{plain(""), plain("requests"), plain("attempts")}}
	names := make([]string, 0, results.NumOutcomes+1)
	for _, o := range results.Outcomes() {
		names = append(names, o.String())
	}
	for _, name := range append(names, "unknown") {
		rq, at := s.Outcomes[name], s.AttemptOutcomes[name]
		if rq == 0 && at == 0 {
			continue
		}
		rows = append(rows, []cell{plain("%s", name), plain("%d", rq), plain("%d", at)})
	}
	t.table(rows, opts.Color)

	if len(s.StatusCodes) > 0 {
		codes := make([]string, 0, len(s.StatusCodes))
		for c := range s.StatusCodes {
			codes = append(codes, c)
		}
		slices.SortFunc(codes, func(a, b string) int {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		})
		t.printf("\nstatus codes  ")
		for i, c := range codes {
			if i > 0 {
				t.printf(", ")
			}
			t.printf("%s: %d", c, s.StatusCodes[c])
		}
		t.printf("\n")
	}

	g := s.Generator
	t.printf("generator     lag p99 %sms, max %sms, dropped %d\n", fmtMs(g.LagP99Ms), fmtMs(g.LagMaxMs), g.Dropped)
	if st := s.ServerTiming; st != nil {
		t.printf("server timing queue %sms, app %sms, dependencies %sms (mean of %d attempts)\n", fmtMs(st.Queue), fmtMs(st.App), fmtMs(st.Dep), st.Attempts)
	}
	writeServerless(t, s)
	writeErrors(t, s)
	if d := s.Delivery; d != nil {
		t.printf("\ndeliveries (async messages)  %d delivered, %d expired, %d dead-lettered, %d undelivered; last %.1fs, drain %.1fs after the load\n",
			d.Delivered, d.Expired, d.DeadLettered, d.Undelivered, d.LastDeliveryS, d.DrainS)
		row := func(name string, l Latency) []cell {
			return []cell{plain("%s", name), plain("%s", fmtMs(l.P50)), plain("%s", fmtMs(l.P90)), plain("%s", fmtMs(l.P99)),
				plain("%s", fmtMs(l.P999)), plain("%s", fmtMs(l.Max)), plain("%s", fmtMs(l.Mean))}
		}
		t.table([][]cell{
			{plain("(ms)"), plain("p50"), plain("p90"), plain("p99"), plain("p99.9"), plain("max"), plain("mean")},
			row("age at delivery", d.AgeMs),
			row("from intended start", d.LatencyMs),
		}, opts.Color)
	}

	if len(s.Phases) > 0 {
		t.printf("\nphases\n")
		rows := [][]cell{{plain("name"), plain("start"), plain("length"), plain("offered"), plain("goodput"), plain("late"), plain("failed"), plain("ratio"),
			plain("p50 ms"), plain("p99 ms"), plain("shed"), plain("amplif.")}}
		if s.Delivery != nil {
			rows[0] = append(rows[0], plain("age p50 ms"), plain("age p99 ms"))
		}
		for _, p := range s.Phases {
			row := []cell{plain("%s", p.Name), plain("%.1fs", p.StartS), plain("%.1fs", p.DurationS),
				plain("%.1f", p.OfferedRPS), plain("%.1f", p.GoodputRPS), plain("%.1f", p.LateRPS),
				plain("%.1f", failedRPS(p.OfferedRPS, p.GoodputRPS, p.LateRPS)), pct(p.GoodputRatio, 1),
				plain("%s", fmtMs(p.Latency.P50)), plain("%s", fmtMs(p.Latency.P99)), plain("%.1f%%", 100*p.ShedRatio), plain("%.2f", p.Amplification)}
			if s.Delivery != nil {
				var age Latency
				if p.DeliveryAgeMs != nil {
					age = *p.DeliveryAgeMs
				}
				row = append(row, plain("%s", fmtMs(age.P50)), plain("%s", fmtMs(age.P99)))
			}
			rows = append(rows, row)
		}
		t.table(rows, opts.Color)
	}

	if len(s.ByRoute) > 1 {
		t.printf("\nroutes\n")
		t.table(routeRows(s), opts.Color)
	}

	if len(s.Disturbances) > 0 {
		t.printf("\ndisturbances\n")
		for _, d := range s.Disturbances {
			end := fmt.Sprintf("%.1fs", d.EndS)
			if !d.Removed {
				end = "end of run (never removed)"
			}
			t.printf("  %s on %s: %.1fs → %s\n", d.Name, d.Target, d.StartS, end)
		}
	}

	if top := s.TopTenants; len(top.ByAttempts) > 0 {
		t.printf("\ntop tenants by attempts  %s\n", tenantList(top.ByAttempts))
		if len(top.ByFailures) > 0 {
			t.printf("top tenants by failures  %s\n", tenantList(top.ByFailures))
		}
	}

	t.writeSlowest(s.Slowest, opts.Color)

	if opts.Windows && len(s.Windows) > 0 {
		t.printf("\nwindows (rates per second)\n")
		rows := [][]cell{{plain("start"), plain("offered"), plain("throughput"), plain("goodput"), plain("late"), plain("failed"), plain("ratio"),
			plain("p50 ms"), plain("p99 ms"), plain("in flight"), plain("amplif.")}}
		if s.Delivery != nil {
			rows[0] = append(rows[0], plain("delivered"), plain("age p99 ms"))
		}
		limited := slices.ContainsFunc(s.Windows, func(w Window) bool { return w.GeneratorLimited })
		if limited {
			rows[0] = append(rows[0], plain("lag p99 ms"), plain("limited by"))
		}
		for _, w := range s.Windows {
			row := []cell{plain("%.1fs", w.StartS), plain("%.1f", w.OfferedRPS), plain("%.1f", w.ThroughputRPS),
				plain("%.1f", w.GoodputRPS), plain("%.1f", w.LateRPS), plain("%.1f", failedRPS(w.OfferedRPS, w.GoodputRPS, w.LateRPS)), pct(w.GoodputRatio, 1), plain("%s", fmtMs(w.Latency.P50)), plain("%s", fmtMs(w.Latency.P99)),
				plain("%.1f", w.InFlightMean), plain("%.2f", w.Amplification)}
			if s.Delivery != nil {
				row = append(row, plain("%d", w.Delivered), plain("%s", fmtMs(w.DeliveryAgeP99Ms)))
			}
			if limited {
				by := plain("")
				if w.GeneratorLimited {
					by = cell{text: "generator", color: ansiYellow}
				}
				row = append(row, plain("%s", fmtMs(w.LagP99Ms)), by)
			}
			rows = append(rows, row)
		}
		t.table(rows, opts.Color)
	}

	if len(s.Warnings) > 0 {
		t.printf("\n%s\n", paint(ansiYellow, "warnings"))
		for _, w := range s.Warnings {
			t.printf("  %s %s\n", paint(ansiYellow, "!"), w)
		}
	}
	if t.err == nil {
		t.err = bw.Flush()
	}
	if t.err != nil {
		return fmt.Errorf("write text report: %w", t.err)
	}
	return nil
}

func tenantList(ts []TenantCount) string {
	parts := make([]string, len(ts))
	for i, tc := range ts {
		parts[i] = fmt.Sprintf("%s %d", tc.Tenant, tc.Count)
	}
	return strings.Join(parts, ", ")
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes s as indented JSON (the schema of docs/results-json.md).
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// CSVHeader returns the columns WriteCSV writes for a run without async
// deliveries, in order; CSVColumns gives those of a given run. "route" is
// empty on a window's own row and names the route on a route's row (see
// WriteCSV).
func CSVHeader() []string {
	cols := []string{"start_s", "route", "requests", "attempts", "offered_rps", "throughput_rps", "goodput_rps", "goodput_ratio", "late_rps", "late_ratio",
		"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms",
		"inflight_mean", "amplification", "lag_p99_ms", "little_ratio", "server_queue_ms", "server_app_ms", "server_dep_ms"}
	for _, o := range results.Outcomes() {
		cols = append(cols, "requests_"+o.String())
	}
	for _, o := range results.Outcomes() {
		cols = append(cols, "attempts_"+o.String())
	}
	return cols
}

// csvDeliveryColumns are the columns CSVColumns adds for a run with async
// deliveries.
var csvDeliveryColumns = []string{"delivered", "delivery_age_p99_ms"}

// CSVColumns returns the columns WriteCSV writes for s, in order: those of
// CSVHeader, then, when s has async deliveries (s.Delivery is set),
// "delivered" and "delivery_age_p99_ms" (Window.Delivered and
// Window.DeliveryAgeP99Ms).
func CSVColumns(s *Summary) []string {
	cols := CSVHeader()
	if s.Delivery != nil {
		cols = append(cols, csvDeliveryColumns...)
	}
	return cols
}

// WriteCSV writes one row per window, with the columns of CSVColumns(s),
// and for a run of several routes, after each window's row, one row per
// route with a request in the window (Window.ByRoute; by route label,
// OtherRouteSeries last).
//
// A window's own row has an empty route. Request outcome columns count
// requests of the window by final outcome; attempt outcome columns count
// attempts that ended in the window; the delivery columns count the
// messages of the window's requests. A route's row has the figures of its
// requests whose intended start falls in the window (requests,
// offered_rps, goodput and late, latency, request outcomes); the columns
// measured for the window only (attempts, throughput, in flight, lag,
// Server-Timing, attempt outcomes, deliveries) are empty.
func WriteCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	cols := CSVColumns(s)
	if err := cw.Write(cols); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	latency := func(row []string, l Latency) []string {
		return append(row, f(l.P50), f(l.P90), f(l.P99), f(l.P999), f(l.Max), f(l.Mean))
	}
	row := make([]string, 0, len(cols))
	var routes []string
	for _, win := range s.Windows {
		st := ServerTimingMs{}
		if win.ServerTiming != nil {
			st = *win.ServerTiming
		}
		row = append(row[:0], f(win.StartS), "", strconv.FormatInt(win.Requests, 10), strconv.FormatInt(win.Attempts, 10),
			f(win.OfferedRPS), f(win.ThroughputRPS), f(win.GoodputRPS), f(win.GoodputRatio), f(win.LateRPS), f(win.LateRatio))
		row = latency(row, win.Latency)
		row = append(row, f(win.InFlightMean), f(win.Amplification), f(win.LagP99Ms), f(win.LittleRatio), f(st.Queue), f(st.App), f(st.Dep))
		for _, o := range results.Outcomes() {
			row = append(row, strconv.FormatInt(win.Outcomes[o.String()], 10))
		}
		for _, o := range results.Outcomes() {
			row = append(row, strconv.FormatInt(win.AttemptOutcomes[o.String()], 10))
		}
		if s.Delivery != nil {
			row = append(row, strconv.FormatInt(win.Delivered, 10), f(win.DeliveryAgeP99Ms))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv report: %w", err)
		}
		routes = csvRoutes(routes[:0], win.ByRoute)
		for _, name := range routes {
			r := win.ByRoute[name]
			row = append(row[:0], f(win.StartS), name, strconv.FormatInt(r.Requests, 10), "",
				f(float64(r.Requests)/s.WindowS), "", f(r.GoodputRPS), f(r.GoodputRatio), f(r.LateRPS), f(r.LateRatio))
			row = latency(row, r.Latency)
			row = append(row, "", "", "", "", "", "", "")
			for _, o := range results.Outcomes() {
				row = append(row, strconv.FormatInt(r.Outcomes[o.String()], 10))
			}
			for range results.Outcomes() {
				row = append(row, "")
			}
			if s.Delivery != nil {
				row = append(row, "", "")
			}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("write csv report: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	return nil
}

// csvRoutes appends the route labels of a window's ByRoute to dst, by
// label with OtherRouteSeries last.
func csvRoutes(dst []string, byRoute map[string]RouteWindow) []string {
	for name := range byRoute {
		dst = append(dst, name)
	}
	slices.SortFunc(dst, func(a, b string) int {
		if (a == OtherRouteSeries) != (b == OtherRouteSeries) {
			if a == OtherRouteSeries {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return dst
}

// WriteHgrm writes the run's latency distribution (successful requests,
// from intended start) in HdrHistogram's percentile distribution format,
// values in milliseconds, for HdrHistogram's plotter.
func WriteHgrm(w io.Writer, s *Summary) error {
	h := s.LatencyHistogram()
	if h == nil {
		h = hdr.New(histLowest, histHighest, histDigits)
	}
	bw := bufio.NewWriter(w)
	if _, err := h.PercentilesPrint(bw, 5, 1000); err != nil {
		return fmt.Errorf("write hgrm report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write hgrm report: %w", err)
	}
	return nil
}

// WriteHlog writes one histogram per window in HdrHistogram's interval log
// format (version 1.3), readable by HistogramLogAnalyzer and
// hdrhistogram-go's HistogramLogReader. Following that format's convention,
// values are in nanoseconds (converted from the microsecond histograms, so
// still accurate to 3 significant digits) and each interval's max column
// is in milliseconds. Interval timestamps are seconds from the run's start
// (the log's BaseTime).
func WriteHlog(w io.Writer, s *Summary) error {
	bw := bufio.NewWriter(w)
	lw := hdr.NewHistogramLogWriter(bw)
	startMs := int64(0)
	if !s.Start.IsZero() {
		startMs = s.Start.UnixMilli()
	}
	err := firstNonNil(
		lw.OutputLogFormatVersion(),
		lw.OutputComment(fmt.Sprintf("[goodput latency from intended start of successful requests, run %q, values in ns, one interval per %gs window]", s.Label, s.WindowS)),
		lw.OutputStartTime(startMs),
		lw.OutputBaseTime(startMs),
		lw.OutputLegend(),
	)
	lw.SetBaseTime(startMs)
	widthMs := int64(s.WindowS * 1000)
	for i := range s.Windows {
		if err != nil {
			break
		}
		win := &s.Windows[i]
		ns := hdr.NewPacked(histLowest*1000, histHighest*1000, histDigits)
		if src := win.LatencyHistogram(); src != nil {
			for v, n := range src.ForEachBucket {
				if e := ns.RecordValues(v*1000, n); e != nil {
					err = e
				}
			}
		}
		from := startMs + int64(win.StartS*1000)
		ns.SetStartTimeMs(from)
		ns.SetEndTimeMs(from + widthMs)
		err = firstNonNil(err, lw.OutputIntervalPackedHistogram(ns))
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write hlog report: %w", err)
	}
	return nil
}
