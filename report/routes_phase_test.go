package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/results"
)

// twoRoutesTwoPhases is a run of two 1 s phases, "steady" and "surge",
// with a 100 ms SLO. In steady, GET /a and POST /b each make 5 requests,
// all ok in 10 ms. In surge, GET /a makes 5 requests ok in 20 ms and
// POST /b 5 requests: 2 ok in 400 ms (late), 1 ok in 30 ms after a shed
// first attempt, 2 shed for good.
func twoRoutesTwoPhases(t *testing.T) *Summary {
	t.Helper()
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{SLO: 100 * time.Millisecond, Phases: []results.PhaseInfo{
		{Name: "steady", Duration: time.Second, FromRPS: 10, ToRPS: 10},
		{Name: "surge", Offset: time.Second, Duration: time.Second, FromRPS: 10, ToRPS: 10},
	}}))
	ms := time.Millisecond
	var id uint64
	add := func(route string, phase uint16, at time.Duration, attempt uint16, final bool, lat time.Duration, o results.Outcome) {
		if attempt == 1 {
			id++
		}
		status := uint16(200)
		if o == results.OutcomeShed {
			status = 503
		}
		r := results.Result{RequestID: id, Route: route, Phase: phase, Attempt: attempt, Final: final, Intended: at, Start: at, End: at + lat, Status: status, Outcome: o}
		a.AddResult(&r)
	}
	for i := range 5 {
		at := time.Duration(i) * 200 * ms
		add("GET /a", 0, at, 1, true, 10*ms, results.OutcomeOK)
		add("POST /b", 0, at+100*ms, 1, true, 10*ms, results.OutcomeOK)
		add("GET /a", 1, time.Second+at, 1, true, 20*ms, results.OutcomeOK)
	}
	b := func(i int) time.Duration { return time.Second + time.Duration(i)*200*ms + 100*ms }
	add("POST /b", 1, b(0), 1, true, 400*ms, results.OutcomeOK)
	add("POST /b", 1, b(1), 1, true, 400*ms, results.OutcomeOK)
	add("POST /b", 1, b(2), 1, false, 5*ms, results.OutcomeShed)
	add("POST /b", 1, b(2), 2, true, 30*ms, results.OutcomeOK)
	add("POST /b", 1, b(3), 1, true, 5*ms, results.OutcomeShed)
	add("POST /b", 1, b(4), 1, true, 5*ms, results.OutcomeShed)
	return a.Summary()
}

func TestByRoutePerPhaseAndWindow(t *testing.T) {
	s := twoRoutesTwoPhases(t)
	require.Len(t, s.Phases, 2)
	surge := s.Phases[1].ByRoute
	require.Len(t, surge, 2)
	pb := surge["POST /b"]
	assert.Equal(t, int64(5), pb.Requests)
	assert.Equal(t, int64(6), pb.Attempts)
	assert.InDelta(t, 1.0/5, pb.GoodputRatio, 1e-9)
	assert.InDelta(t, 2.0/5, pb.LateRatio, 1e-9)
	assert.InDelta(t, 2.0, pb.LateRPS, 1e-9)
	assert.InDelta(t, 400, pb.Latency.P99, 4, "within 1%: 2 significant digits")
	assert.Equal(t, map[string]int64{"ok": 3, "shed": 2}, pb.Outcomes)
	assert.InDelta(t, 20, surge["GET /a"].Latency.P99, 0.1)
	assert.InDelta(t, 10, s.Phases[0].ByRoute["POST /b"].Latency.P99, 0.1)

	assert.InDelta(t, 2.0/10, s.ByRoute["POST /b"].LateRatio, 1e-9, "the whole run's late ratio of the route")

	require.GreaterOrEqual(t, len(s.Windows), 2)
	w1 := s.Windows[1].ByRoute
	require.Len(t, w1, 2, "window 1 (the surge) has both routes")
	assert.Equal(t, int64(5), w1["POST /b"].Requests)
	assert.InDelta(t, 2.0, w1["POST /b"].LateRPS, 1e-9)
	assert.InDelta(t, 1.0, w1["POST /b"].GoodputRPS, 1e-9)
	assert.InDelta(t, 400, w1["POST /b"].Latency.P99, 4)
}

