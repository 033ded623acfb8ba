package bulkhead

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func runtimeGosched() { runtime.Gosched() }

// TestWorkersNeverShareAWorker: many concurrent units of work on 3 workers:
// at most 3 run at once and no worker id is ever held by two at once.
func TestWorkersNeverShareAWorker(t *testing.T) {
	const size = 3
	w, err := NewWorkers(WorkersConfig{Name: "cpu", Workers: size, MaxWaiters: 100, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var holders [size]atomic.Int32
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	var failures atomic.Int32
	h := w.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		id, ok := WorkerID(r.Context())
		if !ok || id < 0 || id >= size {
			failures.Add(1)
			return
		}
		if !holders[id].CompareAndSwap(0, 1) {
			failures.Add(1) // another request holds this worker
		}
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		for range 100 {
			runtime.Gosched()
		}
		running.Add(-1)
		holders[id].Store(0)
	}))
	for range 60 {
		wg.Go(func() {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			h.ServeHTTP(discard{}, r)
		})
	}
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d requests saw a shared or missing worker", f)
	}
	if p := peak.Load(); p > size {
		t.Fatalf("%d ran at once on %d workers", p, size)
	}
	if w.Busy() != 0 || w.Waiting() != 0 {
		t.Fatalf("Busy %d Waiting %d after all done", w.Busy(), w.Waiting())
	}
}

func TestWorkersReuseTheLastFreed(t *testing.T) {
	w, err := NewWorkers(WorkersConfig{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, relA, _ := w.Acquire(ctx)
	b, relB, _ := w.Acquire(ctx)
	if a != 0 || b != 1 {
		t.Fatalf("ids %d %d, want 0 1", a, b)
	}
	relA()
	c, relC, _ := w.Acquire(ctx)
	if c != 0 {
		t.Fatalf("id %d, want 0 (the last freed, still warm)", c)
	}
	relB()
	relC()
	relC()
	if w.Busy() != 0 {
		t.Fatalf("Busy %d", w.Busy())
	}
	for range 4 {
		if _, _, err := w.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := w.Acquire(ctx); err != ErrFull {
		t.Fatalf("fifth on four workers with no wait: %v, want ErrFull", err)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
