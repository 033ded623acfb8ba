package report

import (
	"maps"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/goodput-dev/goodput/results"
)

// OtherRoutes names the routes past the first maxRoutes of a run, counted
// together.
const OtherRoutes = "(other)"

// OtherRouteSeries names the routes past the first MaxRouteSeries of a
// run in the per-window and per-phase figures of routes, counted together.
const OtherRouteSeries = "(other routes)"

// MaxRouteSeries bounds the routes that get figures of their own per
// window and per phase (Window.ByRoute, PhaseStats.ByRoute): the first
// ones the run records. The records of later routes count together as
// OtherRouteSeries, so the memory of those figures grows with windows
// and phases, not with the routes of a run.
const MaxRouteSeries = 10

// RouteStats is one route's share of a run: the Summary's figures for the
// requests of that route alone. Rates are over the run's DurationS.
type RouteStats struct {
	Requests     int64            `json:"requests"`      // requests of the route (one final record each)
	Attempts     int64            `json:"attempts"`      // its HTTP attempts, retries included
	GoodputRPS   float64          `json:"goodput_rps"`   // its requests ok within the SLO ÷ DurationS
	GoodputRatio float64          `json:"goodput_ratio"` // its requests ok within the SLO ÷ its Requests
	Latency      Latency          `json:"latency_ms"`    // its successful requests, from intended start
	Outcomes     map[string]int64 `json:"outcomes"`      // its requests by final outcome (classes seen)
	StatusCodes  map[string]int64 `json:"status_codes"`  // its attempts by HTTP status (answered only)
	LateRPS      float64          `json:"late_rps"`      // its requests ok after the SLO ÷ DurationS
	LateRatio    float64          `json:"late_ratio"`    // its requests ok after the SLO ÷ its Requests
}

// RouteWindow is one route's share of a window: its requests whose
// intended start falls in the window. Rates are per second of the window.
type RouteWindow struct {
	Requests     int64            `json:"requests"`      // requests of the route whose intended start falls here
	GoodputRPS   float64          `json:"goodput_rps"`   // of them, ok within the SLO ÷ window width
	GoodputRatio float64          `json:"goodput_ratio"` // of them, ok within the SLO ÷ Requests
	LateRPS      float64          `json:"late_rps"`      // of them, ok after the SLO ÷ window width
	LateRatio    float64          `json:"late_ratio"`    // of them, ok after the SLO ÷ Requests
	Latency      Latency          `json:"latency_ms"`    // of them, the successful ones, from intended start
	Outcomes     map[string]int64 `json:"outcomes"`      // by final outcome (non-zero classes only)
}

// RoutePhase is one route's share of a phase: its requests (and their
// attempts) that the phase's records name. Rates are over the phase's
// duration.
type RoutePhase struct {
	Requests     int64            `json:"requests"`
	Attempts     int64            `json:"attempts"`
	GoodputRPS   float64          `json:"goodput_rps"`
	GoodputRatio float64          `json:"goodput_ratio"`
	LateRPS      float64          `json:"late_rps"`
	LateRatio    float64          `json:"late_ratio"`
	Latency      Latency          `json:"latency_ms"`
	Outcomes     map[string]int64 `json:"outcomes"` // by final outcome (non-zero classes only)
}

// routeAcc accumulates one route.
type routeAcc struct {
	tally
	lat    *hdr.Histogram // successful requests' latency, µs
	status statusCounts   // answered attempts by HTTP status
	series *routeSeries   // its figures per window and per phase, shared by the routes past MaxRouteSeries
}

// routeDigits is the precision of the latency histograms of a route in
// one window or phase: 2 significant digits (values within 1%). A packed
// one then has few buckets to search, and a dense one is 26 KB rather
// than 188 KB. The run's and each route's whole-run histograms keep
// histDigits.
const routeDigits = 2

func newRouteHist() *hdr.Histogram { return hdr.New(histLowest, histHighest, routeDigits) }

