package target

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/target/dep"
)

func TestAdminToken(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.AdminToken = "s3cret"
	ts := start(t, cfg)
	for _, path := range []string{"/admin/config", "/admin/deps", "/admin/deps/db", "/metrics", "/debug/pprof/"} {
		a := ts.do(t, "GET", ts.admin+path, nil)
		assert.Equal(t, 401, a.status, path)
		a = ts.do(t, "GET", ts.admin+path, nil, "Authorization", "Bearer wrong")
		assert.Equal(t, 401, a.status, path)
		a = ts.do(t, "GET", ts.admin+path, nil, "Authorization", "Bearer s3cret")
		assert.Equal(t, 200, a.status, path)
	}
	a := ts.do(t, "PUT", ts.admin+"/admin/deps/db", strings.NewReader(`{"pool": 2}`))
	assert.Equal(t, 401, a.status)
	assert.Equal(t, 8, ts.s.db.Config().Pool, "an unauthorised PUT changes nothing")

	a = ts.do(t, "GET", ts.admin+"/admin/config", nil, "Authorization", "Bearer s3cret")
	assert.NotContains(t, a.body, "s3cret", "the token is never shown")
}

func TestServeRefusesPublicAdminWithoutToken(t *testing.T) {
	s, err := New(fast(t, PresetUnprotected))
	require.NoError(t, err)
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer api.Close()
	// A listener whose address is not loopback (it is never accepted on).
	admin := fakeAddrListener{api, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8081}}
	err = s.Serve(context.Background(), api, admin)
	assert.ErrorContains(t, err, "loopback")

	cfg := fast(t, PresetUnprotected)
	cfg.Admin = "0.0.0.0:8081"
	assert.ErrorContains(t, cfg.Validate(), "admin_token")
	cfg.AdminToken = "t"
	assert.NoError(t, cfg.Validate())
}

type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeAddrListener) Addr() net.Addr { return l.addr }

