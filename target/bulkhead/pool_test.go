package bulkhead

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// events records observer calls.
type events struct {
	mu       sync.Mutex
	acquired []time.Duration
	rejected []error
}

func (e *events) Acquired(_ string, wait time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.acquired = append(e.acquired, wait)
}

func (e *events) Rejected(_ string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rejected = append(e.rejected, err)
}

func mustPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type got struct {
	name    string
	release func()
	err     error
}

func acquireAsync(ctx context.Context, p *Pool, name string, out chan<- got) {
	go func() {
		rel, err := p.Acquire(ctx)
		out <- got{name, rel, err}
	}()
}

func TestPoolBoundsCallsAndWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev := &events{}
		p := mustPool(t, Config{Name: "db", MaxConcurrent: 2, MaxWaiters: 2, MaxWait: 100 * time.Millisecond, Observer: ev})
		ctx := context.Background()
		r1, err1 := p.Acquire(ctx)
		r2, err2 := p.Acquire(ctx)
		if err1 != nil || err2 != nil {
			t.Fatalf("first two: %v %v", err1, err2)
		}
		out := make(chan got, 10)
		acquireAsync(ctx, p, "w1", out)
		synctest.Wait()
		acquireAsync(ctx, p, "w2", out)
		synctest.Wait()
		if _, err := p.Acquire(ctx); !errors.Is(err, ErrFull) {
			t.Fatalf("fifth caller: %v, want ErrFull", err)
		}
		if p.InUse() != 2 || p.Waiting() != 2 {
			t.Fatalf("InUse %d Waiting %d, want 2 2", p.InUse(), p.Waiting())
		}
		time.Sleep(30 * time.Millisecond)
		r1()
		r1() // a second call is harmless
		synctest.Wait()
		g := <-out
		if g.name != "w1" || g.err != nil {
			t.Fatalf("got %+v, want w1 (first come, first served)", g)
		}
		time.Sleep(70 * time.Millisecond) // w2 reaches MaxWait
		synctest.Wait()
		if g := <-out; g.name != "w2" || !errors.Is(g.err, ErrWaitTimeout) {
			t.Fatalf("got %+v, want w2 ErrWaitTimeout", g)
		}
		r2()
		g.release()
		if p.InUse() != 0 || p.Waiting() != 0 {
			t.Fatalf("InUse %d Waiting %d after all released, want 0 0", p.InUse(), p.Waiting())
		}
		ev.mu.Lock()
		defer ev.mu.Unlock()
		if len(ev.acquired) != 3 || ev.acquired[2] != 30*time.Millisecond {
			t.Errorf("acquired waits %v, want [0 0 30ms]", ev.acquired)
		}
		if len(ev.rejected) != 2 || ev.rejected[0] != ErrFull || ev.rejected[1] != ErrWaitTimeout {
			t.Errorf("rejections %v, want [full, wait timeout]", ev.rejected)
		}
	})
}

func TestPoolCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustPool(t, Config{MaxConcurrent: 1, MaxWaiters: 1, MaxWait: time.Second})
		rel, _ := p.Acquire(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan got, 1)
		acquireAsync(ctx, p, "w", out)
		synctest.Wait()
		cancel()
		rel() // may hand the slot to w just as it gives up: it must pass it on
		synctest.Wait()
		if g := <-out; !errors.Is(g.err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", g.err)
		}
		if p.InUse() != 0 || p.Waiting() != 0 {
			t.Fatalf("InUse %d Waiting %d, want 0 0: a slot leaked", p.InUse(), p.Waiting())
		}
	})
}

