package workload

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/goodput-dev/goodput/results"
)

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
		pc, _, _, err := p.get(context.Background(), time.Time{}, true, nil)
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

// waitForWaiters waits until n requests wait in p's queue; who names them
// in the failure.
func waitForWaiters(t *testing.T, p *connPool, n int, who string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		p.mu.Lock()
		waiting := p.waiters.Len()
		p.mu.Unlock()
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited", who)
		}
	}
}

// loopbackSink accepts connections on 127.0.0.1 and reads them until they
// close.
func loopbackSink(t testing.TB) string {
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
	a, _, _, err := p.get(context.Background(), time.Time{}, false, nil)
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
		pc, reused, _, err := p.get(context.Background(), time.Time{}, false, nil)
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

// TestConnPoolADialThatFailsAfterItsWaiterWasServedFailsNoOtherRequest:
// a request served by a freed connection while its own dial is in flight
// leaves that dial to the pool, and the request that waits next is not
// handed the dial's failure. (Waiters are reused; one whose dial is in
// flight must not be. One core, so that a spare waiter is found by the
// next request, as it would be on a busy machine.)
func TestConnPoolADialThatFailsAfterItsWaiterWasServedFailsNoOtherRequest(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: 2, DialTimeout: 5 * time.Second})
	defer p.abort() // closes the busy connections too, should the test fail
	x, _, _, err := p.get(context.Background(), time.Time{}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	started, outcome := make(chan struct{}, 2), make(chan error)
	real := p.dial
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		started <- struct{}{}
		select {
		case err := <-outcome:
			if err != nil {
				return nil, err
			}
		case <-ctx.Done(): // the test failed: abort ends the dials
			return nil, ctx.Err()
		}
		return real(ctx, network, addr)
	}
	type got struct {
		pc  *pconn
		err error
	}
	get := func() <-chan got {
		done := make(chan got, 1)
		go func() {
			pc, _, _, err := p.get(context.Background(), time.Now().Add(time.Minute), false, nil)
			done <- got{pc, err}
		}()
		return done
	}
	aDone := get()
	<-started // a's dial: the pool is at its bound
	p.put(x, true)
	a := <-aDone
	if a.err != nil || a.pc != x {
		t.Fatalf("first request got %p (%v), want the freed connection %p", a.pc, a.err, x)
	}
	bDone := get()
	waitForWaiters(t, p, 1, "the second request")
	outcome <- errors.New("connection refused") // a's dial fails
	var b got
	select {
	case b = <-bDone:
		t.Fatalf("second request ended with %p, %v: the first request's dial's failure", b.pc, b.err)
	case <-started: // the pool dials for b
	}
	outcome <- nil
	if b = <-bDone; b.err != nil {
		t.Fatalf("second request failed with %v after its own dial", b.err)
	}
	p.put(a.pc, true)
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
			pc, _, _, err := p.get(context.Background(), time.Time{}, false, nil)
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

