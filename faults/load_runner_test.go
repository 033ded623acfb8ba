package faults

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// collect is a workload.Sink that keeps every record and event.
type collect struct {
	mu      sync.Mutex
	results []report.Result
	events  []report.Event
}

func (c *collect) Record(r *report.Result) {
	c.mu.Lock()
	c.results = append(c.results, *r)
	c.mu.Unlock()
}
func (c *collect) Event(e *report.Event) { c.mu.Lock(); c.events = append(c.events, *e); c.mu.Unlock() }

// TestSurgeOnTheRealRunner plays a surge through the timeline on the load
// engine's Runner against a loopback server: the offered rate triples for
// the surge's window, and the fault events land in the results stream.
func TestSurgeOnTheRealRunner(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	sched, err := workload.NewSchedule(workload.Constant(1500*time.Millisecond, 100))
	require.NoError(t, err)
	start := time.Now().Add(100 * time.Millisecond)
	policy := retry.Default()
	policy.AttemptTimeout = 5 * time.Second
	client := workload.NewHTTPClient(workload.ClientOptions{})
	defer client.CloseIdleConnections()
	runner, err := workload.New(workload.Config{Schedule: sched, Seed: 1, Mix: []workload.Template{{URL: srv.URL}}, Retry: policy, Start: start, Client: client})
	require.NoError(t, err)

	tl := &Timeline{
		Entries: []Entry{{Name: "surge", Target: TargetLoad, At: 500 * time.Millisecond, For: 500 * time.Millisecond, Fault: Surge{Multiplier: 3}}},
		Emit:    runner.Event,
	}
	var sink collect
	var wg sync.WaitGroup
	var runErr, tlErr error
	wg.Go(func() { runErr = runner.Run(t.Context(), &sink) })
	wg.Go(func() { tlErr = tl.Run(t.Context(), start, Injectors{Load: &LoadInjector{Load: runner}}) })
	wg.Wait()
	require.NoError(t, runErr)
	require.NoError(t, tlErr)

	var before, during, after int
	for _, r := range sink.results {
		switch {
		case r.Intended < 500*time.Millisecond:
			before++
		case r.Intended < time.Second:
			during++
		default:
			after++
		}
	}
	t.Logf("requests before %d, during %d, after %d", before, during, after)
	assert.InDelta(t, 50, before, 5)
	assert.InDelta(t, 150, during, 15, "the offered rate tripled for the surge's window")
	assert.InDelta(t, 50, after, 10)
	var kinds []report.EventKind
	for _, e := range sink.events {
		if e.Name == "surge" {
			kinds = append(kinds, e.Kind)
		}
	}
	assert.Equal(t, []report.EventKind{report.EventFaultApplied, report.EventFaultRemoved}, kinds, "the events are in the results stream")
}
