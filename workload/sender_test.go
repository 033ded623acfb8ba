package workload

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload/retry"
)

// runOnce plays rps for d against the templates and returns the records.
func runOnce(t *testing.T, cfg Config) []results.Result {
	t.Helper()
	var sink memSink
	if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	return sink.results()
}

func TestHTTP1ClientHandlesChunkedCloseHeadAndBodies(t *testing.T) {
	var bodies sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies.Store(r.Header.Get("X-Request-Id"), string(b))
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush() // no Content-Length: chunked
			_, _ = w.Write([]byte(strings.Repeat("y", 10000)))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		case "/head":
			w.Header().Set("Content-Length", "5")
		default:
			_, _ = w.Write([]byte("plain"))
		}
	}))
	defer srv.Close()
	cfg := constantConfig("", 100, 400*time.Millisecond)
	cfg.BaseURL = srv.URL
	cfg.Mix = []Template{
		{Name: "chunked", URL: "/chunked"},
		{Name: "close", URL: "/close"},
		{Name: "head", URL: "/head", Method: http.MethodHead},
		{Name: "post", URL: "/post", Method: http.MethodPost, Body: []byte(`{"id":{seq}}`)},
	}
	rs := runOnce(t, cfg)
	want := map[string]uint32{"chunked": 10000, "close": 3, "head": 0}
	for _, r := range rs {
		if r.Outcome != results.OutcomeOK || r.Status != 200 {
			t.Fatalf("record %+v", r)
		}
		if n, ok := want[r.Route]; ok && r.BytesIn != n {
			t.Fatalf("%s: %d bytes in, want %d", r.Route, r.BytesIn, n)
		}
		if r.Route == "post" {
			got, _ := bodies.Load(itoa(r.RequestID))
			if got != `{"id":`+itoa(r.RequestID)+`}` || r.BytesOut != uint32(len(got.(string))) {
				t.Fatalf("post body %q for request %d", got, r.RequestID)
			}
		}
	}
	if len(rs) != 40 {
		t.Fatalf("%d records, want 40", len(rs))
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestHTTP1ClientReusesConnectionsAndBoundsThePool(t *testing.T) {
	var conns, inflight, peak atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // the service's work: holds the connection
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := constantConfig(srv.URL, 200, 500*time.Millisecond)
	cfg.HTTP.Connections = 2
	rs := runOnce(t, cfg)
	tl := count(t, rs)
	if tl.finals[results.OutcomeOK] != 100 {
		t.Fatalf("finals %v", tl.finals)
	}
	if conns.Load() > 2 || peak.Load() > 2 {
		t.Fatalf("%d connections, %d concurrent requests; want ≤ 2 (--connections 2)", conns.Load(), peak.Load())
	}
}

func TestHTTP1ClientRetriesOnceWhenTheServerClosedAnIdleConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	cfg := constantConfig(srv.URL, 20, 200*time.Millisecond)
	r := newRunner(t, cfg)
	var sink memSink
	if err := r.Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	// The runner closed its idle connections; open one and let the server
	// drop it while idle, as servers do.
	fs := r.sender.(*fastSender)
	fs.pools[0].put(mustDial(t, srv.Listener.Addr().String()), true)
	srv.CloseClientConnections()
	var second memSink
	if err := r.Run(context.Background(), &second); err != nil {
		t.Fatal(err)
	}
	tl := count(t, second.results())
	if tl.finals[results.OutcomeOK] != 4 {
		t.Fatalf("finals %v, want 4 ok", tl.finals)
	}
}

func mustDial(t *testing.T, addr string) *pconn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &pconn{c: c, br: bufio.NewReader(c), bw: bufio.NewWriter(c)}
}

func TestHTTP1ClientTimesOutAndTellsTheService(t *testing.T) {
	var sawTimeout atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawTimeout.Store(r.Header.Get("X-Timeout-Ms"))
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	cfg := constantConfig(srv.URL, 10, 100*time.Millisecond)
	cfg.Retry.AttemptTimeout = 200 * time.Millisecond
	rs := runOnce(t, cfg)
	if len(rs) != 1 || rs[0].Outcome != results.OutcomeClientTimeout || rs[0].AttemptLatency() < 200*time.Millisecond || rs[0].AttemptLatency() > 3*time.Second {
		t.Fatalf("records %+v", rs)
	}
	if v := sawTimeout.Load(); v != "200" {
		t.Fatalf("X-Timeout-Ms %v, want 200", v)
	}
}

func TestTLSAndHTTP2Options(t *testing.T) {
	var protos sync.Map
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		_, _ = w.Write([]byte("ok"))
	})
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	h2cSrv := httptest.NewServer(h2c.NewHandler(h, &http2.Server{}))
	defer h2cSrv.Close()
	for _, tt := range []struct {
		url   string
		http2 bool
		proto string
	}{
		{tlsSrv.URL, false, "HTTP/1.1"},
		{h2cSrv.URL, true, "HTTP/2.0"},
	} {
		protos.Clear()
		cfg := constantConfig(tt.url, 20, 250*time.Millisecond)
		cfg.HTTP = ClientOptions{Insecure: true, HTTP2: tt.http2}
		tl := count(t, runOnce(t, cfg))
		if tl.finals[results.OutcomeOK] != 5 {
			t.Fatalf("%s http2=%v: finals %v", tt.url, tt.http2, tl.finals)
		}
		if _, ok := protos.Load(tt.proto); !ok {
			t.Fatalf("%s http2=%v: server did not see %s", tt.url, tt.http2, tt.proto)
		}
	}
}