// rawHTTPServer serves HTTP/1.1 on 127.0.0.1 by hand, so that a test
// decides what each connection does: answer gets the n-th request read on
// a connection (from 0, its body read already) and the connection, and
// reports whether to keep reading it; the connection closes when it does
// not.
func rawHTTPServer(t *testing.T, answer func(n int, r *http.Request, c net.Conn) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if _, err := io.Copy(io.Discard, r.Body); err != nil {
						return
					}
					if !answer(n, r, c) {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

// dropsReusedRequests is a server that answers the first request on each
// connection (without Connection: close, so the client keeps it) and
// closes the connection on the next one after reading it, unanswered: the
// request reached the service, and a client that sends it again on
// another connection makes the service see it twice.
type dropsReusedRequests struct {
	mu      sync.Mutex
	seen    map[[2]string]int // by request id and attempt
	dropped int
}

func (s *dropsReusedRequests) answer(n int, r *http.Request, c net.Conn) bool {
	s.mu.Lock()
	s.seen[[2]string{r.Header.Get("X-Request-Id"), r.Header.Get("X-Attempt")}]++
	if n > 0 {
		s.dropped++
	}
	s.mu.Unlock()
	if n > 0 {
		return false
	}
	_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	return err == nil
}

func (s *dropsReusedRequests) start(t *testing.T) string {
	s.seen = map[[2]string]int{}
	return "http://" + rawHTTPServer(t, s.answer) + "/"
}

// TestHTTP1ClientNeverResendsAPostTheServerMayHaveSeen: a POST that fails
// on a reused connection after it was written is the attempt's failure
// (conn_error), never sent again behind the results' back; the retry
// policy's retries are attempts of their own.
func TestHTTP1ClientNeverResendsAPostTheServerMayHaveSeen(t *testing.T) {
	var srv dropsReusedRequests
	cfg := constantConfig(srv.start(t), 20, time.Second)
	cfg.Mix[0].Method = http.MethodPost
	cfg.Mix[0].Body = []byte(`{"id":{seq}}`)
	cfg.Retry.MaxAttempts = 3
	cfg.HTTP.Connections = 1
	rs := runOnce(t, cfg)
	tl := count(t, rs)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for k, n := range srv.seen {
		if n > 1 {
			t.Errorf("the server saw request %s attempt %s %d times; the results hold it once", k[0], k[1], n)
		}
	}
	connErrors := 0
	for _, r := range rs {
		if r.Attempt > 0 && r.Outcome == results.OutcomeConnError {
			connErrors++
		}
	}
	if srv.dropped == 0 {
		t.Fatal("the server closed no reused connection: the test tested nothing")
	}
	if connErrors != srv.dropped || tl.attempts != len(srv.seen) {
		t.Fatalf("%d conn_error attempts of %d recorded; the server dropped %d of %d requests it saw; want every one recorded",
			connErrors, tl.attempts, srv.dropped, len(srv.seen))
	}
}

// TestHTTP1ClientResendsAnIdempotentRequestOnAFreshConnection: a request
// that is idempotent, by its method or an Idempotency-Key header, and
// fails on a reused connection the server closed is sent again on a new
// connection, transparently.
func TestHTTP1ClientResendsAnIdempotentRequestOnAFreshConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
	}{
		{"GET", http.MethodGet, nil},
		{"PUT", http.MethodPut, nil},
		{"POST with Idempotency-Key", http.MethodPost, http.Header{"Idempotency-Key": {"k-{seq}"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv dropsReusedRequests
			cfg := constantConfig(srv.start(t), 20, time.Second)
			cfg.Mix[0].Method = tc.method
			cfg.Mix[0].Header = tc.header
			cfg.Mix[0].Body = []byte("x")
			cfg.HTTP.Connections = 1
			tl := count(t, runOnce(t, cfg))
			if tl.requests != 20 || tl.attempts != 20 || tl.finals[results.OutcomeOK] != 20 {
				t.Fatalf("%d requests, %d attempts, outcomes %v; want 20 ok in 20 attempts", tl.requests, tl.attempts, tl.finals)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.dropped == 0 {
				t.Fatal("the server closed no reused connection: the test tested nothing")
			}
		})
	}
}

// TestHTTP1ClientResendsARequestNoneOfWhoseBytesLeft: a POST whose write
// fails before its first byte left (the connection was shut for writing)
// cannot have reached the service, so it is sent again on a new
// connection.
func TestHTTP1ClientResendsARequestNoneOfWhoseBytesLeft(t *testing.T) {
	addr := rawHTTPServer(t, func(_ int, _ *http.Request, c net.Conn) bool {
		_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return err == nil
	})
	cfg := constantConfig("http://"+addr+"/", 20, 200*time.Millisecond)
	cfg.Mix[0].Method = http.MethodPost
	cfg.Mix[0].Body = []byte("x")
	cfg.HTTP.Connections = 1
	r := newRunner(t, cfg)
	var first memSink
	if err := r.Run(context.Background(), &first); err != nil {
		t.Fatal(err)
	}
	// The runner closed its idle connections; give it one whose writes
	// fail at once.
	pc := mustDial(t, addr)
	if err := pc.c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r.sender.(*fastSender).pools[0].put(pc, true)
	var second memSink
	if err := r.Run(context.Background(), &second); err != nil {
		t.Fatal(err)
	}
	if tl := count(t, second.results()); tl.attempts != 4 || tl.finals[results.OutcomeOK] != 4 {
		t.Fatalf("%d attempts, outcomes %v; want 4 ok in 4 attempts", tl.attempts, tl.finals)
	}
}

// TestHTTP1ClientFailsABodyCutShortAndNeverResendsIt: an answer whose body
// ends before its Content-Length is the attempt's conn_error, with the
// bytes that came counted, and is not sent again even when idempotent: the
// service answered it.
func TestHTTP1ClientFailsABodyCutShortAndNeverResendsIt(t *testing.T) {
	const half = 512 << 10
	var mu sync.Mutex
	seen := map[string]int{}
	cut := 0
	addr := rawHTTPServer(t, func(n int, r *http.Request, c net.Conn) bool {
		mu.Lock()
		seen[r.Header.Get("X-Request-Id")]++
		if n > 0 {
			cut++
		}
		mu.Unlock()
		if n == 0 {
			_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return err == nil
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(2*half)+"\r\n\r\n")
		_, _ = c.Write(make([]byte, half))
		return false
	})
	cfg := constantConfig("http://"+addr+"/", 20, 500*time.Millisecond)
	cfg.HTTP.Connections = 1
	rs := runOnce(t, cfg)
	tl := count(t, rs)
	mu.Lock()
	defer mu.Unlock()
	if cut == 0 {
		t.Fatal("the server cut no body short: the test tested nothing")
	}
	if tl.finals[results.OutcomeConnError] != cut || tl.finals[results.OutcomeOK] != 10-cut {
		t.Fatalf("outcomes %v; the server cut %d bodies of 10", tl.finals, cut)
	}
	for _, r := range rs {
		if r.Outcome == results.OutcomeConnError && r.BytesIn != half {
			t.Fatalf("a body cut short after %d bytes recorded %d bytes in", half, r.BytesIn)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("the server saw request %s %d times, want once", id, n)
		}
	}
}

// BenchmarkHTTP1Exchange sends a GET and drains its answer on a keep-alive
// loopback connection from the pool, against a server that answers
// without allocating: what one attempt of the HTTP/1.1 path costs.
func BenchmarkHTTP1Exchange(b *testing.B) {
	for _, size := range []int{2, 64 << 10} {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			answer := append([]byte("HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n"), make([]byte, size)...)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			defer ln.Close()
			wg.Go(func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) == 2 { // the blank line ending a GET
						if _, err := c.Write(answer); err != nil {
							return
						}
					}
				}
			})
			p := newConnPool(ln.Addr().String(), false, ClientOptions{Connections: 1, DialTimeout: 5 * time.Second})
			defer p.closeIdle()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + ln.Addr().String() + "/")
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				pc, reused, _, err := p.get(ctx, time.Time{}, false, nil)
				if err != nil {
					b.Fatal(err)
				}
				n, err := p.do(ctx, time.Time{}, pc, reused, req, resp, false, true)
				if err != nil || n != int64(size) {
					b.Fatalf("%d bytes, %v; want %d", n, err, size)
				}
			}
		})
	}
}

