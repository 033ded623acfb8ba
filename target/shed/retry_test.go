package shed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestRetryAwareRefusesRetriesOnlyWhileOverloaded(t *testing.T) {
	ctx := context.Background()
	first, retry := Attrs{Attempt: 1}, Attrs{Attempt: 2}
	s := mustNew(t, Config{Limiter: Static(2), RetryAware: true, OverloadWindow: 100 * time.Millisecond})
	steps := []struct {
		at   int // ms after t0
		a    Attrs
		want Reason
	}{
		{0, first, 0},
		{0, retry, 0},             // not overloaded yet: a retry uses spare capacity
		{1, first, ReasonLimit},   // at the limit: overloaded from here
		{1, retry, ReasonRetry},   // at the limit and within the window
		{50, retry, ReasonRetry},  // a slot is free (released at 2 ms) but the window runs
		{50, first, 0},            // a first attempt takes that slot
		{100, retry, ReasonRetry}, // 99 ms after the refusal; refused retries do not extend it
		{101, retry, 0},           // the window has passed
	}
	var permits []Permit
	for i, st := range steps {
		if i == 4 {
			permits[0].ReleaseAt(ms(2), false)
		}
		if i == 6 {
			permits[1].ReleaseAt(ms(60), false)
			permits[2].ReleaseAt(ms(60), false)
		}
		p, r := s.acquire(ctx, ms(st.at), st.a)
		if r != st.want {
			t.Fatalf("step %d (attempt %d at %d ms): %v, want %v", i, st.a.Attempt, st.at, r, st.want)
		}
		if r == 0 {
			permits = append(permits, p)
		}
	}
	// One of two slots taken, nobody waiting, the last refusal 100 ms ago.
	if s.Overloaded(ms(101)) {
		t.Error("Overloaded at 101 ms: true, want false")
	}
	if _, r := s.acquire(ctx, ms(102), first); r != 0 || !s.Overloaded(ms(102)) {
		t.Errorf("at 102 ms: first attempt %v, overloaded %v; want admitted, then overloaded (at the limit)", r, s.Overloaded(ms(102)))
	}
}

// simulateSurge offers, every millisecond for a second, one first attempt
// and then one retry to a Shedder with a static limit of 8 whose requests
// run exactly 20 ms (capacity 400/s, offered 2000/s), and counts the
// admissions of each.
func simulateSurge(t *testing.T, retryAware bool) (firsts, retries int) {
	t.Helper()
	ctx := context.Background()
	s := mustNew(t, Config{Limiter: Static(8), RetryAware: retryAware})
	running := map[int][]Permit{} // by the millisecond they end
	for now := range 1000 {
		for _, p := range running[now] {
			p.ReleaseAt(ms(now), false)
		}
		delete(running, now)
		for _, a := range []Attrs{{Attempt: 1}, {Attempt: 2}} {
			p, r := s.acquire(ctx, ms(now), a)
			if r != 0 {
				continue
			}
			running[now+20] = append(running[now+20], p)
			if a.Attempt == 1 {
				firsts++
			} else {
				retries++
			}
		}
	}
	return firsts, retries
}

func TestRetryAwareGivesTheSurgeCapacityToFirstAttempts(t *testing.T) {
	// Without it, the first 8 slots go to 4 first attempts and 4
	// retries, and each freed slot to the same kind as the request that
	// freed it, since both kinds arrive every millisecond: half the
	// capacity is spent on retries.
	firsts, retries := simulateSurge(t, false)
	if firsts != 200 || retries != 200 {
		t.Errorf("not retry-aware: admitted %d first attempts and %d retries, want 200 and 200", firsts, retries)
	}
	// With it, retries get the 4 slots taken before the first refusal,
	// then nothing: every later slot goes to a first attempt.
	firsts, retries = simulateSurge(t, true)
	if firsts != 396 || retries != 4 {
		t.Errorf("retry-aware: admitted %d first attempts and %d retries, want 396 and 4", firsts, retries)
	}
}

func TestRetryAwareMiddlewareCountsDownstream503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(10), RetryAware: true, OverloadWindow: 100 * time.Millisecond})
		h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Fail") != "" {
				w.WriteHeader(http.StatusServiceUnavailable) // a bulkhead further in
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		serve := func(attempt string, fail bool) (int, string) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-Attempt", attempt)
			if fail {
				req.Header.Set("X-Fail", "1")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code, rec.Header().Get("X-Shed-Reason")
		}
		if code, _ := serve("3", false); code != http.StatusOK {
			t.Fatalf("retry before any overload: %d, want 200", code)
		}
		if code, _ := serve("1", true); code != http.StatusServiceUnavailable {
			t.Fatalf("failing request: %d, want 503", code)
		}
		time.Sleep(50 * time.Millisecond)
		if code, reason := serve("2", false); code != http.StatusServiceUnavailable || reason != "retry" {
			t.Fatalf("retry 50 ms after a downstream 503: %d %q, want 503 retry", code, reason)
		}
		if code, _ := serve("1", false); code != http.StatusOK {
			t.Fatalf("first attempt 50 ms after a downstream 503: %d, want 200", code)
		}
		if code, _ := serve("x", false); code != http.StatusOK {
			t.Fatalf("malformed X-Attempt (a first try): %d, want 200", code)
		}
		time.Sleep(50 * time.Millisecond)
		if code, _ := serve("2", false); code != http.StatusOK {
			t.Fatalf("retry 100 ms after the downstream 503: %d, want 200", code)
		}
	})
}

func TestRetryAwareOffIgnoresAttempts(t *testing.T) {
	s := mustNew(t, Config{Limiter: Static(1)})
	if _, r := s.acquire(context.Background(), ms(0), Attrs{Attempt: 1}); r != 0 {
		t.Fatal(r)
	}
	if _, r := s.acquire(context.Background(), ms(1), Attrs{Attempt: 1}); r != ReasonLimit {
		t.Fatalf("%v, want limit", r)
	}
	if _, r := s.acquire(context.Background(), ms(2), Attrs{Attempt: 5}); r != ReasonLimit {
		t.Fatalf("retry while full, not retry-aware: %v, want limit (not retry)", r)
	}
}

func TestOverloadWindowValidated(t *testing.T) {
	if _, err := New(Config{Limiter: Static(1), OverloadWindow: -time.Second}); err == nil {
		t.Fatal("negative overload_window accepted")
	}
}
