package faults

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// collect is a workload.Recorder that keeps every record and event.
type collect struct {
	mu      sync.Mutex
	results []results.Result
	events  []results.Event
}

func (c *collect) Record(r *results.Result) {
	c.mu.Lock()
	c.results = append(c.results, *r)
	c.mu.Unlock()
}
func (c *collect) Event(e *results.Event) {
	c.mu.Lock()
	c.events = append(c.events, *e)
	c.mu.Unlock()
}

// TestSurgeOnTheRealRunner plays a surge through the timeline on the load
// engine's Runner against a loopback server: the fault events land in the
// results stream, and the offered rate triples between the instants they
// record. A starved machine can stall the whole process for longer than
// the surge: one of three tries must hold.
func TestSurgeOnTheRealRunner(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	e2e.UpTo(t, 3, func() error { return surgeOnce(t, srv.URL) })
}

func surgeOnce(t *testing.T, url string) error {
	const total = 2 * time.Second
	sched, err := workload.NewSchedule(workload.Constant(total, 100))
	require.NoError(t, err)
	start := time.Now().Add(100 * time.Millisecond)
	policy := retry.Default()
	policy.AttemptTimeout = 5 * time.Second
	client := workload.NewHTTPClient(workload.ClientOptions{})
	defer client.CloseIdleConnections()
	runner, err := workload.New(workload.Config{Schedule: sched, Seed: 1, Mix: []workload.Template{{URL: url}}, Retry: policy, Start: start, Client: client})
	require.NoError(t, err)

	tl := &Timeline{
		Entries: []Entry{{Name: "surge", Target: TargetLoad, At: 400 * time.Millisecond, For: 500 * time.Millisecond, Fault: Surge{Multiplier: 3}}},
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

	// The events say when the surge really began and ended (on a busy
	// machine, a little after 400 and 900 ms).
	var window []time.Duration
	var kinds []results.EventKind
	for _, e := range sink.events {
		if e.Name == "surge" {
			window = append(window, e.At)
			kinds = append(kinds, e.Kind)
		}
	}
	if !slices.Equal(kinds, []results.EventKind{results.EventFaultApplied, results.EventFaultRemoved}) {
		return fmt.Errorf("surge events in the stream: %v, want applied then removed", kinds)
	}
	from, to := window[0], window[1]
	var before, during, after int
	for _, r := range sink.results {
		switch {
		case r.Intended < from:
			before++
		case r.Intended < to:
			during++
		default:
			after++
		}
	}
	want := func(rate float64, d time.Duration) float64 { return rate * d.Seconds() }
	t.Logf("surge from %v to %v; requests before %d (want %.0f), during %d (want %.0f), after %d (want %.0f)",
		from, to, before, want(100, from), during, want(300, to-from), after, want(100, total-to))
	for _, c := range []struct {
		got       int
		want, tol float64
	}{
		{before, want(100, from), 5},
		{during, want(300, to-from), 0.1*want(300, to-from) + 5},
		{after, want(100, total-to), 5},
	} {
		if math.Abs(float64(c.got)-c.want) > c.tol {
			return fmt.Errorf("%d requests where %.0f ± %.0f were due", c.got, c.want, c.tol)
		}
	}
	return nil
}
