package shed

import (
	"context"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"
)

// BenchmarkAcquire measures the admission decision alone: admit and
// release, and an immediate refusal (which must not allocate).
func BenchmarkAcquire(b *testing.B) {
	ctx := context.Background()
	b.Run("accept", func(b *testing.B) {
		s := mustNew(b, Config{Limiter: Static(1 << 30)})
		b.ReportAllocs()
		for b.Loop() {
			p, err := s.Acquire(ctx, Attrs{})
			if err != nil {
				b.Fatal(err)
			}
			p.Release(false)
		}
	})
	b.Run("reject_retry", func(b *testing.B) {
		s := mustNew(b, Config{Limiter: Static(1), RetryAware: true, Observer: Funcs{OnRejected: func(Reason) {}}})
		hold, _ := s.Acquire(ctx, Attrs{})
		defer hold.Release(false)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Acquire(ctx, Attrs{Attempt: 2}); err != ReasonRetry {
				b.Fatalf("%v, want retry", err)
			}
		}
	})
	b.Run("reject", func(b *testing.B) {
		s := mustNew(b, Config{Limiter: Static(1), Observer: Funcs{OnRejected: func(Reason) {}}})
		hold, _ := s.Acquire(ctx, Attrs{})
		defer hold.Release(false)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Acquire(ctx, Attrs{}); err == nil {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("reject_adaptive", func(b *testing.B) {
		g, _ := NewGradient(GradientConfig{Initial: 1, Min: 1, Max: 1})
		s := mustNew(b, Config{Limiter: g, QueueSize: 8, MaxWait: 1, Discipline: CoDel})
		hold, _ := s.Acquire(ctx, Attrs{})
		defer hold.Release(false)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Acquire(ctx, Attrs{Priority: Sheddable}); err == nil {
				b.Fatal("admitted")
			}
		}
	})
}

// work is the accepted handler's small fixed work: a SHA-256 of 1 KiB and a
// short body.
func work(w http.ResponseWriter, _ *http.Request) {
	var buf [1024]byte
	sum := sha256.Sum256(buf[:])
	_, _ = w.Write(sum[:])
}

// BenchmarkChain measures the full middleware chain (tenant throttle, then
// admission) around the same handler, served by direct ServeHTTP into a
// reused ResponseWriter: a request admitted and served, and one rejected
// by the shedder or by the throttle. The reject/accept ratio is reported
// as a custom metric by BenchmarkChainRatio.
func BenchmarkChain(b *testing.B) {
	for _, c := range []struct {
		name       string
		limit      Static
		rate       float64
		timeout    bool
		wantStatus int
	}{
		{"accept", 1 << 30, 1e12, false, http.StatusOK},
		{"accept_with_deadline", 1 << 30, 1e12, true, http.StatusOK},
		{"reject_shed", 0, 1e12, true, http.StatusServiceUnavailable},
		{"reject_throttle", 1 << 30, 1e-9, true, http.StatusTooManyRequests},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := chain(b, c.limit, c.rate)
			r := benchRequest(c.timeout)
			w := newWriter()
			// One request first: it spends the throttle's burst, so every
			// measured request (even with -benchtime 1x) takes the path named.
			h.ServeHTTP(w, r)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
			if w.code != c.wantStatus {
				b.Fatalf("status %d, want %d", w.code, c.wantStatus)
			}
		})
	}
}

func chain(b testing.TB, limit Static, rate float64) http.Handler {
	s := mustNew(b, Config{Limiter: limit})
	th := mustThrottle(b, TenantLimitConfig{Rate: rate, Burst: 1, MaxTenants: 16})
	return th.Middleware(s.Middleware(http.HandlerFunc(work)))
}

func benchRequest(timeout bool) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/api/work", nil)
	r.Header.Set("X-Tenant", "tenant-7")
	r.Header.Set("X-Priority", "critical")
	if timeout {
		r.Header.Set("X-Timeout-Ms", "1000")
	}
	return r
}

// TestRejectIsAllocationFree holds the reject paths to zero allocations in
// the normal test run, not only when benchmarks are run.
func TestRejectIsAllocationFree(t *testing.T) {
	for _, c := range []struct {
		name  string
		limit Static
		rate  float64
	}{{"shed", 0, 1e12}, {"throttle", 1 << 30, 1e-9}} {
		h := chain(t, c.limit, c.rate)
		r := benchRequest(true)
		w := newWriter()
		h.ServeHTTP(w, r) // let the throttle meet the tenant
		if n := testing.AllocsPerRun(200, func() { w.reset(); h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: %v allocs per rejection, want 0", c.name, n)
		}
	}
}

// BenchmarkObserve measures the per-request cost of feeding a limiter.
func BenchmarkObserve(b *testing.B) {
	aimd, _ := NewAIMD(AIMDConfig{Initial: 10, Min: 1, Max: 1000, LatencyThreshold: time.Second})
	grad, _ := NewGradient(GradientConfig{Initial: 10, Min: 1, Max: 1000})
	for _, l := range []struct {
		name string
		l    Limiter
	}{{"aimd", aimd}, {"gradient", grad}} {
		b.Run(l.name, func(b *testing.B) {
			now := t0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(100 * time.Microsecond)
				l.l.Observe(now, Sample{RTT: 20 * time.Millisecond, InFlight: l.l.Limit()})
			}
		})
	}
}

// BenchmarkThrottle measures the tenant lookup and token take, for a
// tracked tenant, allowed and refused.
func BenchmarkThrottle(b *testing.B) {
	for _, c := range []struct {
		name string
		rate float64
	}{{"allow", 1e12}, {"refuse", 1e-9}} {
		b.Run(c.name, func(b *testing.B) {
			th := mustThrottle(b, TenantLimitConfig{Rate: c.rate, Burst: 1, MaxTenants: 1024})
			th.Allow("tenant-7")
			b.ReportAllocs()
			for b.Loop() {
				th.Allow("tenant-7")
			}
		})
	}
}