func TestPhaseRouteAssertions(t *testing.T) {
	s := twoRoutesTwoPhases(t)
	tests := []struct {
		expr     string
		pass     bool
		measured bool
		msg      string
	}{
		{`phase(surge).route("POST /b").p99 < 300ms`, false, true, `phase(surge).route("POST /b").p99 = 401ms, want < 300ms`},
		{`phase(steady).route("POST /b").p99 < 300ms`, true, true, `phase(steady).route("POST /b").p99 = 10ms, want < 300ms`},
		{`phase(surge).route("POST /b").late_ratio <= 0.4`, true, true, `phase(surge).route("POST /b").late_ratio = 40.00%, want <= 40.00%`},
		{`phase(surge).route("GET /a").goodput_ratio >= 0.99`, true, true, `phase(surge).route("GET /a").goodput_ratio = 100.00%, want >= 99.00%`},
		{`phase(surge).route("POST /b").retries == 1`, true, true, `phase(surge).route("POST /b").retries = 1, want == 1`},
		{`phase(warmup).route("GET /a").p99 < 1s`, false, false, `phase(warmup).route("GET /a").p99: no phase "warmup" in this run (phases: steady, surge)`},
		{`phase(surge).route("GET /c").p99 < 1s`, false, false, `phase(surge).route("GET /c").p99: no route "GET /c" in this run (routes: "GET /a", "POST /b")`},
		{`phase(surge).route("GET /a").shed_ratio < 0.01`, false, false, `phase(surge).route("GET /a").shed_ratio: not measured in this run, want < 1.00%`},
	}
	for _, tt := range tests {
		a, err := ParseAssertion(tt.expr)
		require.NoError(t, err, tt.expr)
		assert.Equal(t, tt.expr, a.String(), "canonical form")
		v := a.Evaluate(FiguresOf(s), ScopesOf(s))
		assert.Equal(t, tt.pass, v.Pass, tt.expr)
		assert.Equal(t, tt.measured, v.Measured, tt.expr)
		assert.Equal(t, tt.msg, v.Message, tt.expr)
	}
}

// A route with no request in a phase, and a route past the ones measured
// per phase, each say so.
func TestPhaseRouteAssertionOfAnUnmeasuredRoute(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{Phases: []results.PhaseInfo{
		{Name: "one", Duration: time.Second}, {Name: "two", Offset: time.Second, Duration: time.Second},
	}}))
	for i := range MaxRouteSeries + 2 {
		r := results.Result{Route: fmt.Sprintf("r%d", i), Attempt: 1, Final: true, Status: 200, Intended: time.Second, End: time.Second + time.Millisecond, Phase: 1}
		a.AddResult(&r)
	}
	only := results.Result{Route: "r0", Attempt: 1, Final: true, Status: 200, End: time.Millisecond}
	a.AddResult(&only)
	s := a.Summary()
	assert.Len(t, s.Phases[1].ByRoute, MaxRouteSeries+1, "the first routes apart, the rest together")
	assert.Equal(t, int64(2), s.Phases[1].ByRoute[OtherRouteSeries].Requests)
	for expr, want := range map[string]string{
		`phase(one).route(r1).requests > 0`:  `phase(one).route(r1).requests: route r1 made no request in phase "one"`,
		`phase(two).route(r11).requests > 0`: `phase(two).route(r11).requests: route r11 is past the first 10 routes of the run, which alone are measured per phase (the others count together as route("(other routes)"))`,
		`phase(one).route(r0).requests == 1`: `phase(one).route(r0).requests = 1, want == 1`,
	} {
		as, err := ParseAssertion(expr)
		require.NoError(t, err)
		v := as.Evaluate(FiguresOf(s), ScopesOf(s))
		assert.Equal(t, want, v.Message, expr)
	}
}

// BenchmarkAddResultByRoutePhase is BenchmarkAddResultByRoute in a run of
// two phases: each record also counts in its route's phase and window.
func BenchmarkAddResultByRoutePhase(b *testing.B) {
	recs := benchRecords(1 << 12)
	a := NewAggregator(Options{})
	require.NoError(b, a.AddHeader(results.Header{Phases: []results.PhaseInfo{
		{Name: "steady", Duration: 500 * time.Millisecond}, {Name: "surge", Offset: 500 * time.Millisecond, Duration: 500 * time.Millisecond},
	}}))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := recs[i%len(recs)]
		r.Intended %= time.Second
		r.End %= time.Second
		r.Phase = uint16(r.Intended / (500 * time.Millisecond))
		a.AddResult(&r)
	}
}

