package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/harness/metrics"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
)

// fakeSource is a run's gauges at a fixed instant.
type fakeSource struct {
	stats   workload.Stats
	elapsed time.Duration
	mult    float64
}

func (f fakeSource) Stats() workload.Stats   { return f.stats }
func (f fakeSource) Elapsed() time.Duration  { return f.elapsed }
func (f fakeSource) RateMultiplier() float64 { return f.mult }

func schedule(t testing.TB) *workload.Schedule {
	t.Helper()
	s, err := workload.NewSchedule(workload.Phase{Name: "warm", Duration: 10 * time.Second, From: 100, To: 100},
		workload.Phase{Name: "surge", Duration: 10 * time.Second, From: 200, To: 400})
	require.NoError(t, err)
	return s
}

// series gathers g into "name{label=value,...}" → value, labels sorted;
// histograms give their _count and _sum.
func series(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			key := "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Counter != nil:
				out[mf.GetName()+key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[mf.GetName()+key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_count"+key] = float64(m.Histogram.GetSampleCount())
				out[mf.GetName()+"_sum"+key] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

// TestRunCounts: every record lands in its route, phase and outcome;
// requests are final records, goodput the ok ones within the SLO, attempts
// every attempt, and the phases that have not begun have no series.
func TestRunCounts(t *testing.T) {
	g := metrics.NewRegistry()
	src := fakeSource{stats: workload.Stats{InFlight: 7}, elapsed: 5 * time.Second, mult: 1}
	run, err := g.Run(metrics.RunConfig{Label: "base", Schedule: schedule(t), SLO: 100 * time.Millisecond, Source: src})
	require.NoError(t, err)
	ms := time.Millisecond
	recs := []results.Result{
		{RequestID: 1, Attempt: 1, Final: true, Route: "get", Intended: 0, Start: ms, End: 50 * ms},                             // good
		{RequestID: 2, Attempt: 1, Final: true, Route: "get", Intended: 0, Start: ms, End: 150 * ms},                            // late
		{RequestID: 3, Attempt: 1, Route: "get", Outcome: results.OutcomeShed, Intended: 0, Start: ms, End: 2 * ms},             // retried
		{RequestID: 3, Attempt: 2, Final: true, Route: "get", Intended: 0, Start: 10 * ms, End: 20 * ms},                        // good
		{RequestID: 4, Final: true, Route: "post", Outcome: results.OutcomeGeneratorDropped},                                    // dropped
		{RequestID: 5, Attempt: 1, Final: true, Route: "post", Outcome: results.OutcomeClientTimeout, Start: 0, End: 1000 * ms}, // failed
	}
	for i := range recs {
		run.Observe(&recs[i])
	}
	got := series(t, g.Gatherer())
	want := map[string]float64{
		`loadgen_requests_total{phase=warm,route=get,run=base}`:                            3,
		`loadgen_goodput_total{phase=warm,route=get,run=base}`:                             2,
		`loadgen_outcomes_total{outcome=ok,phase=warm,route=get,run=base}`:                 3,
		`loadgen_outcomes_total{outcome=shed,phase=warm,route=get,run=base}`:               0,
		`loadgen_attempts_total{outcome=ok,phase=warm,route=get,run=base}`:                 3,
		`loadgen_attempts_total{outcome=shed,phase=warm,route=get,run=base}`:               1,
		`loadgen_request_latency_seconds_count{phase=warm,route=get,run=base}`:             3,
		`loadgen_attempt_latency_seconds_count{phase=warm,route=get,run=base}`:             4,
		`loadgen_requests_total{phase=warm,route=post,run=base}`:                           2,
		`loadgen_goodput_total{phase=warm,route=post,run=base}`:                            0,
		`loadgen_generator_dropped_total{phase=warm,route=post,run=base}`:                  1,
		`loadgen_outcomes_total{outcome=client_timeout,phase=warm,route=post,run=base}`:    1,
		`loadgen_outcomes_total{outcome=generator_dropped,phase=warm,route=post,run=base}`: 1,
		`loadgen_attempts_total{outcome=client_timeout,phase=warm,route=post,run=base}`:    1,
		`loadgen_request_latency_seconds_count{phase=warm,route=post,run=base}`:            0,
		`loadgen_schedule_lag_seconds_count{run=base}`:                                     4,
		`loadgen_in_flight{run=base}`:                                                      7,
		`loadgen_offered_rate{run=base}`:                                                   100,
		`loadgen_phase{phase=warm,run=base}`:                                               1,
	}
	for k, v := range want {
		if assert.Contains(t, got, k) {
			assert.Equal(t, v, got[k], k)
		}
	}
	for k := range got {
		assert.NotContains(t, k, "phase=surge", "a phase that has not begun has no series")
	}
	assert.InDelta(t, 0.05+0.15+0.02, got[`loadgen_request_latency_seconds_sum{phase=warm,route=get,run=base}`], 1e-9,
		"latency is from intended start")
}

// TestRunGauges: the offered rate follows the schedule, the rate
// multiplier and the shard's share; the phase gauge marks the current
// phase; the shard label is there for a sharded run only.
func TestRunGauges(t *testing.T) {
	g := metrics.NewRegistry()
	src := fakeSource{elapsed: 15 * time.Second, mult: 2}
	_, err := g.Run(metrics.RunConfig{Label: "s", Shard: workload.Shard{Index: 1, Count: 4}, Schedule: schedule(t), Source: src})
	require.NoError(t, err)
	got := series(t, g.Gatherer())
	assert.InDelta(t, 300*2/4.0, got[`loadgen_offered_rate{run=s,shard=1}`], 1e-9)
	assert.Equal(t, 0.0, got[`loadgen_phase{phase=warm,run=s,shard=1}`])
	assert.Equal(t, 1.0, got[`loadgen_phase{phase=surge,run=s,shard=1}`])
}

// TestRunNeedsSchedule: a run without phases is refused.
func TestRunNeedsSchedule(t *testing.T) {
	_, err := metrics.NewRegistry().Run(metrics.RunConfig{Label: "x"})
	require.ErrorContains(t, err, "schedule")
}

// TestRunManyRoutes: past the route cap, records go to one "(other)"
// route, and nothing is lost.
func TestRunManyRoutes(t *testing.T) {
	g := metrics.NewRegistry()
	run, err := g.Run(metrics.RunConfig{Label: "r", Schedule: schedule(t)})
	require.NoError(t, err)
	const n = 100
	for i := range n {
		run.Observe(&results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Route: fmt.Sprint("route", i)})
	}
	var total float64
	routes := map[string]bool{}
	for k, v := range series(t, g.Gatherer()) {
		if strings.HasPrefix(k, "loadgen_requests_total{") && strings.Contains(k, "phase=warm") {
			total += v
			routes[k] = true
		}
	}
	assert.Equal(t, float64(n), total)
	assert.Len(t, routes, 65)
	assert.Contains(t, series(t, g.Gatherer()), `loadgen_requests_total{phase=warm,route=(other),run=r}`)
}

// TestRunConcurrent: records observed from many goroutines while scrapes
// read are all counted (run under -race).
func TestRunConcurrent(t *testing.T) {
	g := metrics.NewRegistry()
	run, err := g.Run(metrics.RunConfig{Label: "c", Schedule: schedule(t)})
	require.NoError(t, err)
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				run.Observe(&results.Result{RequestID: uint64(w*each + i), Attempt: 1, Final: true, Route: fmt.Sprint("r", i%3), End: time.Millisecond})
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			_, err := g.Gatherer().Gather()
			assert.NoError(t, err)
		}
	})
	wg.Wait()
	var total float64
	for k, v := range series(t, g.Gatherer()) {
		if strings.HasPrefix(k, "loadgen_requests_total{") {
			total += v
		}
	}
	assert.Equal(t, float64(workers*each), total)
}

// TestHandlerToken: with a token, a scrape without it or with another is
// refused with 401; with it, the series are served.
func TestHandlerToken(t *testing.T) {
	g := metrics.NewRegistry()
	_, err := g.Run(metrics.RunConfig{Label: "t", Schedule: schedule(t)})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr error
	var wg sync.WaitGroup
	wg.Go(func() { serveErr = g.Serve(ctx, ln, "s3cret") })
	url := "http://" + ln.Addr().String() + "/metrics"
	get := func(auth string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, body, "Bearer")
	code, _ = get("Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body = get("Bearer s3cret")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `loadgen_schedule_lag_seconds_count{run="t"} 0`)
	http.DefaultClient.CloseIdleConnections()
	cancel()
	wg.Wait()
	assert.NoError(t, serveErr)
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "Serve closes its listener")
}
