package shed

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// tripwire is a request body that fails the test if anything reads it.
type tripwire struct{ t *testing.T }

func (b tripwire) Read([]byte) (int, error) {
	b.t.Error("request body read before the admission decision")
	return 0, io.EOF
}

// writer is a reusable ResponseWriter that keeps only the status, headers
// and byte count (no httptest.ResponseRecorder: benchmarks reuse it).
type writer struct {
	h    http.Header
	code int
	n    int
}

func newWriter() *writer { return &writer{h: make(http.Header)} }

func (w *writer) Header() http.Header { return w.h }
func (w *writer) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}
func (w *writer) WriteHeader(code int) { w.code = code }
func (w *writer) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

func TestMiddlewareRejectsCheaplyBeforeReadingBody(t *testing.T) {
	rec := newRecorder()
	s := mustNew(t, Config{Limiter: Static(1), RetryAfter: 2500 * time.Millisecond, Observer: rec})
	hold, _ := s.Acquire(context.Background(), Attrs{})
	defer hold.Release(false)
	h := s.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("handler ran for a rejected request")
	}))
	r, _ := http.NewRequest(http.MethodPost, "/api/work", tripwire{t})
	w := newWriter()
	h.ServeHTTP(w, r)
	if w.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.code)
	}
	if got := w.h.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3 (2.5 s rounded up)", got)
	}
	if got := w.h.Get("X-Shed-Reason"); got != "limit" {
		t.Errorf("X-Shed-Reason %q, want limit", got)
	}
	if got := <-rec.rejected; got != ReasonLimit {
		t.Errorf("observer heard %v", got)
	}
}

func TestMiddlewarePassesDeadlineAndQueueWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 1, MaxWait: time.Second, TimeoutHeader: "x-budget-ms"})
		hold, _ := s.Acquire(context.Background(), Attrs{})
		arrival := time.Now()
		type seen struct {
			deadline time.Time
			wait     time.Duration
			ok       bool
		}
		got := make(chan seen, 1)
		h := s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			dl, _ := r.Context().Deadline()
			wait, ok := QueueWait(r.Context())
			got <- seen{dl, wait, ok}
		}))
		r, _ := http.NewRequest(http.MethodGet, "/api/items/1", nil)
		r.Header.Set("X-Budget-Ms", "250")
		w := newWriter()
		go h.ServeHTTP(w, r)
		synctest.Wait()
		time.Sleep(7 * time.Millisecond)
		hold.Release(false)
		synctest.Wait()
		g := <-got
		if !g.deadline.Equal(arrival.Add(250 * time.Millisecond)) {
			t.Errorf("handler deadline %v after arrival, want 250ms", g.deadline.Sub(arrival))
		}
		if !g.ok || g.wait != 7*time.Millisecond {
			t.Errorf("QueueWait = %v, %v; want 7ms, true", g.wait, g.ok)
		}
		if s.InFlight() != 0 {
			t.Errorf("InFlight %d after the handler returned, want 0", s.InFlight())
		}
	})
}

func TestMiddlewareDropsRequestsThatCannotFinishInTime(t *testing.T) {
	s := mustNew(t, Config{Limiter: Static(10), ServiceTime: 100 * time.Millisecond})
	h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, k := range []struct {
		header string
		want   int
	}{
		{"50", http.StatusServiceUnavailable}, // the client leaves before we could answer
		{"500", http.StatusOK},
		{"", http.StatusOK},     // unknown patience
		{"soon", http.StatusOK}, // malformed: unknown
		{"-5", http.StatusOK},   // negative: unknown
		{"0", http.StatusServiceUnavailable},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if k.header != "" {
			r.Header.Set("X-Timeout-Ms", k.header)
		}
		w := newWriter()
		h.ServeHTTP(w, r)
		if w.code == 0 {
			w.code = http.StatusOK
		}
		if w.code != k.want {
			t.Errorf("X-Timeout-Ms %q: status %d, want %d", k.header, w.code, k.want)
		}
	}
}

func TestTimeoutKeepsTheEarlierDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got time.Duration
		h := Timeout(200 * time.Millisecond)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			dl, _ := r.Context().Deadline()
			got = time.Until(dl)
		}))
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		h.ServeHTTP(newWriter(), r)
		if got != 200*time.Millisecond {
			t.Errorf("deadline in %v, want 200ms", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		h.ServeHTTP(newWriter(), r.WithContext(ctx))
		if got != 50*time.Millisecond {
			t.Errorf("deadline in %v, want the caller's 50ms", got)
		}
	})
}

// TestOverRealHTTP drives the middleware chain through a real server on
// 127.0.0.1: with one slot taken, a critical request is shed with 503 and a
// sheddable one too, and a tenant over its rate gets 429.
func TestOverRealHTTP(t *testing.T) {
	s := mustNew(t, Config{Limiter: Static(1)})
	th, err := NewTenantLimit(TenantLimitConfig{Rate: 0.001, Burst: 3, MaxTenants: 10})
	if err != nil {
		t.Fatal(err)
	}
	entered, unblock := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(th.Middleware(s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			close(entered)
			<-unblock
		}
		_, _ = io.WriteString(w, "ok")
	}))))
	defer srv.Close()
	get := func(path, tenant, prio string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Tenant", tenant)
		req.Header.Set("X-Priority", prio)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	done := make(chan *http.Response)
	go func() { done <- get("/block", "a", "critical") }()
	<-entered
	for _, prio := range []string{"critical", "sheddable"} {
		resp := get("/", "b", prio)
		want := map[string]string{"critical": "limit", "sheddable": "priority"}[prio]
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Shed-Reason") != want || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s while full: %d %q Retry-After %q; want 503 %s 1", prio, resp.StatusCode, resp.Header.Get("X-Shed-Reason"), want, resp.Header.Get("Retry-After"))
		}
	}
	close(unblock)
	if resp := <-done; resp.StatusCode != http.StatusOK {
		t.Fatalf("blocked request: %d", resp.StatusCode)
	}
	// Tenant b has used its burst of 3 on its two shed requests and this one.
	if resp := get("/", "b", "critical"); resp.StatusCode != http.StatusOK {
		t.Fatalf("b's third request: %d, want 200", resp.StatusCode)
	}
	resp := get("/", "b", "critical")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("X-Shed-Reason") != "tenant_throttle" {
		t.Fatalf("b over its rate: %d %q, want 429 tenant_throttle", resp.StatusCode, resp.Header.Get("X-Shed-Reason"))
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || strings.HasPrefix(ra, "0") {
		t.Fatalf("Retry-After %q, want a positive number of seconds", ra)
	}
	if resp := get("/", "c", "critical"); resp.StatusCode != http.StatusOK {
		t.Fatalf("tenant c: %d, want 200 (b's throttling is b's alone)", resp.StatusCode)
	}
}
