package workload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload/retry"
)

func newRunner(t *testing.T, cfg Config) *Runner {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func constantConfig(url string, rps float64, d time.Duration) Config {
	s, _ := NewSchedule(Constant(d, rps))
	p := retry.Default()
	p.AttemptTimeout = 5 * time.Second
	return Config{Schedule: s, Seed: 1, Mix: []Template{{URL: url}}, Retry: p}
}

func TestRunnerSendsTheWireHeadersAndRecordsEveryRequest(t *testing.T) {
	var mu sync.Mutex
	ids := map[string]bool{}
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids[r.Header.Get("X-Request-Id")] = true
		mu.Unlock()
		ms, err := strconv.Atoi(r.Header.Get("X-Timeout-Ms"))
		if r.Header.Get("X-Attempt") != "1" || err != nil || ms <= 0 || ms > 5000 ||
			r.Header.Get("X-Priority") != "sheddable" || r.Header.Get("X-Tenant") == "" || r.URL.Query().Get("t") != r.Header.Get("X-Tenant") {
			bad.Store(r.Header.Clone())
		}
		w.Header().Set("Server-Timing", "queue;dur=1, app;dur=2, db;dur=3")
		_, _ = w.Write([]byte("hello"))
	}))
	defer srv.Close()
	cfg := constantConfig("", 200, time.Second)
	cfg.BaseURL = srv.URL
	cfg.Mix = []Template{{Name: "get", URL: "/x?t={tenant}&n={rand:1-9}", Priority: "sheddable"}}
	cfg.Tenants = Tenants{Count: 10}
	r := newRunner(t, cfg)
	var sink memSink
	if err := r.Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	if h := bad.Load(); h != nil {
		t.Fatalf("bad wire headers: %v", h)
	}
	rs := sink.results()
	tl := count(t, rs)
	if tl.requests != 200 || tl.attempts != 200 || tl.finals[results.OutcomeOK] != 200 {
		t.Fatalf("requests %d attempts %d outcomes %v; want 200 ok", tl.requests, tl.attempts, tl.finals)
	}
	if len(ids) != 200 {
		t.Fatalf("%d distinct request ids, want 200", len(ids))
	}
	for _, res := range rs {
		if res.Route != "get" || res.BytesIn != 5 || res.Status != 200 || res.Start < res.Intended || res.End < res.Start ||
			res.Timing != (results.ServerTiming{Queue: time.Millisecond, App: 2 * time.Millisecond, Dep: 3 * time.Millisecond}) {
			t.Fatalf("bad record %+v", res)
		}
	}
	if len(sink.events) != 1 || sink.events[0].Kind != results.EventPhaseStarted {
		t.Fatalf("events %+v, want one phase_started", sink.events)
	}
}

// TestRunnerRecordsColdStartsAndThrottleReasons checks, with both
// senders, that an attempt's init time and a 429's X-Throttle-Reason reach
// its record.
func TestRunnerRecordsColdStartsAndThrottleReasons(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			w.Header().Set("X-Throttle-Reason", "account")
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			w.Header().Set("Server-Timing", "init;dur=250, app;dur=100")
		default:
			w.Header().Set("Server-Timing", "app;dur=100")
		}
	}))
	defer srv.Close()
	for _, netHTTP := range []bool{false, true} {
		n.Store(0)
		cfg := constantConfig(srv.URL, 100, time.Second)
		cfg.Retry.MaxAttempts = 1
		if netHTTP {
			cfg.Client = srv.Client()
		}
		var sink memSink
		if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
			t.Fatal(err)
		}
		var cold, warm, throttled int
		for _, res := range sink.results() {
			switch {
			case res.Status == http.StatusTooManyRequests && res.Throttle == "account" && !res.Cold():
				throttled++
			case res.Status == 200 && res.Throttle == "" && res.Timing.Init == 250*time.Millisecond:
				cold++
			case res.Status == 200 && res.Throttle == "" && !res.Cold() && res.Timing.App == 100*time.Millisecond:
				warm++
			default:
				t.Fatalf("net/http=%v: bad record %+v", netHTTP, res)
			}
		}
		if cold+warm+throttled != 100 || cold < 33 || warm < 33 || throttled < 33 {
			t.Fatalf("net/http=%v: %d cold, %d warm, %d throttled; want 100 in thirds", netHTTP, cold, warm, throttled)
		}
	}
}

