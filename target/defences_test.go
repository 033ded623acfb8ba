package target

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/target/bulkhead"
	"github.com/goodput-dev/goodput/target/dep"
)

func TestTenantThrottle(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.Throttle = ThrottleConfig{Enabled: true, Rate: 0.001, Burst: 2, MaxTenants: 10}
	ts := start(t, cfg)
	var statuses []int
	for range 3 {
		statuses = append(statuses, ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Tenant", "noisy").status)
	}
	assert.Equal(t, []int{200, 200, 429}, statuses)
	a := ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Tenant", "noisy")
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	assert.Equal(t, 200, ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Tenant", "quiet").status, "another tenant is not throttled")
	m := ts.do(t, "GET", ts.admin+"/metrics", nil).body
	assert.Contains(t, m, `goodput_target_requests_total{outcome="throttled",route="items"} 2`)
	assert.Contains(t, m, `goodput_target_shed_total{reason="tenant_throttle"} 2`)
}

// Priority shedding: with the limit partly used, sheddable requests are
// refused while critical ones are still admitted.
func TestPriorityShedding(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Stall = true
	cfg.Admission = AdmissionConfig{Limiter: "static", Limit: 2, Priority: true, SheddableFraction: 0.5}
	ts := start(t, cfg)
	var wg sync.WaitGroup
	wg.Go(func() { ts.do(t, "GET", ts.api+"/api/items/1", nil) }) // holds 1 of 2
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)

	a := ts.do(t, "GET", ts.api+"/api/items/2", nil, "X-Priority", "sheddable")
	assert.Equal(t, 503, a.status)
	assert.Equal(t, "priority", a.header.Get("X-Shed-Reason"))

	wg.Go(func() { ts.do(t, "GET", ts.api+"/api/items/3", nil, "X-Priority", "critical") })
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 2 }, 5*time.Second, time.Millisecond,
		"a critical request is admitted")
	lifted := ts.s.db.Config()
	lifted.Stall = false
	require.NoError(t, ts.s.db.Update(lifted))
	wg.Wait()
}

// With priority shedding off, the X-Priority header is ignored.
func TestPriorityIgnoredWhenOff(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.Admission = AdmissionConfig{Limiter: "static", Limit: 2, SheddableFraction: 0.01}
	ts := start(t, cfg)
	assert.Equal(t, 200, ts.do(t, "GET", ts.api+"/api/items/2", nil, "X-Priority", "sheddable").status)
}

// Fixed workers: at most W requests run at once, each on its own worker.
func TestWorkers(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Stall = true
	cfg.Workers = WorkersConfig{Enabled: true, Workers: 2}
	var seen sync.Map
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := bulkhead.WorkerID(r.Context())
		if !ok {
			http.Error(w, "not on a worker", 500)
			return
		}
		if _, dup := seen.LoadOrStore(id, true); dup {
			http.Error(w, "worker shared", 500)
			return
		}
		w.WriteHeader(204)
	})
	s, err := New(cfg, WithRoute("probe", "GET /api/probe", probe))
	require.NoError(t, err)
	ts := startServer(t, s)

	var wg sync.WaitGroup
	wg.Go(func() { ts.do(t, "GET", ts.api+"/api/items/1", nil) })
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 204, ts.do(t, "GET", ts.api+"/api/probe", nil).status, "the second worker is free")
	wg.Go(func() { ts.do(t, "GET", ts.api+"/api/items/2", nil) })
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 2 }, 5*time.Second, time.Millisecond)
	a := ts.do(t, "GET", ts.api+"/api/probe", nil)
	assert.Equal(t, 503, a.status, "both workers busy, no wait allowed")
	assert.Equal(t, "bulkhead_full", a.header.Get("X-Shed-Reason"))
	lifted := ts.s.db.Config()
	lifted.Stall = false
	require.NoError(t, ts.s.db.Update(lifted))
	wg.Wait()
}

