package target

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/goodput-dev/goodput/target/dep"
)

// benchServer is the protected preset with an instant db, so the benchmark
// measures the middleware chain and the handler, not the simulated latency.
func benchServer(b *testing.B) *Server {
	b.Helper()
	cfg, err := Preset(PresetProtected)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DB.Latency = dep.Latency{Dist: "fixed"}
	cfg.Throttle.Rate, cfg.Throttle.Burst = 1e9, 1e9
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func serveBench(b *testing.B, h http.Handler, want int) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/items/42", nil)
	req.Header.Set("X-Timeout-Ms", "1000")
	req.Header.Set("X-Tenant", "acme")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req.Clone(context.Background()))
		if w.Code != want {
			b.Fatalf("status %d, want %d", w.Code, want)
		}
	}
}

// BenchmarkChainAccept is a served request through every defence of the
// protected preset (throttle, bulkheads, admission, timeout, Server-Timing,
// metrics) with a dependency that answers at once.
func BenchmarkChainAccept(b *testing.B) {
	serveBench(b, benchServer(b).Handler(), http.StatusOK)
}

// BenchmarkChainReject is a request refused by admission control: the
// limit (1) is held by a request stalled in db and there is no queue.
func BenchmarkChainReject(b *testing.B) {
	s := benchServer(b)
	cfg := s.Config()
	cfg.Admission = AdmissionConfig{Limiter: "static", Limit: 1, Deadline: true}
	cfg.DB.Stall = true
	cfg.Timeouts = RouteTimeouts{} // the holder must not time out
	if err := s.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	held := make(chan struct{})
	go func() {
		defer close(held)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/items/1", nil))
	}()
	for s.db.Stats().InUse == 0 {
		runtime.Gosched() // until the holder is stalled in db
	}
	serveBench(b, h, http.StatusServiceUnavailable)
	cfg.DB.Stall = false
	if err := s.db.Update(cfg.DB); err != nil {
		b.Fatal(err)
	}
	<-held
}

// BenchmarkHarnessBaseline is the benchmark's own cost (recorder, request
// clone) around a handler that only writes 503: subtract it from the two
// above to get the chain's.
func BenchmarkHarnessBaseline(b *testing.B) {
	serveBench(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}), http.StatusServiceUnavailable)
}
