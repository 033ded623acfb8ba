package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/internal/e2e"
)

// fire sends n GET requests to url from workers goroutines and returns
// each one's status (0 for a transport error) and latency.
func fire(t *testing.T, client *http.Client, url string, n, workers int) (statuses []int, latencies []time.Duration) {
	t.Helper()
	statuses = make([]int, n)
	latencies = make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					latencies[i] = time.Since(t0)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latencies[i] = time.Since(t0)
				statuses[i] = resp.StatusCode
			}
		})
	}
	wg.Wait()
	return statuses, latencies
}

func TestProxyAbortsThirtyPercentOfKeepAliveRequests(t *testing.T) {
	r := start(t, ok, "")
	var dials atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	p := 0.3
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "flaky", Kind: "abort", Status: 503, Probability: &p}))
	statuses, _ := fire(t, client, r.data+"/api/items/1", 2000, 8)
	aborted := 0
	for _, s := range statuses {
		switch s {
		case http.StatusServiceUnavailable:
			aborted++
		case http.StatusOK:
		default:
			t.Fatalf("unexpected status %d", s)
		}
	}
	frac := float64(aborted) / 2000
	t.Logf("aborted %d of 2000 (%.1f%%) over %d connections", aborted, 100*frac, dials.Load())
	assert.InDelta(t, 0.30, frac, 0.04)
	assert.LessOrEqual(t, dials.Load(), int64(16), "the requests were sent over kept-alive connections")
}

func percentile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func TestProxyAddsLatencyWithJitter(t *testing.T) {
	// The upstream measures how long each request took to reach it from
	// the moment the client sent it (same process, same clock): the delay
	// the proxy added, plus scheduling noise, which only ever adds.
	var mu sync.Mutex
	var added []time.Duration
	r := start(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sent, err := time.Parse(time.RFC3339Nano, req.Header.Get("X-Sent"))
		if err == nil {
			mu.Lock()
			added = append(added, time.Since(sent))
			mu.Unlock()
		}
	}), "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "slow", Kind: "delay",
		Delay: dist.Duration(100 * time.Millisecond), Jitter: dist.Duration(20 * time.Millisecond)}))
	e2e.UpTo(t, 3, func() error {
		mu.Lock()
		added = nil
		mu.Unlock()
		seen := send(t, r, 200, 20)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, added, 200)
		assert.GreaterOrEqual(t, percentile(seen, 0), 100*time.Millisecond, "every client saw the delay")
		assert.GreaterOrEqual(t, percentile(added, 0), 100*time.Millisecond, "no request escapes the delay")
		p10, p50, p90 := percentile(added, 0.1), percentile(added, 0.5), percentile(added, 0.9)
		t.Logf("added latency: min %v p10 %v p50 %v p90 %v max %v; clients saw p50 %v",
			percentile(added, 0), p10, p50, p90, percentile(added, 1), percentile(seen, 0.5))
		if p50 < 100*time.Millisecond || p50 > 150*time.Millisecond {
			return fmt.Errorf("median added latency %v, want 110ms ± 40ms (delay + U(0, jitter))", p50)
		}
		if p90-p10 < 8*time.Millisecond {
			return fmt.Errorf("p90−p10 %v, want > 8ms: the jitter spreads the latencies (U(0,20ms): ≈ 16ms)", p90-p10)
		}
		return nil
	})
}