func TestCSVRouteRowsAndLateColumns(t *testing.T) {
	s := twoRoutesTwoPhases(t)
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, s))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	head := rows[0]
	col := func(row []string, name string) string {
		i := slices.Index(head, name)
		require.GreaterOrEqual(t, i, 0, name)
		return row[i]
	}
	assert.Equal(t, []string{"start_s", "route"}, head[:2])
	require.Len(t, rows, 1+len(s.Windows)*3, "each window's row, then one per route")
	// Window 1: the surge. Its own row, then GET /a and POST /b.
	win, ra, rb := rows[4], rows[5], rows[6]
	assert.Equal(t, []string{"1", "", "1", "GET /a", "1", "POST /b"}, []string{win[0], win[1], ra[0], ra[1], rb[0], rb[1]})
	assert.Equal(t, "10", col(win, "requests"))
	assert.Equal(t, "2", col(win, "late_rps"))
	assert.Equal(t, "0.2", col(win, "late_ratio"))
	assert.Equal(t, "11", col(win, "attempts"))
	assert.Equal(t, "5", col(rb, "requests"))
	assert.Equal(t, "5", col(rb, "offered_rps"))
	assert.Equal(t, "1", col(rb, "goodput_rps"))
	assert.Equal(t, "2", col(rb, "late_rps"))
	assert.Equal(t, "0.4", col(rb, "late_ratio"))
	assert.Equal(t, "2", col(rb, "requests_shed"))
	assert.Equal(t, "", col(rb, "attempts"), "attempts are the window's, not measured per route")
	assert.Equal(t, "", col(rb, "attempts_shed"))
	p99, err := strconv.ParseFloat(col(rb, "p99_ms"), 64)
	require.NoError(t, err)
	assert.InDelta(t, 400, p99, 4)
	assert.Equal(t, "0", col(ra, "late_rps"))

	// One route: no route rows, the route column empty.
	one := lateRun(t)
	buf.Reset()
	require.NoError(t, WriteCSV(&buf, one))
	rows, err = csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(one.Windows))
	assert.Equal(t, "", rows[1][1])
	assert.Equal(t, "3", col(rows[1], "late_rps"), "window 0 of lateRun has 3 late requests")
}

// Each route's window and phase figures are those of one histogram (of
// routeDigits) per cell, stragglers of old windows included, also when
// Summary is taken mid-stream.
func TestRouteCellsAreExact(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{Phases: []results.PhaseInfo{
		{Name: "one", Duration: 2 * time.Second}, {Name: "two", Offset: 2 * time.Second, Duration: 2 * time.Second},
	}}))
	type key struct {
		route string
		win   int
	}
	wins := map[key]*hdr.Histogram{}
	phases := map[key]*hdr.Histogram{}
	rng := rand.New(rand.NewPCG(5, 6))
	add := func(route string, at time.Duration) {
		lat := time.Duration(1+rng.IntN(200_000)) * time.Microsecond
		phase := int(at / (2 * time.Second))
		r := results.Result{Route: route, Attempt: 1, Final: true, Status: 200, Phase: uint16(phase), Intended: at, Start: at, End: at + lat}
		a.AddResult(&r)
		for _, c := range []struct {
			m map[key]*hdr.Histogram
			k key
		}{{wins, key{route, int(at / time.Second)}}, {phases, key{route, phase}}} {
			if c.m[c.k] == nil {
				c.m[c.k] = newRouteHist()
			}
			require.NoError(t, c.m[c.k].RecordValue(micros(lat)))
		}
	}
	check := func(s *Summary) {
		t.Helper()
		for k, h := range wins {
			assert.Equal(t, latencyOf(h), s.Windows[k.win].ByRoute[k.route].Latency, "window %d %s", k.win, k.route)
		}
		for k, h := range phases {
			assert.Equal(t, latencyOf(h), s.Phases[k.win].ByRoute[k.route].Latency, "phase %d %s", k.win, k.route)
		}
	}
	for w := range 4 {
		for i := range 1500 {
			at := time.Duration(w)*time.Second + time.Duration(i)*time.Millisecond*2/3
			add("GET /a", at)
			if i%3 == 0 {
				add("GET /b", at)
			}
			if w > 0 && i%10 == 0 {
				add("GET /a", time.Duration(i)*time.Microsecond) // a straggler of window 0, phase one
			}
		}
		if w == 1 {
			check(a.Summary())
		}
	}
	check(a.Summary())
}

// Statuses below 600 are counted in an array, the rest in a map: both
// reach status_codes.
func TestRouteStatusCodesBeyond599(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{}))
	for _, st := range []uint16{200, 200, 599, 799} {
		r := results.Result{Route: "GET /a", Attempt: 1, Final: true, Status: st, Outcome: results.OutcomeServerError}
		a.AddResult(&r)
	}
	b := results.Result{Route: "GET /b", Attempt: 1, Final: true, Status: 204}
	a.AddResult(&b)
	s := a.Summary()
	assert.Equal(t, map[string]int64{"200": 2, "599": 1, "799": 1}, s.ByRoute["GET /a"].StatusCodes)
	assert.Equal(t, map[string]int64{"204": 1}, s.ByRoute["GET /b"].StatusCodes)
}