// routeCell accumulates one route in one window or phase.
type routeCell struct {
	requests, attempts, good, late int64
	outcomes                       outcomeCounts
}

// routeWin is a route's cell of one window: its latencies in a packed
// histogram, which keeps a window that saw few requests small.
type routeWin struct {
	routeCell
	lat *hdr.PackedHistogram // successful requests' latency, µs; nil until one
}

// routePhase is a route's cell of one phase (phases are few): its
// latencies in a dense histogram.
type routePhase struct {
	routeCell
	lat *hdr.Histogram // successful requests' latency, µs; nil until one
}

// routeSeries accumulates one route (or OtherRouteSeries) per window and
// per phase; cells are made when first touched.
type routeSeries struct {
	name   string
	wins   []*routeWin   // by window of intended start (requests only)
	phases []*routePhase // by phase index
	hot    hotWin
}

// hotWin lends a dense histogram to the latest busy window of a series,
// as the Aggregator does for its own windows: at high rates recording
// into it is an index increment, not a binary search and a shift. A
// window gets it once its packed histogram holds hotThreshold values,
// unless a later window had it (values of older windows, retries that
// ended late, stay packed); below that many values a window costs less
// packed than moving a dense histogram into it would. The dense values
// move into the window's packed histogram when a later window gets it,
// and on flush.
type hotWin struct {
	win *routeWin      // the window d records for; nil when none
	idx int            // the index of the latest window that was hot
	d   *hdr.Histogram // nil until a window first got hot
}

// record adds v (µs) to the latency of w, the window at index i.
func (h *hotWin) record(w *routeWin, i int, v int64) {
	// v is within the histograms' range, so RecordValue cannot fail.
	if h.win == w {
		_ = h.d.RecordValue(v)
		return
	}
	if w.lat == nil {
		w.lat = hdr.NewPacked(histLowest, histHighest, routeDigits)
	}
	_ = w.lat.RecordValue(v)
	if w.lat.TotalCount() < hotThreshold || i < h.idx {
		return
	}
	h.flush()
	if h.d == nil {
		h.d = newRouteHist()
	}
	h.win, h.idx = w, i
}

// flush moves the dense values into the hot window's packed histogram.
func (h *hotWin) flush() {
	if h.win == nil {
		return
	}
	h.win.lat.MergeFrom(h.d)
	h.d.Reset()
	h.win = nil
}

// cellAt returns the cell at i of *cells, making it as needed.
func cellAt[C any](cells *[]*C, i int) *C {
	if i >= len(*cells) {
		*cells = slices.Grow(*cells, i+1-len(*cells))[:i+1]
	}
	c := (*cells)[i]
	if c == nil {
		c = new(C)
		(*cells)[i] = c
	}
	return c
}

// addOK counts a request that ended ok.
func (c *routeCell) addOK(good bool) {
	if good {
		c.good++
	} else {
		c.late++
	}
}

// routeSet accumulates every route of a run, at most maxRoutes of them by
// name and the rest as OtherRoutes. A run has few routes and many records,
// often played in turn: the last recentRoutes routes looked up are kept,
// so a record of one of them costs a few string comparisons (route labels
// are interned by the results reader, so usually pointer comparisons),
// not a map lookup.
//
// Per window and per phase, the first MaxRouteSeries routes count apart
// and the others together (series). width and maxWin are the
// Aggregator's windows; nPhases how many phases the headers named
// (records naming a later one count in no phase).
type routeSet struct {
	m       map[string]*routeAcc
	recent  [recentRoutes]recentRoute
	next    int            // the entry of recent the next miss replaces
	series  []*routeSeries // the first MaxRouteSeries routes, in the order first seen
	rest    *routeSeries   // OtherRouteSeries; nil until a route past MaxRouteSeries
	width   time.Duration
	maxWin  int
	nPhases int
}

// recentRoutes is how many routes routeSet.of finds without a map lookup.
const recentRoutes = 4

// recentRoute is a route looked up lately and its accumulator.
type recentRoute struct {
	name string
	acc  *routeAcc
}