// TestPoolsAreIndependent: with search saturated (every slot held, its wait
// queue full), items still answers at once: no fake time passes and it
// never waits.
func TestPoolsAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev := &events{}
		set, err := NewSet(
			Config{Name: "search", MaxConcurrent: 2, MaxWaiters: 3, MaxWait: 2 * time.Second},
			Config{Name: "items", MaxConcurrent: 2, MaxWaiters: 3, MaxWait: 2 * time.Second, Observer: ev},
		)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		search, items := set.Pool("search"), set.Pool("items")
		out := make(chan got, 10)
		for range 5 {
			acquireAsync(ctx, search, "search", out)
		}
		synctest.Wait()
		var held []func()
		for range 2 {
			g := <-out
			held = append(held, g.release)
		}
		if _, err := search.Acquire(ctx); !errors.Is(err, ErrFull) {
			t.Fatalf("search: %v, want ErrFull", err)
		}
		start := time.Now()
		for range 20 {
			rel, err := items.Acquire(ctx)
			if err != nil {
				t.Fatalf("items while search is saturated: %v", err)
			}
			rel()
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("items took %v of fake time, want 0 (it never waited)", d)
		}
		ev.mu.Lock()
		for _, w := range ev.acquired {
			if w != 0 {
				t.Fatalf("an items call waited %v", w)
			}
		}
		ev.mu.Unlock()
		for _, rel := range held {
			rel()
		}
		synctest.Wait()
		for range 2 {
			(<-out).release()
		}
		synctest.Wait()
		(<-out).release()
	})
}

// TestRoutesAreIsolatedOverHTTP: over a real server, a route whose handler
// hangs fills its own pool and sheds its excess with 503, while the other
// route keeps answering 200.
func TestRoutesAreIsolatedOverHTTP(t *testing.T) {
	set, err := NewSet(
		Config{Name: "/api/search", MaxConcurrent: 2, MaxWaiters: 1, MaxWait: 10 * time.Second},
		Config{Name: "/api/items", MaxConcurrent: 2, MaxWaiters: 1, MaxWait: 10 * time.Second},
	)
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	entered := make(chan struct{}, 10)
	h := set.Middleware(func(r *http.Request) string { return r.URL.Path }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/search" {
			entered <- struct{}{}
			<-hang
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (*http.Response, error) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, nil
	}
	type res struct {
		code   int
		reason string
		err    error
	}
	searches := make(chan res, 3)
	for range 3 {
		go func() {
			resp, err := get("/api/search")
			if err != nil {
				searches <- res{err: err}
				return
			}
			searches <- res{code: resp.StatusCode}
		}()
	}
	<-entered
	<-entered // both search slots are held; the third waits
	deadline := time.Now().Add(10 * time.Second)
	for set.Pool("/api/search").Waiting() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("third search never queued")
		}
		runtimeGosched()
	}
	resp, err := get("/api/search")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Shed-Reason") != "bulkhead_full" ||
		resp.Header.Get("X-Bulkhead") != "/api/search" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("fourth search: %d %v, want 503 bulkhead_full from /api/search", resp.StatusCode, resp.Header)
	}
	for i := range 20 {
		resp, err := get("/api/items")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("items %d while search hangs: %d, want 200", i, resp.StatusCode)
		}
	}
	close(hang)
	for range 3 {
		if r := <-searches; r.err != nil || r.code != http.StatusOK {
			t.Fatalf("search after unhang: %+v", r)
		}
	}
	if resp, err := get("/other"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a path with no pool: %v %v, want straight through", resp, err)
	}
}

func TestSetValidation(t *testing.T) {
	for i, cfgs := range [][]Config{
		{{MaxConcurrent: 1}},
		{{Name: "a", MaxConcurrent: 1}, {Name: "a", MaxConcurrent: 1}},
		{{Name: "a", MaxConcurrent: 0}},
		{{Name: "a", MaxConcurrent: 1, MaxWaiters: 1}},
	} {
		if _, err := NewSet(cfgs...); err == nil {
			t.Errorf("case %d: NewSet succeeded, want an error", i)
		}
	}
	s, err := NewSet(Config{Name: "b", MaxConcurrent: 1}, Config{Name: "a", MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ps := s.Pools(); len(ps) != 2 || ps[0].Name() != "a" || ps[1].Name() != "b" {
		t.Fatalf("Pools() not sorted by name")
	}
	if s.Pool("zzz") != nil {
		t.Fatal("Pool of an unknown name should be nil")
	}
}
