package workload

import (
	"context"
	"crypto/tls"
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

// TestHTTP1ClientCountsAHugeBodyWithoutHoldingIt: a 256 MiB answer is read
// and counted a buffer at a time, not held: the test process allocates
// far less than one body (TotalAlloc bounds how much the heap can have
// grown), and the drained connection carries the next request.
func TestHTTP1ClientCountsAHugeBodyWithoutHoldingIt(t *testing.T) {
	const size = 256 << 20
	chunk := make([]byte, 64<<10)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := constantConfig(srv.URL, 1, 2*time.Second)
	cfg.Retry.AttemptTimeout = 2 * time.Minute // 256 MiB under the race detector on a loaded machine
	cfg.HTTP.Connections = 1                   // the second request waits for the first's connection
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs := runOnce(t, cfg)
	runtime.ReadMemStats(&after)
	if len(rs) != 2 {
		t.Fatalf("%d records, want 2", len(rs))
	}
	for _, r := range rs {
		if r.Outcome != results.OutcomeOK || r.BytesIn != size {
			t.Fatalf("record %+v, want ok with %d bytes in", r, size)
		}
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("%d MiB allocated for two 256 MiB answers, want < 64 MiB", alloc>>20)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 2 requests through a pool of 1, want 1 (a drained connection is reused)", n)
	}
}

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
	return newPconn(c, c)
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
		cfg.HTTP = ClientOptions{TLS: &tls.Config{InsecureSkipVerify: true}, HTTP2: tt.http2}
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

// TestAWaitForABusyConnectionIsLagNotLatency: with every connection of the
// pool busy, a request that waits for one sends its attempt when one is
// free. The wait is the generator's lag (Start − Intended), which reports
// flag, and not the service's time (End − Start); the latency still counts
// from the intended start.
func TestAWaitForABusyConnectionIsLagNotLatency(t *testing.T) {
	const serve = 30 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(serve) }))
	defer srv.Close()
	// 40 requests in 400 ms on one connection that answers one each 30 ms:
	// the last waits about 800 ms for it.
	cfg := constantConfig(srv.URL, 100, 400*time.Millisecond)
	cfg.HTTP = ClientOptions{Connections: 1}
	rs := runOnce(t, cfg)
	if tl := count(t, rs); tl.finals[results.OutcomeOK] != 40 {
		t.Fatalf("final outcomes %v, want 40 ok", tl.finals)
	}
	var lag, service time.Duration
	for _, r := range rs {
		lag = max(lag, r.Start-r.Intended)
		service = max(service, r.End-r.Start)
	}
	if lag < 400*time.Millisecond {
		t.Errorf("largest lag %v, want ≥ 400ms: the waits for the connection", lag)
	}
	if service > 10*serve {
		t.Errorf("largest attempt %v, want about %v: the waits for the connection counted as the service's", service, serve)
	}
}

// TestAGeneratorThatCannotSendOnTimeDropsRatherThanQueues: offered eight
// times what its connections carry, the generator keeps a bounded
// backlog of requests waiting to be sent (backlogFloor at this rate, and
// what arrives in backlogGrace) and records the rest as
// generator_dropped at their intended start, rather than queueing them
// all until their timeouts. The last of the backlog waits about
// (128 + 80) / 100 a second, 2.1 s; without the bound, the lag would
// grow by 7 s each second of the run.
func TestAGeneratorThatCannotSendOnTimeDropsRatherThanQueues(t *testing.T) {
	const serve = 20 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(serve) }))
	defer srv.Close()
	cfg := constantConfig(srv.URL, 800, time.Second) // 2 connections × 50 a second
	cfg.HTTP = ClientOptions{Connections: 2}
	r := newRunner(t, cfg)
	var sink memSink
	if err := r.Run(context.Background(), &sink); err != nil {
		t.Fatal(err)
	}
	rs := sink.results()
	tl := count(t, rs)
	ok, dropped := tl.finals[results.OutcomeOK], tl.finals[results.OutcomeGeneratorDropped]
	if ok < 50 || dropped < 400 || ok+dropped != 800 {
		t.Fatalf("finals %v, want ≥ 50 ok, ≥ 400 generator_dropped, and nothing else", tl.finals)
	}
	if st := r.Stats(); st.Behind != uint64(dropped) || st.Dropped != st.Behind {
		t.Fatalf("stats %+v: want every drop counted as behind (%d)", st, dropped)
	}
	var lag time.Duration
	for _, res := range rs {
		if res.Attempt > 0 {
			lag = max(lag, res.Start-res.Intended)
		}
	}
	if lag > 3*time.Second {
		t.Fatalf("largest lag %v, want < 3s: the backlog was not bounded", lag)
	}
}
