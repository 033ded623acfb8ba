package bulkhead

import (
	"context"
	"net/http"
	"testing"
)

// hdrWriter is a reusable ResponseWriter for allocation counts.
type hdrWriter struct {
	h    http.Header
	code int
}

func (w *hdrWriter) Header() http.Header         { return w.h }
func (w *hdrWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *hdrWriter) WriteHeader(code int)        { w.code = code }

func BenchmarkPool(b *testing.B) {
	ctx := context.Background()
	b.Run("acquire_release", func(b *testing.B) {
		p := mustPool(b, Config{Name: "db", MaxConcurrent: 1 << 20})
		b.ReportAllocs()
		for b.Loop() {
			rel, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			rel()
		}
	})
	b.Run("reject", func(b *testing.B) {
		p := mustPool(b, Config{Name: "db", MaxConcurrent: 1})
		rel, _ := p.Acquire(ctx)
		defer rel()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Acquire(ctx); err != ErrFull {
				b.Fatal(err)
			}
		}
	})
	b.Run("middleware_reject", func(b *testing.B) {
		h, w, r, done := rejectingMiddleware(b)
		defer done()
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

func rejectingMiddleware(t testing.TB) (http.Handler, *hdrWriter, *http.Request, func()) {
	p := mustPool(t, Config{Name: "search", MaxConcurrent: 1})
	rel, _ := p.Acquire(context.Background())
	r, _ := http.NewRequest(http.MethodGet, "/api/search", nil)
	return p.Middleware(http.NotFoundHandler()), &hdrWriter{h: http.Header{}}, r, rel
}

func TestMiddlewareRejectIsAllocationFree(t *testing.T) {
	h, w, r, done := rejectingMiddleware(t)
	defer done()
	if n := testing.AllocsPerRun(100, func() { clear(w.h); h.ServeHTTP(w, r) }); n != 0 {
		t.Fatalf("%v allocs per rejection, want 0", n)
	}
	if w.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.code)
	}
}

func BenchmarkWorkers(b *testing.B) {
	w, err := NewWorkers(WorkersConfig{Workers: 8})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, rel, err := w.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rel()
	}
}
