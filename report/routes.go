package report

import (
	"maps"
	"slices"
	"strconv"
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
	status map[uint16]int64
	series *routeSeries // its figures per window and per phase, shared by the routes past MaxRouteSeries
}

// routeCell accumulates one route in one window or phase.
type routeCell struct {
	requests, attempts, good, late int64
	outcomes                       outcomeCounts
	lat                            *hdr.PackedHistogram // successful requests' latency, µs; nil until one
}

// routeSeries accumulates one route (or OtherRouteSeries) per window and
// per phase. Cells are made when first touched, and packed histograms
// keep a cell that saw few requests small.
type routeSeries struct {
	name   string
	wins   []*routeCell // by window of intended start (requests only)
	phases []*routeCell // by phase index
}

// cellAt returns the accumulator at i of *cells, making it as needed.
func cellAt(cells *[]*routeCell, i int) *routeCell {
	if i >= len(*cells) {
		*cells = slices.Grow(*cells, i+1-len(*cells))[:i+1]
	}
	c := (*cells)[i]
	if c == nil {
		c = &routeCell{}
		(*cells)[i] = c
	}
	return c
}

// addOK counts a request that ended ok, us its latency.
func (c *routeCell) addOK(good bool, us int64) {
	if good {
		c.good++
	} else {
		c.late++
	}
	recordPacked(&c.lat, us)
}

// routeSet accumulates every route of a run, at most maxRoutes of them by
// name and the rest as OtherRoutes. A run has few routes and many records:
// the last route looked up is kept, so a record of the same route as the
// one before it costs a string comparison (route labels are interned by
// the results reader, so usually a pointer comparison), not a map lookup.
//
// Per window and per phase, the first MaxRouteSeries routes count apart
// and the others together (series). width and maxWin are the
// Aggregator's windows; nPhases how many phases the headers named
// (records naming a later one count in no phase).
type routeSet struct {
	m        map[string]*routeAcc
	lastName string
	last     *routeAcc
	series   []*routeSeries // the first MaxRouteSeries routes, in the order first seen
	rest     *routeSeries   // OtherRouteSeries; nil until a route past MaxRouteSeries
	width    time.Duration
	maxWin   int
	nPhases  int
}

// of returns the accumulator of route name.
func (s *routeSet) of(name string) *routeAcc {
	if s.last != nil && name == s.lastName {
		return s.last
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
			acc = &routeAcc{lat: newHist(), status: make(map[uint16]int64), series: s.seriesFor(key)}
			s.m[key] = acc
		}
	}
	s.lastName, s.last = name, acc
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

// add counts r in its route; good says r is a request ok within the SLO.
func (s *routeSet) add(r *results.Result, slot int, good bool) {
	acc := s.of(r.Route)
	var ph *routeCell
	if int(r.Phase) < s.nPhases {
		ph = cellAt(&acc.series.phases, int(r.Phase))
	}
	if r.Attempt > 0 {
		acc.attempts++
		acc.attemptOutcomes[slot]++
		if r.Status != 0 {
			acc.answered++
			acc.status[r.Status]++
		}
		if ph != nil {
			ph.attempts++
		}
	}
	if !r.Final {
		return
	}
	win := cellAt(&acc.series.wins, s.windowIndex(r.Intended))
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
		win.addOK(good, us)
		if ph != nil {
			ph.addOK(good, us)
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
			Latency: packedLatency(c.lat), Outcomes: outcomeMap(&c.outcomes, false),
		}
	}
	return out
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
			StatusCodes:  make(map[string]int64, len(acc.status)),
			LateRPS:      perSecond(acc.late, dur),
			LateRatio:    ratio(acc.late, acc.requests),
		}
		for code, n := range acc.status {
			st.StatusCodes[strconv.Itoa(int(code))] = n
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
