package shed

import (
	"net/http"
	"testing"
	"time"
)

func mustThrottle(t testing.TB, cfg TenantLimitConfig) *TenantLimit {
	t.Helper()
	th, err := NewTenantLimit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestThrottlePerTenant(t *testing.T) {
	rec := newRecorder()
	th := mustThrottle(t, TenantLimitConfig{Rate: 2, Burst: 2, MaxTenants: 10, Observer: rec})
	steps := []struct {
		at        time.Duration
		tenant    string
		ok        bool
		retryWant time.Duration
	}{
		{0, "a", true, 0},
		{0, "a", true, 0},
		{0, "a", false, 500 * time.Millisecond}, // burst used; next token in 1/2 s
		{0, "b", true, 0},                       // b has its own bucket
		{0, "b", true, 0},
		{100 * time.Millisecond, "a", false, 400 * time.Millisecond},
		{500 * time.Millisecond, "a", true, 0},
		{500 * time.Millisecond, "a", false, 500 * time.Millisecond},
		{0, "", true, 0}, // no tenant header: the shared tenant ""
	}
	for i, s := range steps {
		ok, retry := th.AllowAt(t0.Add(s.at), s.tenant)
		if ok != s.ok || retry != s.retryWant {
			t.Errorf("step %d (%v, %q): %v %v, want %v %v", i, s.at, s.tenant, ok, retry, s.ok, s.retryWant)
		}
	}
	if len(rec.rejected) != 3 {
		t.Errorf("observer heard %d refusals, want 3", len(rec.rejected))
	}
}

func TestThrottleBoundsTenantsWithoutForgivingDebt(t *testing.T) {
	// Burst 1 at 1/s: a bucket refills in 1 s.
	th := mustThrottle(t, TenantLimitConfig{Rate: 1, Burst: 1, MaxTenants: 2})
	allow := func(at time.Duration, tenant string) bool {
		ok, _ := th.AllowAt(t0.Add(at), tenant)
		return ok
	}
	if !allow(0, "a") || !allow(0, "b") {
		t.Fatal("a and b should start with a token")
	}
	// c is new while a and b are fresh: it draws from the overflow bucket,
	// and evicting a would not have forgiven a's debt.
	if !allow(0, "c") {
		t.Fatal("c: first overflow token")
	}
	if allow(0, "d") {
		t.Fatal("d: the overflow bucket is shared and empty")
	}
	if allow(0, "a") {
		t.Fatal("a is still tracked and still empty")
	}
	if th.Tenants() != 2 {
		t.Fatalf("tracking %d tenants, want 2", th.Tenants())
	}
	// After the refill time, b (least recently seen) is idle and full:
	// evicting it for d loses nothing.
	if !allow(1500*time.Millisecond, "d") {
		t.Fatal("d after b went idle: want its own fresh bucket")
	}
	if th.Tenants() != 2 {
		t.Fatalf("tracking %d tenants, want 2", th.Tenants())
	}
}

func TestThrottleConfigValidation(t *testing.T) {
	for i, c := range []TenantLimitConfig{
		{Rate: 0, Burst: 1, MaxTenants: 1},
		{Rate: 1, Burst: 0, MaxTenants: 1},
		{Rate: 1, Burst: 1, MaxTenants: 0},
	} {
		if _, err := NewTenantLimit(c); err == nil {
			t.Errorf("case %d: NewThrottle succeeded, want an error", i)
		}
	}
}

func TestThrottleMiddlewareRetryAfter(t *testing.T) {
	th := mustThrottle(t, TenantLimitConfig{Rate: 0.01, Burst: 1, MaxTenants: 4, Header: "x-customer"})
	h := th.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r, _ := http.NewRequest(http.MethodGet, "/", tripwire{t})
	r.Header.Set("X-Customer", "acme")
	w := newWriter()
	h.ServeHTTP(w, r)
	if w.code != 0 {
		t.Fatalf("first request: status %d, want the handler's default", w.code)
	}
	w.reset()
	h.ServeHTTP(w, r)
	if w.code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.code)
	}
	// At 0.01/s the next token is ~100 s away: capped at 60.
	if got := w.h.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
}