// TestConnPoolDialsForAResendWhenIdleConnectionsFillTheBound: a request
// that waits for a new connection (to be sent again) in a pool at its
// bound gets one, whether the connection that fills the bound was idle
// before it asked or comes back while it waits; it does not wait for its
// deadline while that connection sits idle.
func TestConnPoolDialsForAResendWhenIdleConnectionsFillTheBound(t *testing.T) {
	for _, idleFirst := range []bool{true, false} {
		t.Run("idle first "+strconv.FormatBool(idleFirst), func(t *testing.T) {
			p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: 1, DialTimeout: 5 * time.Second})
			defer p.closeIdle()
			a, _, _, err := p.get(context.Background(), time.Time{}, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			type got struct {
				pc  *pconn
				err error
			}
			done := make(chan got, 1)
			getFresh := func() {
				pc, _, _, err := p.get(context.Background(), time.Now().Add(20*time.Second), true, nil)
				done <- got{pc, err}
			}
			if idleFirst {
				p.put(a, true)
				go getFresh()
			} else {
				go getFresh()
				waitForWaiters(t, p, 1, "the fresh request")
				p.put(a, true)
			}
			b := <-done
			if b.err != nil || b.pc == a {
				t.Fatalf("got %p, %v; want a new connection (not %p)", b.pc, b.err, a)
			}
			p.put(b.pc, true)
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.open != 1 {
				t.Fatalf("%d connections open, want 1 (the bound)", p.open)
			}
		})
	}
}

// TestANewConnectionsTouchedBuffersHoldNothing: touching a new
// connection's buffers leaves them empty and sends and reads nothing; the
// connection then writes and reads through them as usual.
func TestANewConnectionsTouchedBuffersHoldNothing(t *testing.T) {
	var wire bytes.Buffer
	pc := newPconn(nil, &wire)
	if n := pc.bw.Buffered(); n != 0 || pc.bw.Available() != connBuffer {
		t.Fatalf("write buffer holds %d bytes, %d free; want 0, %d", n, pc.bw.Available(), connBuffer)
	}
	if n := pc.br.Buffered(); n != 0 {
		t.Fatalf("read buffer holds %d bytes, want 0", n)
	}
	if wire.Len() != 0 {
		t.Fatalf("touching sent %d bytes", wire.Len())
	}
	if _, err := pc.bw.WriteString("GET / HTTP/1.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := pc.bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := wire.String(); got != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("sent %q", got)
	}
	wire.Reset()
	wire.WriteString("HTTP/1.1 200 OK\r\n")
	if line, err := pc.br.ReadString('\n'); err != nil || line != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if pc.m.in != 17 || pc.m.out != 18 {
		t.Fatalf("metered %d in, %d out; want 17, 18", pc.m.in, pc.m.out)
	}
}

// BenchmarkConnPoolWaitForABusyConnection: goroutines (8 a core) take
// turns on one connection, each waiting for it with a deadline, as the
// requests of a generator at its connection bound do.
func BenchmarkConnPoolWaitForABusyConnection(b *testing.B) {
	p := newConnPool(loopbackSink(b), false, ClientOptions{Connections: 1, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pc, _, _, err := p.get(context.Background(), time.Now().Add(time.Minute), false, nil)
			if err != nil {
				b.Error(err)
				return
			}
			p.put(pc, true)
		}
	})
}
