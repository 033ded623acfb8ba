package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target/backlog"
	"github.com/goodput-dev/goodput/workload/sink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// records is a concurrency-safe Recorder that keeps copies.
type records struct {
	mu  sync.Mutex
	all []results.Result
}

func (r *records) Record(res *results.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *res)
}

func (r *records) snapshot() []results.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]results.Result(nil), r.all...)
}

// startSink serves a sink on 127.0.0.1 until the test ends.
func startSink(t *testing.T, start time.Time, now func() time.Time) (*sink.Sink, *records) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &records{}
	s, err := sink.New(ln, sink.Config{Start: start, Recorder: rec, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sink Run: %v", err)
		}
	})
	return s, rec
}

func post(t *testing.T, url string, body any) int {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSinkMatchesDeliveriesAndSweepsUndelivered(t *testing.T) {
	start := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := start.Add(2 * time.Second)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s, rec := startSink(t, start, now)
	defer http.DefaultClient.CloseIdleConnections()

	// Request 1 is registered before its delivery, request 2 after (a
	// delivery may overtake the 202), request 3 is never delivered.
	s.Accepted(&results.Result{RequestID: 1, Route: "msg", Tenant: "a", Intended: 1 * time.Second})
	// Observe ignores what is not a 202: request 4 expects nothing.
	s.Observe(&results.Result{RequestID: 4, Route: "msg", Status: 429})
	enq := start.Add(1100 * time.Millisecond)
	for _, d := range []backlog.Delivery{
		{RequestID: "1", Tenant: "a", Status: "delivered", EnqueuedAt: enq, DeliveredAt: enq.Add(300 * time.Millisecond)},
		{RequestID: "2", Tenant: "b", Status: "expired", EnqueuedAt: enq, DeliveredAt: enq.Add(700 * time.Millisecond)},
	} {
		if code := post(t, s.URL(), d); code != http.StatusNoContent {
			t.Fatalf("delivery %s: status %d, want 204", d.RequestID, code)
		}
	}
	s.Accepted(&results.Result{RequestID: 2, Route: "msg", Tenant: "b", Intended: 1050 * time.Millisecond})
	s.Observe(&results.Result{RequestID: 3, Route: "msg", Tenant: "c", Intended: 1500 * time.Millisecond, Status: 202})
	if code := post(t, s.URL(), map[string]string{"request_id": "x", "status": "delivered"}); code != http.StatusBadRequest {
		t.Errorf("malformed delivery: status %d, want 400", code)
	}

	mu.Lock()
	clock = start.Add(5 * time.Second)
	mu.Unlock()
	counts := s.Drain(context.Background(), 10*time.Millisecond)
	want := sink.Counts{Accepted: 3, Delivered: 1, Expired: 1, Undelivered: 1, Malformed: 1}
	if counts != want {
		t.Errorf("counts = %+v, want %+v", counts, want)
	}
	got := map[uint64]results.Result{}
	for _, r := range rec.snapshot() {
		got[r.RequestID] = r
	}
	checks := []struct {
		id       uint64
		outcome  results.Outcome
		intended time.Duration
		end      time.Duration
		age      time.Duration
	}{
		{1, results.OutcomeDelivered, time.Second, 2 * time.Second, 300 * time.Millisecond},
		{2, results.OutcomeExpired, 1050 * time.Millisecond, 2 * time.Second, 700 * time.Millisecond},
		{3, results.OutcomeUndelivered, 1500 * time.Millisecond, 5 * time.Second, 0},
	}
	for _, c := range checks {
		r, ok := got[c.id]
		if !ok {
			t.Errorf("request %d: no record", c.id)
			continue
		}
		if r.Outcome != c.outcome || r.Intended != c.intended || r.End != c.end || r.Age != c.age || r.Route != "msg" || r.Final {
			t.Errorf("request %d: record %+v, want outcome %v intended %v end %v age %v route msg, not final", c.id, r, c.outcome, c.intended, c.end, c.age)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d records, want 3", len(got))
	}
	// After the sweep a delivery is late, not recorded.
	post(t, s.URL(), backlog.Delivery{RequestID: "3", Status: "delivered", EnqueuedAt: enq, DeliveredAt: enq})
	if c := s.Counts(); c.Late != 1 || len(rec.snapshot()) != 3 {
		t.Errorf("after drain: late %d, records %d; want 1 and 3", c.Late, len(rec.snapshot()))
	}
}

func TestSinkRecordsUnregisteredDeliveriesAtDrain(t *testing.T) {
	start := time.Now()
	s, rec := startSink(t, start, nil)
	defer http.DefaultClient.CloseIdleConnections()
	enq := start.Add(10 * time.Millisecond)
	post(t, s.URL(), backlog.Delivery{RequestID: "9", Status: "delivered", EnqueuedAt: enq, DeliveredAt: enq.Add(5 * time.Millisecond)})
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("%d records before drain, want 0 (waiting for Accepted)", n)
	}
	c := s.Drain(context.Background(), 0)
	rs := rec.snapshot()
	if c.Unmatched != 1 || len(rs) != 1 || rs[0].Intended != rs[0].Start || rs[0].Age != 5*time.Millisecond {
		t.Errorf("counts %+v records %+v: want one unmatched record with Intended = Start and Age 5ms", c, rs)
	}
}

// TestSinkIgnoresStaleDeliveries is the regression test of messages left
// queued on the target by an earlier run counting as this run's: their
// request ids restart at 1 too, so one settled a message of this run.
func TestSinkIgnoresStaleDeliveries(t *testing.T) {
	start := time.Now()
	s, rec := startSink(t, start, nil)
	defer http.DefaultClient.CloseIdleConnections()
	s.Accepted(&results.Result{RequestID: 1, Route: "msg", Intended: 10 * time.Millisecond})
	old := start.Add(-time.Minute)
	fresh := start.Add(20 * time.Millisecond)
	for _, d := range []backlog.Delivery{
		// The earlier run's request 1 and 7, enqueued before this run.
		{RequestID: "1", Status: "delivered", EnqueuedAt: old, DeliveredAt: fresh},
		{RequestID: "7", Status: "expired", EnqueuedAt: old, DeliveredAt: fresh},
		{RequestID: "1", Status: "delivered", EnqueuedAt: start.Add(-time.Nanosecond), DeliveredAt: fresh},
	} {
		if code := post(t, s.URL(), d); code != http.StatusNoContent {
			t.Fatalf("stale delivery %s: status %d, want 204", d.RequestID, code)
		}
	}
	if c := s.Counts(); c.Stale != 3 || c.Delivered+c.Expired != 0 || len(rec.snapshot()) != 0 {
		t.Fatalf("after stale deliveries: counts %+v, %d records; want 3 stale and nothing recorded", c, len(rec.snapshot()))
	}
	// This run's own delivery of request 1 (enqueued at the start
	// instant: not stale) still finds its request.
	post(t, s.URL(), backlog.Delivery{RequestID: "1", Status: "delivered", EnqueuedAt: start, DeliveredAt: fresh})
	c := s.Drain(context.Background(), 0)
	want := sink.Counts{Accepted: 1, Delivered: 1, Stale: 3}
	if c != want {
		t.Errorf("counts %+v, want %+v (request 7 not unmatched, request 1 not undelivered)", c, want)
	}
	rs := rec.snapshot()
	if len(rs) != 1 || rs[0].RequestID != 1 || rs[0].Outcome != results.OutcomeDelivered || rs[0].Age != 20*time.Millisecond {
		t.Errorf("records %+v, want only this run's delivery of request 1, age 20ms", rs)
	}
}