// send sends n GETs with an X-Sent stamp through the proxy from workers
// goroutines and returns the latencies the clients measured.
func send(t *testing.T, r *running, n, workers int) []time.Duration {
	var mu sync.Mutex
	var seen []time.Duration
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				req, err := http.NewRequestWithContext(t.Context(), "GET", r.data+"/", nil)
				if !assert.NoError(t, err) {
					return
				}
				req.Header.Set("X-Sent", t0.Format(time.RFC3339Nano))
				resp, err := r.client.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				seen = append(seen, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return seen
}

func TestProxyScopesFaultsByRouteMethodAndHeader(t *testing.T) {
	r := start(t, ok, "")
	ctx := t.Context()
	require.NoError(t, r.control.Add(ctx, faults.Spec{Name: "search", Kind: "abort", Status: 500, Route: "/api/search"}))
	require.NoError(t, r.control.Add(ctx, faults.Spec{Name: "posts", Kind: "abort", Status: 502, Method: "POST"}))
	require.NoError(t, r.control.Add(ctx, faults.Spec{Name: "hot", Kind: "abort", Status: 429, Header: "X-Tenant: hot"}))
	for _, tc := range []struct {
		method, path, tenant string
		want                 int
	}{
		{"GET", "/api/items/1", "", 200},
		{"GET", "/api/search?q=x", "", 500},
		{"POST", "/api/work", "", 502},
		{"GET", "/api/items/1", "hot", 429},
		{"GET", "/api/items/1", "cold", 200},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, r.data+tc.path, nil)
		require.NoError(t, err)
		if tc.tenant != "" {
			req.Header.Set("X-Tenant", tc.tenant)
		}
		resp, err := r.client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s %s tenant %q", tc.method, tc.path, tc.tenant)
	}
}

func TestProxyResetsTheConnection(t *testing.T) {
	r := start(t, ok, "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "rst", Kind: "reset"}))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(r.data + "/")
	if err == nil {
		resp.Body.Close()
	}
	assert.ErrorIs(t, err, syscall.ECONNRESET)
}

func TestProxyLimitsBandwidth(t *testing.T) {
	body := strings.Repeat("x", 20_000)
	r := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }), "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "thin", Kind: "bandwidth", BytesPerSecond: 100_000}))
	t0 := time.Now()
	resp, err := r.client.Get(r.data + "/")
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	elapsed := time.Since(t0)
	assert.Equal(t, body, string(got))
	assert.GreaterOrEqual(t, elapsed, 180*time.Millisecond, "20 kB at 100 kB/s takes 0.2 s")
	assert.Less(t, elapsed, 2*time.Second)
}

func TestProxyDelaysTheResponseAfterTheUpstreamAnswered(t *testing.T) {
	var hit atomic.Int64 // ns since t0 when the upstream was called
	var t0 time.Time
	r := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hit.Store(int64(time.Since(t0)))
		_, _ = w.Write([]byte("ok"))
	}), "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "late", Kind: "delay", Delay: dist.Duration(200 * time.Millisecond), Response: true}))
	t0 = time.Now()
	resp, err := r.client.Get(r.data + "/")
	require.NoError(t, err)
	resp.Body.Close()
	total := time.Since(t0)
	assert.GreaterOrEqual(t, total, 200*time.Millisecond)
	assert.Less(t, time.Duration(hit.Load()), 100*time.Millisecond, "the upstream was called before the delay")
}

// held serves the proxy and signals each request as it arrives, so a test
// knows a request is held by a fault.
func held(t *testing.T, p *Proxy) (url string, arrived chan struct{}) {
	arrived = make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, arrived
}

func TestProxyStallHoldsRequestsUntilTheFaultIsRemoved(t *testing.T) {
	var upstreamHits atomic.Int64
	r := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		upstreamHits.Add(1)
		_, _ = w.Write([]byte("ok"))
	}), "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "blackhole", Kind: "stall"}))
	url, arrived := held(t, r.p)
	done := make(chan int, 1)
	go func() {
		resp, err := r.client.Get(url)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-arrived
	select {
	case <-done:
		t.Fatal("answered while stalled")
	case <-time.After(50 * time.Millisecond): // a bounded look for an early answer
	}
	assert.Zero(t, upstreamHits.Load(), "not forwarded while stalled")
	require.NoError(t, r.control.Remove(t.Context(), "blackhole"))
	assert.Equal(t, http.StatusOK, <-done, "forwarded once the stall was lifted")
	assert.Equal(t, int64(1), upstreamHits.Load())
}

func TestProxyTimeoutNeverAnswers(t *testing.T) {
	r := start(t, ok, "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "void", Kind: "timeout"}))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", r.data, nil)
	require.NoError(t, err)
	t0 := time.Now()
	resp, err := r.client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the client gave up: no answer came")
	assert.GreaterOrEqual(t, time.Since(t0), 300*time.Millisecond)
}