func failingServer(t *testing.T, attempts *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAmplificationOfAFailingServiceWithoutBudgetIsThree(t *testing.T) {
	var n atomic.Int64
	srv := failingServer(t, &n)
	cfg := constantConfig(srv.URL, 200, time.Second)
	cfg.Retry.MaxAttempts = 3
	cfg.Retry.Backoff = retry.Backoff{}
	var sink memSink
	if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	tl := count(t, sink.results())
	if tl.requests != 200 || tl.attempts != 600 || n.Load() != 600 || tl.finals[results.OutcomeShed] != 200 {
		t.Fatalf("requests %d attempts %d (server saw %d) finals %v; want 200, 600, all shed", tl.requests, tl.attempts, n.Load(), tl.finals)
	}
}

func TestRatioBudgetBoundsAmplification(t *testing.T) {
	var n atomic.Int64
	srv := failingServer(t, &n)
	cfg := constantConfig(srv.URL, 200, time.Second)
	cfg.Retry.MaxAttempts = 3
	cfg.Retry.Backoff = retry.Backoff{}
	cfg.Retry.Budget, _ = retry.ParseBudget("ratio:0.1")
	var sink memSink
	if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	tl := count(t, sink.results())
	amp := float64(tl.attempts) / float64(tl.requests)
	if tl.requests != 200 || amp > 1.1 || amp < 1.0 {
		t.Fatalf("requests %d attempts %d: amplification %.3f, want ≤ 1.1", tl.requests, tl.attempts, amp)
	}
	if tl.finals[results.OutcomeBudgetExhausted] == 0 {
		t.Fatalf("no budget_exhausted outcome: %v", tl.finals)
	}
}

func TestRetryAfterDelaysTheRetryAtLeastOneSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Attempt") == "1" {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			}
		}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 1, time.Second)
		cfg.Client = pc.Client
		cfg.Retry.MaxAttempts = 2
		cfg.Retry.Backoff = retry.Backoff{Kind: retry.BackoffConstant, Base: time.Millisecond}
		var sink memSink
		if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
			t.Fatal(err)
		}
		rs := sink.results()
		if len(rs) != 2 || rs[0].Outcome != results.OutcomeShed || !rs[1].Final || rs[1].Outcome != results.OutcomeOK {
			t.Fatalf("records %+v", rs)
		}
		if gap := rs[1].Start - rs[0].End; gap < time.Second {
			t.Fatalf("retry %v after the 429 with Retry-After: 1", gap)
		}
	})
}

func TestHedgeSendsTheSecondAttemptOnlyAfterItsDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Attempt") == "1" {
				select {
				case <-time.After(time.Second):
				case <-r.Context().Done():
				}
			}
		}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 10, 200*time.Millisecond)
		cfg.Client = pc.Client
		cfg.Retry.Hedge = retry.HedgeSpec{After: 50 * time.Millisecond, MaxFraction: 1}
		var sink memSink
		if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
			t.Fatal(err)
		}
		rs := sink.results()
		tl := count(t, rs)
		if tl.requests != 2 || tl.finals[results.OutcomeOK] != 2 {
			t.Fatalf("finals %v, want 2 ok", tl.finals)
		}
		first := map[uint64]time.Duration{}
		for _, r := range rs {
			if r.Attempt == 1 {
				first[r.RequestID] = r.Start
				if r.Final || r.Outcome != results.OutcomeCanceled {
					t.Fatalf("hedged-over attempt 1: %+v", r)
				}
			}
		}
		for _, r := range rs {
			if r.Attempt == 2 {
				if !r.Final || r.Start-first[r.RequestID] < 50*time.Millisecond {
					t.Fatalf("hedge %+v started %v after attempt 1", r, r.Start-first[r.RequestID])
				}
			}
		}
	})
}

func TestMaxInFlightDropsWithoutCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pc := newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 100, time.Second)
		cfg.Client = pc.Client
		cfg.MaxInFlight = 5
		r := newRunner(t, cfg)
		var sink memSink
		done := make(chan error)
		go func() { done <- r.Run(context.Background(), &sink) }()
		time.Sleep(2 * time.Second) // fake time: the schedule is over
		synctest.Wait()
		if st := r.Stats(); st.InFlight != 5 || st.Dropped != 95 {
			t.Fatalf("stats %+v, want 5 in flight, 95 dropped", st)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		tl := count(t, sink.results())
		if tl.requests != 100 || tl.finals[results.OutcomeGeneratorDropped] != 95 || tl.finals[results.OutcomeOK] != 5 {
			t.Fatalf("finals %v", tl.finals)
		}
		for _, res := range sink.results() {
			if res.Outcome == results.OutcomeGeneratorDropped && (res.Attempt != 0 || res.Start != res.Intended || res.End != res.Intended) {
				t.Fatalf("dropped record %+v", res)
			}
		}
	})
}