func TestAdminDeps(t *testing.T) {
	ts := start(t, fast(t, PresetUnprotected))
	a := ts.do(t, "PUT", ts.admin+"/admin/deps/db", strings.NewReader(`{"add_latency": "5ms", "pool": 3}`))
	require.Equal(t, 200, a.status, a.body)
	cfg := ts.s.db.Config()
	assert.Equal(t, 3, cfg.Pool)
	assert.Equal(t, dist.Duration(5*time.Millisecond), cfg.AddLatency)
	assert.Equal(t, dist.Duration(time.Millisecond), cfg.Latency.P50, "missing fields keep their value")

	a = ts.do(t, "PUT", ts.admin+"/admin/deps/db", strings.NewReader(`{"error_rate": 2}`))
	assert.Equal(t, 400, a.status)
	assert.Contains(t, a.body, "error_rate")

	a = ts.do(t, "PUT", ts.admin+"/admin/deps/cache", strings.NewReader(`{}`))
	assert.Equal(t, 404, a.status)
	assert.Contains(t, a.body, "db, search")

	a = ts.do(t, "GET", ts.admin+"/admin/deps", nil)
	require.Equal(t, 200, a.status)
	var all map[string]struct {
		Config dep.Config `json:"config"`
		Stats  dep.Stats  `json:"stats"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &all))
	assert.Equal(t, 3, all["db"].Stats.Size)
	assert.Contains(t, all, "search")

	// The dependency's new latency shows in Server-Timing.
	a = ts.do(t, "GET", ts.api+"/api/items/1", nil)
	require.Equal(t, 200, a.status)
	assert.Regexp(t, `db;dur=(5\.|6\.|[7-9]\.|[1-9][0-9])`, a.header.Get("Server-Timing"))
}

// Switching defences live: a static limit of 1 without a queue sheds the
// second of two concurrent requests; switching back serves both.
func TestLiveReconfig(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(300 * time.Millisecond)}
	ts := start(t, cfg)

	concurrentStatuses := func() []int {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range statuses {
			wg.Go(func() { statuses[i] = ts.do(t, "GET", ts.api+"/api/items/1", nil).status })
		}
		wg.Wait()
		return statuses
	}
	assert.Equal(t, []int{200, 200}, concurrentStatuses())

	a := ts.do(t, "PUT", ts.admin+"/admin/config", strings.NewReader(`{"admission": {"limiter": "static", "limit": 1}}`))
	require.Equal(t, 200, a.status, a.body)
	var got Config
	require.NoError(t, json.Unmarshal([]byte(a.body), &got))
	assert.Equal(t, "static", got.Admission.Limiter)
	assert.Equal(t, time.Duration(300*time.Millisecond), time.Duration(got.DB.Latency.P50), "untouched sections keep their value")
	assert.ElementsMatch(t, []int{200, 503}, concurrentStatuses())

	for body, field := range map[string]string{
		`{"admission": {"limiter": "magic"}}`:       "admission.limiter",
		`{"admission": {"limit": 0}}`:               "admission.limit",
		`{"listen": "127.0.0.1:1"}`:                 "listen",
		`{"bulkheads": {"db": {"max_waiters": 3}}}`: "bulkheads.db.max_wait",
		`{"no_such_section": {}}`:                   "no_such_section",
		`{"db": {"pool": 0}}`:                       "db.pool",
	} {
		a := ts.do(t, "PUT", ts.admin+"/admin/config", strings.NewReader(body))
		assert.Equal(t, 400, a.status, body)
		assert.Contains(t, a.body, field, body)
	}
	assert.Equal(t, "static", ts.s.Config().Admission.Limiter, "a rejected PUT changes nothing")

	a = ts.do(t, "PUT", ts.admin+"/admin/config", strings.NewReader(`{"admission": {"limiter": "none"}}`))
	require.Equal(t, 200, a.status, a.body)
	assert.Equal(t, []int{200, 200}, concurrentStatuses())
}

func TestMetrics(t *testing.T) {
	cfg := fast(t, PresetProtected)
	ts := start(t, cfg)
	ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Tenant", "acme")
	ts.do(t, "GET", ts.api+"/api/items/x", nil, "X-Tenant", "acme")
	a := ts.do(t, "GET", ts.admin+"/metrics", nil)
	require.Equal(t, 200, a.status)
	for _, want := range []string{
		`goodput_target_requests_total{outcome="ok",route="items"} 1`,
		`goodput_target_requests_total{outcome="client_error",route="items"} 1`,
		`goodput_target_in_flight{route="items"} 0`,
		`goodput_target_queue_wait_seconds_count{queue="admission"} 2`,
		`goodput_target_shed_total{reason="codel"} 0`,
		`goodput_target_limit{limiter="admission"} 64`,
		`goodput_target_limit{limiter="dep_db"} 8`,
		`goodput_target_dep_pool_in_use{dep="db"} 0`,
		`goodput_target_dep_pool_size{dep="search"} 4`,
		`goodput_target_dep_wasted_calls_total{dep="db"} 0`,
		`goodput_target_tenant_requests{tenant="acme"} 2`,
		`goodput_target_request_duration_seconds_count{route="items"} 2`,
		`go_goroutines`,
	} {
		assert.Contains(t, a.body, want)
	}
}

// Space-Saving keeps every tenant above N/k requests, whatever the number
// of one-off tenants, in k counters.
func TestTopTenantsIsBounded(t *testing.T) {
	k := newTopK(5)
	for i := range 1000 {
		k.add("big")
		if i%5 < 3 {
			k.add("mid")
		}
		k.add(fmt.Sprintf("one-off-%d", i))
	}
	top := k.top()
	assert.Len(t, top, 5)
	assert.Equal(t, "big", top[0].name)
	assert.GreaterOrEqual(t, top[0].count, uint64(1000))
	assert.Equal(t, "mid", top[1].name)
	assert.GreaterOrEqual(t, top[1].count, uint64(600))
	k.add(strings.Repeat("x", 500))
	k.add("")
	for _, tc := range k.top() {
		assert.LessOrEqual(t, len(tc.name), maxTenantName)
	}
}

// Shutdown lets requests in flight finish, then Serve returns.
func TestGracefulDrain(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(300 * time.Millisecond)}
	s, err := New(cfg)
	require.NoError(t, err)
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, api, admin) }()

	client := &http.Client{}
	defer client.CloseIdleConnections()
	status := make(chan int, 1)
	go func() {
		resp, err := client.Get("http://" + api.Addr().String() + "/api/items/1")
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	assert.Equal(t, 200, <-status, "the request in flight finished")
	assert.NoError(t, <-served)
	_, err = net.Dial("tcp", api.Addr().String())
	assert.Error(t, err, "the listener is closed")
}

// A request that does not finish within the drain timeout is cut off, and
// Serve still returns within the bound.
func TestDrainIsBounded(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.DB.Stall = true
	cfg.DrainTimeout = dist.Duration(200 * time.Millisecond)
	s, err := New(cfg)
	require.NoError(t, err)
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, api, nil) }()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := client.Get("http://" + api.Addr().String() + "/api/items/1"); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		assert.ErrorContains(t, err, "drain")
		assert.Less(t, time.Since(start), 5*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its drain timeout")
	}
	<-done
}

func TestDecodeYAML(t *testing.T) {
	base, err := Preset(PresetUnprotected)
	require.NoError(t, err)
	cfg, err := DecodeYAML(base, false, "t.yaml", []byte("preset: protected\ndb:\n  pool: 16\nadmission:\n  queue: lifo\n"))
	require.NoError(t, err)
	assert.Equal(t, PresetProtected, cfg.Preset)
	assert.Equal(t, "gradient", cfg.Admission.Limiter, "the file's preset is the base")
	assert.Equal(t, "lifo", cfg.Admission.Queue)
	assert.Equal(t, 16, cfg.DB.Pool)
	assert.Equal(t, time.Duration(20*time.Millisecond), time.Duration(cfg.DB.Latency.P50), "fields left out keep their value")

	cfg, err = DecodeYAML(base, true, "t.yaml", []byte("preset: protected\n"))
	require.NoError(t, err)
	assert.Equal(t, "none", cfg.Admission.Limiter, "a preset given on the command line wins")

	cfg, err = DecodeYAML(base, false, "empty.yaml", nil)
	require.NoError(t, err)
	assert.Equal(t, base, cfg)

	for body, want := range map[string]string{
		"db:\n  pools: 3\n":                `"pools"`,
		"db:\n  pool: many\n":              "pool",
		"admission:\n  limiter: magic\n":   "admission.limiter",
		"db:\n  latency:\n    p50: soon\n": "soon",
		"preset: armoured\n":               "armoured",
		"bulkheads:\n  routes:\n    items:\n      max_concurrent: -1\n": "bulkheads.routes.items.max_concurrent",
	} {
		_, err := DecodeYAML(base, false, "bad.yaml", []byte(body))
		if assert.Error(t, err, body) {
			assert.Contains(t, err.Error(), want, body)
			assert.Contains(t, err.Error(), "bad.yaml", body)
		}
	}
}

func TestAdminAddress(t *testing.T) {
	for _, tt := range []struct{ listen, admin, want string }{
		{"127.0.0.1:8080", "", "127.0.0.1:8081"},
		{"127.0.0.1:0", "", "127.0.0.1:0"},
		{"127.0.0.1:8080", "127.0.0.1:9000", "127.0.0.1:9000"},
		{"nonsense", "", "127.0.0.1:0"},
	} {
		assert.Equal(t, tt.want, Config{Listen: tt.listen, Admin: tt.admin}.AdminAddress())
	}
}

// Deadline awareness: a request whose client has already given up is
// dropped before any work; the unprotected preset serves it anyway.
func TestDeadlineAwareness(t *testing.T) {
	for preset, want := range map[string]int{PresetProtected: 503, PresetUnprotected: 200} {
		ts := start(t, fast(t, preset))
		a := ts.do(t, "GET", ts.api+"/api/items/1", nil, "X-Timeout-Ms", "0")
		assert.Equal(t, want, a.status, preset)
		if want == 503 {
			assert.Equal(t, "deadline", a.header.Get("X-Shed-Reason"))
			assert.NotEmpty(t, a.header.Get("Retry-After"))
			assert.Zero(t, ts.s.db.Stats().Calls, "no work was done")
		}
	}
}

// Serve speaks HTTP/2 with prior knowledge (h2c) beside HTTP/1.1.
func TestServeSpeaksH2C(t *testing.T) {
	s, err := New(fast(t, PresetProtected))
	require.NoError(t, err)
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, api, nil) }()

	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &h2c}
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://" + api.Addr().String() + "/api/items/3")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 2, resp.ProtoMajor)
	assert.Contains(t, resp.Header.Get("Server-Timing"), "db;dur=")

	resp, err = http.Get("http://" + api.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 1, resp.ProtoMajor, "HTTP/1.1 still works")
	tr.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	cancel()
	assert.NoError(t, <-served)
}

// TestAdminRefusesAbsurdValues is the regression test of "one admin call
// crashes the target": workers: 10¹² made it allocate a terabyte. Every
// numeric knob has a range; a value outside it is a 400 naming the field
// and the range, and the target goes on serving.
func TestAdminRefusesAbsurdValues(t *testing.T) {
	ts := start(t, fast(t, PresetProtected))
	tests := []struct {
		path, body string
		want       string // the field and its range
	}{
		{"/admin/config", `{"workers": {"enabled": true, "workers": 1000000000000, "max_waiters": 0}}`, "workers.workers: 1000000000000, want 1..10000"},
		{"/admin/config", `{"workers": {"enabled": true, "workers": 4, "max_waiters": 1000000000000, "max_wait": "1s"}}`, "workers.max_waiters: 1000000000000, want 0..100000"},
		{"/admin/config", `{"list": {"max_page_size": 1000000000}}`, "list.max_page_size: 1000000000, want 1..100000"},
		{"/admin/config", `{"list": {"scan_budget": 1000000000}}`, "list.scan_budget: 1000000000, want 1..10000000"},
		{"/admin/config", `{"throttle": {"max_tenants": 1000000000000}}`, "throttle.max_tenants: 1000000000000, want 1..100000"},
		{"/admin/config", `{"admission": {"queue_size": 1000000000000}}`, "admission.queue_size: 1000000000000, want 0..100000"},
		{"/admin/config", `{"bulkheads": {"routes": {"work": {"max_concurrent": 1000000000000}}}}`, "bulkheads.routes.work.max_concurrent: 1000000000000, want 0..10000"},
		{"/admin/config", `{"work": {"max_body_bytes": 1000000000000}}`, "work.max_body_bytes: 1000000000000, want 16..16777216"},
		{"/admin/config", `{"timeouts": {"work": "1000h"}}`, "timeouts.work: 1000h0m0s, want 0..10m0s"},
		{"/admin/config", `{"db": {"pool": 1000000000000}}`, "db.pool: 1000000000000, want 1..10000"},
		{"/admin/config", `{"messages": {"queue": {"capacity": 1000000000000}}}`, "messages.queue.capacity: 1000000000000, want 1..1000000"},
		{"/admin/deps/db", `{"pool": 1000000000000}`, "pool: 1000000000000, want 1..10000"},
		{"/admin/deps/search", `{"add_latency": "10000h"}`, "add_latency: 10000h0m0s, want 0..1h0m0s"},
		{"/admin/backlog", `{"dead_letter_capacity": 1000000000000}`, "dead_letter_capacity: 1000000000000, want 0..1000000"},
	}
	for _, tt := range tests {
		a := ts.do(t, "PUT", ts.admin+tt.path, strings.NewReader(tt.body))
		assert.Equal(t, http.StatusBadRequest, a.status, "%s %s: %s", tt.path, tt.body, a.body)
		assert.Contains(t, a.body, tt.want, "%s %s", tt.path, tt.body)
	}
	a := ts.do(t, "GET", ts.api+"/api/items/7", nil)
	assert.Equal(t, http.StatusOK, a.status, "the target still serves: %s", a.body)
	cfg := ts.s.Config()
	assert.False(t, cfg.Workers.Enabled, "nothing refused was applied")
	assert.Equal(t, 100, cfg.List.MaxPageSize)
}

// TestDecodeYAMLRefusesDeepNesting is the regression test of an 80 KB
// file of "[[[[…" that took 10 s and 2.5 GB to refuse: it is refused
// before decoding, naming the file, line and column.
func TestDecodeYAMLRefusesDeepNesting(t *testing.T) {
	base := fast(t, PresetUnprotected)
	for _, tt := range []struct {
		name, data, want string
	}{
		{"flow", "db:\n  pool: 4\nlist: " + strings.Repeat("[", 80<<10), "deep.yaml: line 3, column 70: nested more than 64 levels deep"},
		{"block", "db:\n  pool: 4\n" + strings.Repeat("- ", 40<<10), "deep.yaml: line 3, column 129: nested more than 64 levels deep"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeYAML(base, false, "deep.yaml", []byte(tt.data))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	// Sensible nesting is still read.
	cfg, err := DecodeYAML(base, false, "ok.yaml", []byte("bulkheads:\n  routes:\n    work: {max_concurrent: 2}\n"))
	require.NoError(t, err)
	assert.Equal(t, 2, cfg.Bulkheads.Routes.Work.MaxConcurrent)
}