func TestHTTP1HedgeCancelsTheLoserAndRepeatsTheRequest(t *testing.T) {
	var items sync.Map // request id → X-Item of attempt 1
	var mismatch atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, item := r.Header.Get("X-Request-Id"), r.Header.Get("X-Item")
		if prev, loaded := items.LoadOrStore(id, item); loaded && prev != item {
			mismatch.Add(1)
		}
		if r.Header.Get("X-Attempt") == "1" {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	cfg := constantConfig(srv.URL+"/", 20, 500*time.Millisecond)
	cfg.Mix[0].Header = http.Header{"X-Item": {"{rand:1-1000000}"}}
	cfg.Retry.Hedge = retry.HedgeSpec{After: 50 * time.Millisecond, MaxFraction: 1}
	start := time.Now()
	rs := runOnce(t, cfg)
	if time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("run took %v: the losers were not canceled", time.Since(start))
	}
	tl := count(t, rs)
	if tl.finals[results.OutcomeOK] != 10 || tl.attempts != 20 || mismatch.Load() != 0 {
		t.Fatalf("finals %v, %d attempts, %d header mismatches", tl.finals, tl.attempts, mismatch.Load())
	}
	for _, r := range rs {
		if r.Attempt == 1 && (r.Final || r.Outcome != results.OutcomeCanceled) {
			t.Fatalf("loser %+v", r)
		}
	}
}

// TestConnPoolPrunesConnectionsIdleTooLong: connections idle for longer
// than idleTimeout are closed at the next prune; fresher ones stay.
func TestConnPoolPrunesConnectionsIdleTooLong(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := make(chan struct{}, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c) // until the client closes
				closed <- struct{}{}
			}()
		}
	}()
	p := newConnPool(ln.Addr().String(), false, ClientOptions{Connections: 3, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	var conns []*pconn
	for range 3 {
		pc, _, err := p.get(context.Background(), time.Time{}, true)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, pc)
	}
	for _, pc := range conns {
		p.put(pc, true)
	}
	now := time.Now()
	conns[0].lastUse = now.Add(-2 * idleTimeout)
	conns[1].lastUse = now.Add(-idleTimeout - time.Second)
	p.prune(now)
	if len(p.idle) != 1 || p.idle[0] != conns[2] {
		t.Fatalf("%d idle after prune, want only the fresh one", len(p.idle))
	}
	for range 2 {
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("a pruned connection was not closed")
		}
	}
}

// gatedDials makes a pool's dials wait for a go-ahead: each dial reports
// itself on started, then waits on release (or its context).
type gatedDials struct {
	started chan struct{}
	release chan struct{}
	real    func(ctx context.Context, network, addr string) (net.Conn, error)
}

func gateDials(p *connPool) *gatedDials {
	g := &gatedDials{started: make(chan struct{}, 100), release: make(chan struct{}), real: p.dial}
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		g.started <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return g.real(ctx, network, addr)
	}
	return g
}

// loopbackSink accepts connections on 127.0.0.1 and reads them until they
// close.
func loopbackSink(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			})
		}
	})
	return ln.Addr().String()
}

// TestConnPoolTakesAFreedConnectionBeforeItsOwnDial: a request that finds
// no idle connection starts a dial, but takes a connection another request
// frees first; the dialed one then joins the idle list.
func TestConnPoolTakesAFreedConnectionBeforeItsOwnDial(t *testing.T) {
	p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: 4, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	a, _, err := p.get(context.Background(), time.Time{}, false)
	if err != nil {
		t.Fatal(err)
	}
	g := gateDials(p)
	type got struct {
		pc     *pconn
		reused bool
		err    error
	}
	done := make(chan got, 1)
	go func() {
		pc, reused, err := p.get(context.Background(), time.Time{}, false)
		done <- got{pc, reused, err}
	}()
	<-g.started // the second request is dialing
	p.put(a, true)
	b := <-done
	if b.err != nil || b.pc != a || !b.reused {
		t.Fatalf("second request got %p (reused %v, %v), want the freed connection %p", b.pc, b.reused, b.err, a)
	}
	close(g.release)
	for deadline := time.Now().Add(10 * time.Second); ; {
		p.mu.Lock()
		idle, open := len(p.idle), p.open
		p.mu.Unlock()
		if idle == 1 && open == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the dial: %d idle, %d open; want the dialed connection idle, 2 open", idle, open)
		}
		runtime.Gosched()
	}
	p.put(b.pc, true)
}

// TestConnPoolBoundsDialsAndConnections: a burst of requests dials at most
// maxDials connections at once and opens at most the pool's bound.
func TestConnPoolBoundsDialsAndConnections(t *testing.T) {
	const bound = maxDials + 4
	p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: bound, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	g := gateDials(p)
	const burst = 3 * bound
	var wg sync.WaitGroup
	var peakOpen atomic.Int64
	for range burst {
		wg.Go(func() {
			pc, _, err := p.get(context.Background(), time.Time{}, false)
			if err != nil {
				t.Error(err)
				return
			}
			p.mu.Lock()
			peakOpen.Store(max(peakOpen.Load(), int64(p.open)))
			p.mu.Unlock()
			p.put(pc, true)
		})
	}
	for range maxDials {
		<-g.started
	}
	p.mu.Lock()
	dialing := p.dialing
	p.mu.Unlock()
	if dialing != maxDials {
		t.Fatalf("%d dials at once, want %d", dialing, maxDials)
	}
	close(g.release)
	wg.Wait()
	if n := peakOpen.Load(); n > bound {
		t.Fatalf("%d connections open at once, want ≤ %d", n, bound)
	}
}