// A route mounted with WithRoute runs behind the defences, is counted in
// metrics, and its collector shows on /metrics.
func TestWithRouteAndCollector(t *testing.T) {
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "mounted_total", Help: "test"})
	counter.Add(3)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	cfg := fast(t, PresetProtected)
	s, err := New(cfg, WithRoute("echo", "POST /api/echo", h), WithCollector(counter))
	require.NoError(t, err)
	ts := startServer(t, s)
	a := ts.do(t, "POST", ts.api+"/api/echo", strings.NewReader("{}"), "X-Timeout-Ms", "0")
	assert.Equal(t, 503, a.status, "behind deadline-aware admission")
	a = ts.do(t, "POST", ts.api+"/api/echo", strings.NewReader("{}"))
	assert.Equal(t, 202, a.status)
	assert.Regexp(t, serverTiming, a.header.Get("Server-Timing"))
	m := ts.do(t, "GET", ts.admin+"/metrics", nil).body
	assert.Contains(t, m, "mounted_total 3")
	assert.Contains(t, m, `goodput_target_requests_total{outcome="ok",route="echo"} 1`)
	assert.Equal(t, s.db, s.Dep("db"))
	assert.Nil(t, s.Dep("cache"))

	_, err = New(cfg, WithRoute("bad", "GET /api/items/{id}", h))
	assert.ErrorContains(t, err, "conflicts", "a pattern that clashes is an error, not a panic")
}

func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := fast(t, PresetUnprotected)
	s, err := New(cfg, WithLogger(logger))
	require.NoError(t, err)
	ts := startServer(t, s)
	ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Request-Id", "r-17")
	assert.NotContains(t, buf.String(), "r-17", "off by default")

	cfg.LogRequests = true
	require.NoError(t, s.Apply(cfg))
	ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Request-Id", "r-18", "X-Attempt", "2")
	line := buf.String()
	for _, want := range []string{"level=DEBUG", "msg=request", "route=items", "status=200", "outcome=ok", "request_id=r-18", "attempt=2", "server_timing="} {
		assert.Contains(t, line, want)
	}
	assert.Equal(t, 1, strings.Count(line, "msg=request"), "one line per request")
}

// A dependency can be a real HTTP service at a URL (a fault proxy may sit
// in front of it).
func TestRemoteDependency(t *testing.T) {
	remote := startServer(t, mustNew(t, fast(t, PresetUnprotected)))
	cfg := fast(t, PresetUnprotected)
	cfg.DB = dep.Config{Pool: 4, URL: remote.api + "/healthz"}
	ts := start(t, cfg)
	a := ts.do(t, "GET", ts.api+"/api/items/5", nil)
	assert.Equal(t, 200, a.status, a.body)
	cfg.DB.URL = remote.api + "/nowhere"
	require.NoError(t, ts.s.Apply(cfg))
	a = ts.do(t, "GET", ts.api+"/api/items/5", nil)
	assert.Equal(t, 200, a.status, "a 404 from the remote is not a failure of the call (only 5xx is)")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustNew(t *testing.T, cfg Config, opts ...Option) *Server {
	t.Helper()
	s, err := New(cfg, opts...)
	require.NoError(t, err)
	return s
}

// A request refused after waiting in the admission queue reports the wait
// as queue time in Server-Timing.
func TestServerTimingOfQueuedRefusal(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Stall = true
	cfg.Admission = AdmissionConfig{Limiter: "static", Limit: 1, QueueSize: 4, MaxWait: dist.Duration(50 * time.Millisecond)}
	ts := start(t, cfg)
	var wg sync.WaitGroup
	wg.Go(func() { ts.do(t, "GET", ts.api+"/api/items/1", nil) })
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)
	a := ts.do(t, "GET", ts.api+"/api/items/2", nil)
	assert.Equal(t, 503, a.status)
	assert.Equal(t, "queue_timeout", a.header.Get("X-Shed-Reason"))
	m := regexp.MustCompile(`^queue;dur=([0-9.]+), app;dur=([0-9.]+)$`).FindStringSubmatch(a.header.Get("Server-Timing"))
	require.NotNil(t, m, a.header.Get("Server-Timing"))
	queue, _ := strconv.ParseFloat(m[1], 64)
	app, _ := strconv.ParseFloat(m[2], 64)
	assert.GreaterOrEqual(t, queue, 50.0, "waited MaxWait in the queue")
	assert.Less(t, app, queue)
	lifted := ts.s.db.Config()
	lifted.Stall = false
	require.NoError(t, ts.s.db.Update(lifted))
	wg.Wait()
}

// Wasted work: a request that holds a db slot past its client's departure
// counts; one that only waited in the queue and gave up does not.
func TestWastedWork(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Pool = 1
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(300 * time.Millisecond)}
	ts := start(t, cfg)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.api+"/api/items/1", nil)
			_, err := ts.client.Do(req)
			assert.Error(t, err)
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		return strings.Contains(ts.do(t, "GET", ts.admin+"/metrics", nil).body, `goodput_target_requests_total{outcome="timeout",route="items"} 2`)
	}, 5*time.Second, 5*time.Millisecond, "both requests ended")
	m := ts.do(t, "GET", ts.admin+"/metrics", nil).body
	assert.Contains(t, m, `goodput_target_wasted_requests_total{route="items"} 1`, "the one holding the slot")
	assert.Contains(t, m, `goodput_target_dep_wasted_calls_total{dep="db"} 1`)
}

