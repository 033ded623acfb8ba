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
}

// routeAcc accumulates one route.
type routeAcc struct {
	tally
	lat    *hdr.Histogram // successful requests' latency, µs
	status statusCounts
}

// routeSet accumulates every route of a run, at most maxRoutes of them by
// name and the rest as OtherRoutes. A run has few routes and many records,
// and its records take turns between them: while there are at most
// scanRoutes, a route is found by scanning them in order, where each
// comparison is usually a pointer comparison (route labels are interned by
// the results reader), not by hashing its name into the map.
type routeSet struct {
	m    map[string]*routeAcc
	list []namedRoute // every entry of m while there are at most scanRoutes
}

// namedRoute is one entry of routeSet.list.
type namedRoute struct {
	name string
	acc  *routeAcc
}

// scanRoutes is the number of routes up to which routeSet scans a list
// rather than looking names up in its map.
const scanRoutes = 8

// of returns the accumulator of route name.
func (s *routeSet) of(name string) *routeAcc {
	for i := range s.list {
		if s.list[i].name == name {
			return s.list[i].acc
		}
	}
	if s.m == nil {
		s.m = make(map[string]*routeAcc)
	}
	if acc, ok := s.m[name]; ok {
		return acc
	}
	key := name
	if len(s.m) >= maxRoutes {
		key = OtherRoutes
	}
	acc, ok := s.m[key]
	if !ok {
		acc = &routeAcc{lat: newHist()}
		s.m[key] = acc
		if len(s.m) <= scanRoutes {
			s.list = append(s.list, namedRoute{key, acc})
		} else {
			s.list = nil
		}
	}
	return acc
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
	if r.Attempt > 0 {
		acc.attempts++
		acc.attemptOutcomes[slot]++
		if r.Status != 0 {
			acc.answered++
			acc.status.add(r.Status)
		}
	}
	if !r.Final {
		return
	}
	acc.requests++
	acc.outcomes[slot]++
	if r.Outcome == results.OutcomeOK {
		_ = acc.lat.RecordValue(micros(r.Latency()))
		if good {
			acc.good++
		}
	}
}

// stats returns each route's figures over a run of duration dur; nil when
// the run had no route labels.
func (s *routeSet) stats(dur time.Duration) map[string]RouteStats {
	if len(s.m) == 0 || (len(s.m) == 1 && s.m[""] != nil) {
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
		}
		out[name] = st
	}
	return out
}

// routeRows is the text report's table of routes, by name.
func routeRows(s *Summary) [][]cell {
	names := slices.Sorted(maps.Keys(s.ByRoute))
	rows := [][]cell{{plain("route"), plain("requests"), plain("attempts"), plain("goodput"), plain("ratio"),
		plain("p50 ms"), plain("p99 ms"), plain("max ms"), plain("errors")}}
	for _, name := range names {
		r := s.ByRoute[name]
		var failed int64
		for o, n := range r.Outcomes {
			if o != results.OutcomeOK.String() {
				failed += n
			}
		}
		rows = append(rows, []cell{plain("%s", name), plain("%d", r.Requests), plain("%d", r.Attempts),
			plain("%.1f", r.GoodputRPS), plain("%.1f%%", 100*r.GoodputRatio), plain("%s", fmtMs(r.Latency.P50)),
			plain("%s", fmtMs(r.Latency.P99)), plain("%s", fmtMs(r.Latency.Max)), plain("%d", failed)})
	}
	return rows
}