// of returns the accumulator of route name.
func (s *routeSet) of(name string) *routeAcc {
	for i := range s.recent {
		if e := &s.recent[i]; e.acc != nil && e.name == name {
			return e.acc
		}
	}
	if s.m == nil {
		s.m = make(map[string]*routeAcc)
	}
	acc, ok := s.m[name]
	if !ok {
		key := name
		if len(s.m) >= maxRoutes {
			key = OtherRoutes
		}
		if acc, ok = s.m[key]; !ok {
			acc = &routeAcc{lat: newHist(), series: s.seriesFor(key)}
			s.m[key] = acc
		}
	}
	s.recent[s.next] = recentRoute{name, acc}
	s.next = (s.next + 1) % recentRoutes
	return acc
}

// seriesFor returns the per-window and per-phase accumulator of a new
// route: its own for the first MaxRouteSeries routes, the shared
// OtherRouteSeries one after.
func (s *routeSet) seriesFor(name string) *routeSeries {
	if len(s.series) < MaxRouteSeries {
		rs := &routeSeries{name: name}
		s.series = append(s.series, rs)
		return rs
	}
	if s.rest == nil {
		s.rest = &routeSeries{name: OtherRouteSeries}
	}
	return s.rest
}

// names returns the route names of the run, without the unnamed route and
// OtherRoutes, sorted.
func (s *routeSet) names() []string {
	var out []string
	for name := range s.m {
		if name != "" && name != OtherRoutes {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// add counts r in its route; good says r is a request ok within the SLO.
func (s *routeSet) add(r *results.Result, slot int, good bool) {
	acc := s.of(r.Route)
	rs := acc.series
	var ph *routePhase
	if int(r.Phase) < s.nPhases {
		ph = cellAt(&rs.phases, int(r.Phase))
	}
	if r.Attempt > 0 {
		acc.attempts++
		acc.attemptOutcomes[slot]++
		if r.Status != 0 {
			acc.answered++
			acc.status.add(r.Status)
		}
		if ph != nil {
			ph.attempts++
		}
	}
	if !r.Final {
		return
	}
	wi := s.windowIndex(r.Intended)
	win := cellAt(&rs.wins, wi)
	acc.requests++
	acc.outcomes[slot]++
	win.requests++
	win.outcomes[slot]++
	if ph != nil {
		ph.requests++
		ph.outcomes[slot]++
	}
	if r.Outcome == results.OutcomeOK {
		us := micros(r.Latency())
		_ = acc.lat.RecordValue(us)
		acc.addOK(good)
		win.addOK(good)
		rs.hot.record(win, wi, us)
		if ph != nil {
			ph.addOK(good)
			if ph.lat == nil {
				ph.lat = newRouteHist()
			}
			_ = ph.lat.RecordValue(us)
		}
	}
}

// windowIndex is the window of t, as Aggregator.windowIndex counts it
// (without counting the clamped records twice).
func (s *routeSet) windowIndex(t time.Duration) int {
	if t < 0 || s.width <= 0 {
		return 0
	}
	return int(min(int64(t/s.width), int64(s.maxWin-1)))
}

// flush moves every series' dense values into their windows, so that
// the windows' packed histograms hold every value; call it before
// reading them.
func (s *routeSet) flush() {
	for _, rs := range s.allSeries() {
		rs.hot.flush()
	}
}

// labelled reports whether the run's records carry route labels.
func (s *routeSet) labelled() bool {
	return len(s.m) > 1 || (len(s.m) == 1 && s.m[""] == nil)
}

// allSeries returns the per-window and per-phase accumulators: the first
// routes', then OtherRouteSeries when there is one.
func (s *routeSet) allSeries() []*routeSeries {
	if s.rest == nil {
		return s.series
	}
	return append(s.series[:len(s.series):len(s.series)], s.rest)
}

// window returns each route's figures in window i of the given width,
// for the routes with a request there; nil unless the run had more than
// one route (the window's own figures say the rest).
func (s *routeSet) window(i int, width time.Duration) map[string]RouteWindow {
	if len(s.m) < 2 {
		return nil
	}
	out := make(map[string]RouteWindow)
	for _, rs := range s.allSeries() {
		if i >= len(rs.wins) || rs.wins[i] == nil || rs.wins[i].requests == 0 {
			continue
		}
		c := rs.wins[i]
		out[rs.name] = RouteWindow{
			Requests: c.requests, GoodputRPS: perSecond(c.good, width), GoodputRatio: ratio(c.good, c.requests),
			LateRPS: perSecond(c.late, width), LateRatio: ratio(c.late, c.requests),
			Latency: packedLatency(c.lat), Outcomes: outcomeMap(&c.outcomes, false),
		}
	}
	return out
}

// phase returns each route's figures in phase i of duration dur, for the
// routes with a request or an attempt there; nil when the run had no
// route labels.
func (s *routeSet) phase(i int, dur time.Duration) map[string]RoutePhase {
	if !s.labelled() {
		return nil
	}
	out := make(map[string]RoutePhase)
	for _, rs := range s.allSeries() {
		if i >= len(rs.phases) || rs.phases[i] == nil {
			continue
		}
		c := rs.phases[i]
		out[rs.name] = RoutePhase{
			Requests: c.requests, Attempts: c.attempts,
			GoodputRPS: perSecond(c.good, dur), GoodputRatio: ratio(c.good, c.requests),
			LateRPS: perSecond(c.late, dur), LateRatio: ratio(c.late, c.requests),
			Latency: routeLatency(c.lat), Outcomes: outcomeMap(&c.outcomes, false),
		}
	}
	return out
}

// routeLatency reads a route's phase histogram; zeros when it has none.
func routeLatency(h *hdr.Histogram) Latency {
	if h == nil {
		return Latency{}
	}
	return latencyOf(h)
}

// stats returns each route's figures over a run of duration dur; nil when
// the run had no route labels.
func (s *routeSet) stats(dur time.Duration) map[string]RouteStats {
	if !s.labelled() {
		return nil
	}
	out := make(map[string]RouteStats, len(s.m))
	for name, acc := range s.m {
		st := RouteStats{
			Requests:     acc.requests,
			Attempts:     acc.attempts,
			GoodputRPS:   perSecond(acc.good, dur),
			GoodputRatio: ratio(acc.good, acc.requests),
			Latency:      latencyOf(acc.lat),
			Outcomes:     outcomeMap(&acc.outcomes, false),
			StatusCodes:  acc.status.strings(),
			LateRPS:      perSecond(acc.late, dur),
			LateRatio:    ratio(acc.late, acc.requests),
		}
		out[name] = st
	}
	return out
}

// routeRows is the text report's table of routes, by name.
func routeRows(s *Summary) [][]cell {
	names := slices.Sorted(maps.Keys(s.ByRoute))
	rows := [][]cell{{plain("route"), plain("requests"), plain("attempts"), plain("goodput"), plain("ratio"), plain("late"),
		plain("p50 ms"), plain("p90 ms"), plain("p99 ms"), plain("max ms"), plain("errors")}}
	for _, name := range names {
		r := s.ByRoute[name]
		var failed int64
		for o, n := range r.Outcomes {
			if o != results.OutcomeOK.String() {
				failed += n
			}
		}
		rows = append(rows, []cell{plain("%s", name), plain("%d", r.Requests), plain("%d", r.Attempts),
			plain("%.1f", r.GoodputRPS), plain("%.1f%%", 100*r.GoodputRatio), plain("%.1f%%", 100*r.LateRatio), plain("%s", fmtMs(r.Latency.P50)),
			plain("%s", fmtMs(r.Latency.P90)), plain("%s", fmtMs(r.Latency.P99)), plain("%s", fmtMs(r.Latency.Max)), plain("%d", failed)})
	}
	return rows
}
