package target

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// benchServer is the protected preset without the tenant throttle's limit
// (a benchmark is one tenant at millions of requests per second). With
// instant, db answers at once, so the benchmark measures the middleware
// chain and the handler, not the simulated latency.
func benchServer(tb testing.TB, instant bool) *Server {
	tb.Helper()
	cfg, err := Preset(PresetProtected)
	if err != nil {
		tb.Fatal(err)
	}
	if instant {
		cfg.DB.Latency = dist.Latency{Dist: "fixed"}
	}
	cfg.Throttle.Rate, cfg.Throttle.Burst = 1e9, 1e9
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// benchWriter is a ResponseWriter that keeps only the status, reused
// between iterations (its header map cleared), as net/http reuses its own:
// the benchmarks then measure the chain, not a recorder's copies.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

func serveBench(b *testing.B, h http.Handler, want int) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/items/42", nil)
	req.Header.Set("X-Timeout-Ms", "1000")
	req.Header.Set("X-Tenant", "acme")
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = http.StatusOK
		h.ServeHTTP(w, req)
		if w.code != want {
			b.Fatalf("status %d, want %d", w.code, want)
		}
	}
}

// BenchmarkChainServed is a served request as the protected preset serves
// it: db answers after its 20 ms, holding one of its 8 slots meanwhile.
// This is what a rejection saves; it must cost under 5% of it.
func BenchmarkChainServed(b *testing.B) {
	serveBench(b, benchServer(b, false).Handler(), http.StatusOK)
}

// BenchmarkChainAccept is the chain's own cost on a served request: every
// defence of the protected preset (throttle, bulkheads, admission, timeout,
// Server-Timing, metrics) with a dependency that answers at once.
func BenchmarkChainAccept(b *testing.B) {
	serveBench(b, benchServer(b, true).Handler(), http.StatusOK)
}

// BenchmarkChainReject is a request refused by admission control: the
// limit (1) is held by a request stalled in db and there is no queue.
func BenchmarkChainReject(b *testing.B) {
	serveBench(b, rejecting(b), http.StatusServiceUnavailable)
}

// TestChainRejectAllocations: a request refused by admission control costs
// three allocations through the whole chain (its timing, its Server-Timing
// value, the mux's match of the path's wildcard) and no copy of the
// request.
func TestChainRejectAllocations(t *testing.T) {
	h := rejecting(t)
	req := httptest.NewRequest(http.MethodGet, "/api/items/42", nil)
	req.Header.Set("X-Timeout-Ms", "1000")
	w := &benchWriter{h: http.Header{}}
	n := testing.AllocsPerRun(200, func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	})
	if w.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.code)
	}
	if n > 3 {
		t.Fatalf("%.0f allocations per refused request, want ≤ 3", n)
	}
}

// rejecting returns the API handler of a server whose admission limit (1)
// is held by a request stalled in db, with no queue: it refuses every other
// request. Cleanup unstalls the holder and waits for it.
func rejecting(tb testing.TB) http.Handler {
	tb.Helper()
	s := benchServer(tb, true)
	cfg := s.Config()
	cfg.Admission = AdmissionConfig{Limiter: "static", Limit: 1, Deadline: true}
	cfg.DB.Stall = true
	cfg.Timeouts = RouteTimeouts{} // the holder must not time out
	if err := s.Apply(cfg); err != nil {
		tb.Fatal(err)
	}
	h := s.Handler()
	held := make(chan struct{})
	go func() {
		defer close(held)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/items/1", nil))
	}()
	for deadline := time.Now().Add(10 * time.Second); s.db.Stats().InUse == 0; {
		if time.Now().After(deadline) {
			tb.Fatal("the holder never reached db")
		}
		runtime.Gosched() // until the holder is stalled in db
	}
	tb.Cleanup(func() {
		cfg.DB.Stall = false
		if err := s.db.Update(cfg.DB); err != nil {
			tb.Error(err)
		}
		<-held
	})
	return h
}

// BenchmarkHarnessBaseline is the benchmark's own cost around a handler
// that only writes 503: subtract it from the two above to get the chain's.
func BenchmarkHarnessBaseline(b *testing.B) {
	serveBench(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}), http.StatusServiceUnavailable)
}