func TestCancelEndsInFlightAttemptsAsCanceled(t *testing.T) {
	hold := make(chan struct{})
	tenth := make(chan struct{})
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == 10 {
			close(tenth)
		}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hold)
	cfg := constantConfig(srv.URL, 100, time.Minute)
	r := newRunner(t, cfg)
	var sink memSink
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, &sink) }()
	select {
	case <-tenth:
	case <-time.After(10 * time.Second):
		t.Fatal("10 requests did not arrive within 10 s")
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel")
	}
	tl := count(t, sink.results())
	if tl.finals[results.OutcomeCanceled] < 10 || tl.finals[results.OutcomeCanceled] != tl.requests {
		t.Fatalf("finals %v, want every request canceled", tl.finals)
	}
}

// Regression: an interrupt after the schedule's last intended start was
// ignored until every attempt timed out, and with no timeout never.
func TestCancelAfterTheScheduleEndedStopsAttemptsThatNeverEnd(t *testing.T) {
	hold := make(chan struct{})
	tenth := make(chan struct{})
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == 10 {
			close(tenth)
		}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hold)
	cfg := constantConfig(srv.URL, 50, 200*time.Millisecond)
	cfg.Retry.AttemptTimeout = 0
	cfg.Retry.Deadline = 0
	r := newRunner(t, cfg)
	var sink memSink
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, &sink) }()
	select {
	case <-tenth:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of the schedule's 10 requests arrived within 10 s", got.Load())
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel after its schedule ended")
	}
	tl := count(t, sink.results())
	if tl.requests != 10 || tl.finals[results.OutcomeCanceled] != 10 {
		t.Fatalf("%d requests, finals %v; want all 10 recorded as canceled", tl.requests, tl.finals)
	}
}

func TestRateMultiplierAndBurstOnARunningRunner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 100, 4*time.Second)
		cfg.Client = pc.Client
		r := newRunner(t, cfg)
		var sink memSink
		done := make(chan error)
		go func() { done <- r.Run(context.Background(), &sink) }()
		time.Sleep(time.Second)
		r.SetRateMultiplier(3) // 1 s at 100/s, then 3 s at 300/s
		time.Sleep(time.Second)
		r.Burst(50)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		tl := count(t, sink.results())
		if want := 100 + 900 + 50; tl.requests < want-1 || tl.requests > want+1 {
			t.Fatalf("%d requests, want %d ± 1", tl.requests, want)
		}
		bursts := 0
		for _, res := range sink.results() {
			if res.RequestID&burstBit != 0 {
				bursts++
				if res.Intended < 2*time.Second {
					t.Fatalf("burst request intended at %v", res.Intended)
				}
			}
		}
		if bursts != 50 {
			t.Fatalf("%d burst requests, want 50", bursts)
		}
	})
}

func TestSetRetryPolicyAppliesToNewRequests(t *testing.T) {
	var n atomic.Int64
	srv := failingServer(t, &n)
	cfg := constantConfig(srv.URL, 100, time.Second)
	r := newRunner(t, cfg)
	p := r.RetryPolicy()
	p.MaxAttempts = 2
	p.Backoff = retry.Backoff{}
	r.SetRetryPolicy(p)
	bad := p
	bad.MaxAttempts = -3
	r.SetRetryPolicy(bad) // refused, no run: no event either
	var sink memSink
	if err := r.Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	if tl := count(t, sink.results()); tl.attempts != 200 {
		t.Fatalf("%d attempts, want 200 (2 per request)", tl.attempts)
	}
}