// Reconfiguring while requests run: every request is answered by one whole
// configuration or the other (200 or a clean 503), never an error, and the
// race detector sees no shared state.
func TestApplyUnderLoad(t *testing.T) {
	cfg := fast(t, PresetProtected)
	ts := start(t, cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var answered atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := ts.do(t, "GET", ts.api+"/api/items/1", nil)
				if a.status != 200 && a.status != 503 {
					t.Errorf("status %d: %s", a.status, a.body)
					return
				}
				answered.Add(1)
			}
		})
	}
	variants := []func(c *Config){
		func(c *Config) { c.Admission = AdmissionConfig{Limiter: "none"} },
		func(c *Config) { c.Bulkheads.Enabled = false },
		func(c *Config) { c.Admission.Queue = "fifo"; c.DB.Pool = 2 },
		func(c *Config) {
			c.Workers = WorkersConfig{Enabled: true, Workers: 2, MaxWaiters: 8, MaxWait: dist.Duration(time.Second)}
		},
	}
	applied := 0
	for i := 0; answered.Load() < 400 && !t.Failed(); i++ {
		c := cfg
		variants[i%len(variants)](&c)
		require.NoError(t, ts.s.Apply(c))
		applied++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d configurations applied during %d requests", applied, answered.Load())
	require.NoError(t, ts.s.Apply(cfg))
	assert.Equal(t, cfg.DB.Pool, ts.s.db.Stats().Size)
}

// TestSlowBodyDoesNotHoldRouteCapacity is the regression test of "a slow
// request body locks a route out": in the protected preset, eight
// connections that send the headers of POST /api/work and only part of
// the body held the route's bulkhead (4 slots, 8 waiters) until they gave
// up, and every other caller got 503. The body is now read before a slot
// is taken, so another client is served.
func TestSlowBodyDoesNotHoldRouteCapacity(t *testing.T) {
	s, err := New(fast(t, PresetProtected))
	require.NoError(t, err)
	ts := startServer(t, s)
	addr := strings.TrimPrefix(ts.api, "http://")
	for range 8 {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = io.WriteString(conn, "POST /api/work HTTP/1.1\r\nHost: "+addr+
			"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"size\":")
		require.NoError(t, err)
	}
	arrived := regexp.MustCompile(`(?m)^` + metricPrefix + `in_flight\{route="work"\} 8$`)
	require.Eventually(t, func() bool { return arrived.MatchString(ts.do(t, "GET", ts.admin+"/metrics", nil).body) },
		10*time.Second, 5*time.Millisecond, "the eight slow requests never arrived")

	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Post(ts.api+"/api/work", "application/json", strings.NewReader(`{"size": 10}`))
	require.NoError(t, err, "POST /api/work beside eight slow bodies")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
}

// TestSlowBodyTimesOut: a body not received within timeouts.body is 408
// and the connection is closed.
func TestSlowBodyTimesOut(t *testing.T) {
	cfg := fast(t, PresetProtected)
	cfg.Timeouts.Body = dist.Duration(50 * time.Millisecond)
	s, err := New(cfg)
	require.NoError(t, err)
	ts := startServer(t, s)
	addr := strings.TrimPrefix(ts.api, "http://")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /api/work HTTP/1.1\r\nHost: "+addr+"\r\nContent-Length: 100\r\n\r\n{\"size\":")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "not received in full within 50ms")
	assert.True(t, resp.Close, "the connection is closed")
}

// Regression: a lease renewal re-sends the configuration in place, and each
// Apply rebuilt the admission chain, restarting its limiter and queue
// every few seconds.
func TestApplyOfTheSameConfigKeepsTheChain(t *testing.T) {
	cfg := fast(t, PresetProtected)
	s, err := New(cfg)
	require.NoError(t, err)
	before := s.chain.Load()
	require.NoError(t, s.Apply(cfg))
	assert.Same(t, before, s.chain.Load(), "an unchanged configuration keeps its chain")
	cfg.Workers.MaxWaiters++
	require.NoError(t, s.Apply(cfg))
	assert.NotSame(t, before, s.chain.Load(), "a changed one gets a new chain")
}
