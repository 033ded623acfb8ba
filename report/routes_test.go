package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/results"
)

func TestByRouteCountsEachRouteApart(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{SLO: 100 * time.Millisecond}))
	add := func(route string, attempt uint16, final bool, status uint16, o results.Outcome, lat time.Duration) {
		a.AddResult(&results.Result{Route: route, Attempt: attempt, Final: final, Status: status, Outcome: o, End: lat})
	}
	for range 10 {
		add("GET /a", 1, true, 200, results.OutcomeOK, 20*time.Millisecond)
	}
	for range 4 {
		add("POST /b", 1, false, 503, results.OutcomeShed, 5*time.Millisecond)
		add("POST /b", 2, true, 200, results.OutcomeOK, 300*time.Millisecond) // late: after the SLO
	}
	add("POST /b", 1, true, 0, results.OutcomeConnError, time.Millisecond)
	s := a.Summary()
	require.Len(t, s.ByRoute, 2)
	ra, rb := s.ByRoute["GET /a"], s.ByRoute["POST /b"]
	assert.Equal(t, int64(10), ra.Requests)
	assert.Equal(t, int64(10), ra.Attempts)
	assert.InDelta(t, 1.0, ra.GoodputRatio, 1e-9)
	assert.InDelta(t, 20, ra.Latency.P99, 0.1)
	assert.Equal(t, map[string]int64{"200": 10}, ra.StatusCodes)
	assert.Equal(t, int64(5), rb.Requests)
	assert.Equal(t, int64(9), rb.Attempts)
	assert.InDelta(t, 0.0, rb.GoodputRatio, 1e-9, "ok after the SLO is not goodput")
	assert.Equal(t, map[string]int64{"ok": 4, "conn_error": 1}, rb.Outcomes)
	assert.Equal(t, map[string]int64{"200": 4, "503": 4}, rb.StatusCodes)

	var text bytes.Buffer
	require.NoError(t, WriteText(&text, s, TextOptions{}))
	assert.Contains(t, text.String(), "\nroutes\n")
	assert.Regexp(t, `POST /b\s+5\s+9\s+0\.0\s+0\.0%\s+80\.0%\s+300\s+300\s+300\s+300\s+1\n`, text.String(), "4 of its 5 requests were late")

	f := RouteFigures(s)
	assert.Equal(t, 10.0, f["GET /a"]["requests"])
	assert.InDelta(t, 0.2, f["POST /b"]["error_ratio"], 1e-9)
}

func TestByRouteBoundsTheRoutesItNames(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{}))
	for i := range maxRoutes + 50 {
		a.AddResult(&results.Result{Route: fmt.Sprintf("GET /r%d", i), Attempt: 1, Final: true, Status: 200})
	}
	s := a.Summary()
	assert.Len(t, s.ByRoute, maxRoutes+1, "the first 100 routes by name, the rest together")
	assert.Equal(t, int64(50), s.ByRoute[OtherRoutes].Requests)
}

func TestNoRouteLabelsNoByRoute(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{}))
	a.AddResult(&results.Result{Attempt: 1, Final: true, Status: 200})
	s := a.Summary()
	assert.Nil(t, s.ByRoute)
	var text bytes.Buffer
	require.NoError(t, WriteText(&text, s, TextOptions{}))
	assert.False(t, strings.Contains(text.String(), "\nroutes\n"))
}

func BenchmarkAddResultByRoute(b *testing.B) {
	recs := benchRecords(1 << 12)
	a := NewAggregator(Options{})
	require.NoError(b, a.AddHeader(results.Header{}))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := recs[i%len(recs)]
		r.Intended %= time.Second
		r.End %= time.Second
		a.AddResult(&r)
	}
}

// Regression: a route (or run) without one successful request had a p99
// of 0, so "p99 < 250ms" passed for a route that failed every request.
func TestLatencyOfNoSuccessIsNotMeasured(t *testing.T) {
	a := NewAggregator(Options{})
	require.NoError(t, a.AddHeader(results.Header{}))
	for range 5 {
		a.AddResult(&results.Result{Route: "POST /b", Attempt: 1, Final: true, Status: 400, Outcome: results.OutcomeClientError})
		a.AddResult(&results.Result{Route: "GET /a", Attempt: 1, Final: true, Status: 200, End: time.Millisecond})
	}
	s := a.Summary()
	as, err := ParseAssertions([]string{`route("POST /b").p99 < 250ms`, `route("GET /a").p99 < 250ms`})
	require.NoError(t, err)
	vs := Evaluate(as, FiguresOf(s), ScopesOf(s))
	assert.False(t, vs[0].Pass)
	assert.False(t, vs[0].Measured)
	assert.Contains(t, vs[0].Message, "not measured")
	assert.True(t, vs[1].Pass, vs[1].Message)
}