func TestUnreachableServiceIsConnError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	cfg := constantConfig(url, 20, 500*time.Millisecond)
	var sink memSink
	if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	if tl := count(t, sink.results()); tl.finals[results.OutcomeConnError] != 10 {
		t.Fatalf("finals %v, want 10 conn_error", tl.finals)
	}
	for _, r := range sink.results() {
		if r.Error != ErrTextRefused {
			t.Fatalf("record %+v: error %q, want %q (no address)", r, r.Error, ErrTextRefused)
		}
	}
	if _, err := Preflight(context.Background(), url, time.Second, nil); err == nil {
		t.Fatal("preflight to a closed port succeeded")
	}
}

func TestAttemptTimeoutIsClientTimeoutAndDeadlineEndsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Hour):
			case <-r.Context().Done():
			}
		}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 1, time.Second)
		cfg.Client = pc.Client
		cfg.Retry.AttemptTimeout = 300 * time.Millisecond
		cfg.Retry.Deadline = time.Second
		cfg.Retry.MaxAttempts = 10
		cfg.Retry.Backoff = retry.Backoff{}
		var sink memSink
		if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
			t.Fatal(err)
		}
		rs := sink.results()
		// 300 + 300 + 300 + 100 (what is left of the deadline).
		if len(rs) != 4 || !rs[3].Final || rs[3].Latency() != time.Second {
			t.Fatalf("records %+v", rs)
		}
		for _, res := range rs {
			if res.Outcome != results.OutcomeClientTimeout {
				t.Fatalf("outcome %v, want client_timeout", res.Outcome)
			}
		}
	})
}

func TestAdaptiveThrottlingRejectsLocallyWhenTheServiceSheds(t *testing.T) {
	var n atomic.Int64
	srv := failingServer(t, &n)
	cfg := constantConfig(srv.URL, 400, time.Second)
	cfg.Retry.Throttle = retry.ThrottleSpec{K: 2, Window: 10 * time.Second}
	var sink memSink
	if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	tl := count(t, sink.results())
	// Nothing is accepted, so p = requests/(requests+1) → 1: after the
	// first few, almost every request is rejected locally.
	if tl.requests != 400 || tl.finals[results.OutcomeClientThrottled] < 300 || n.Load() != int64(tl.attempts) {
		t.Fatalf("finals %v, service saw %d of %d attempts", tl.finals, n.Load(), tl.attempts)
	}
	for _, r := range sink.results() {
		if r.Outcome == results.OutcomeClientThrottled && (r.Attempt != 0 || !r.Final) {
			t.Fatalf("throttled record %+v", r)
		}
	}
}

func TestASecondRunPlaysTheScheduleAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 100, time.Second)
		cfg.Client = pc.Client
		r := newRunner(t, cfg)
		for run := range 2 {
			var sink memSink
			done := make(chan error)
			go func() { done <- r.Run(context.Background(), &sink) }()
			time.Sleep(500 * time.Millisecond)
			if run == 0 {
				r.SetRateMultiplier(2) // the second half of run 0 and all of run 1
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			want := []int{150, 200}[run]
			if tl := count(t, sink.results()); tl.requests < want-1 || tl.requests > want+1 {
				t.Fatalf("run %d: %d requests, want %d ± 1", run, tl.requests, want)
			}
		}
	})
}

func TestEventsRacingTheEndOfARunNeverReachAClosedStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 100, 100*time.Millisecond)
		cfg.Client = pc.Client
		r := newRunner(t, cfg)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r.Event(results.Event{Kind: results.EventNote, Name: "tick"})
				time.Sleep(time.Millisecond)
			}
		})
		for range 5 {
			if err := NewStream(nil, nil, 1).Serve(func(s Recorder) error { return r.Run(context.Background(), s) }); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
	})
}

// TestServeEndsTheResultsStream: a run's stream read back is complete,
// with every record written (the drain used to leave the writer's last
// buffered records unflushed, and no trailer said the run had ended).
func TestServeEndsTheResultsStream(t *testing.T) {
	var buf bytes.Buffer
	w, err := results.NewWriter(&buf, results.Header{Label: "served"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(w, nil, 0)
	if err := s.Serve(func(sink Recorder) error {
		for i := range 1000 {
			sink.Record(&results.Result{RequestID: uint64(i), Final: true, Route: "GET /"})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rd, err := results.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var res results.Result
	var ev results.Event
	for {
		if _, err := rd.Next(&res, &ev); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if in := rd.Integrity(); !in.Complete || in.Records != 1000 {
		t.Fatalf("read %d records, complete %v (%v), want 1000, complete", in.Records, in.Complete, in.Err())
	}
}
