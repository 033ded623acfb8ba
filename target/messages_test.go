package target

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/target/backlog"
)

// served runs s.Serve on 127.0.0.1 until the test ends, and checks that it
// returns cleanly.
func served(t *testing.T, s *Server) *testServer {
	t.Helper()
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, api, admin) }()
	client := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		cancel()
		assert.NoError(t, <-done, "Serve returns once the consumers have stopped")
	})
	return &testServer{s: s, api: "http://" + api.Addr().String(), admin: "http://" + admin.Addr().String(), client: client}
}

// deliveries is a delivery URL on 127.0.0.1 that hands each delivery to a
// channel.
func deliveries(t *testing.T) (string, <-chan backlog.Delivery) {
	t.Helper()
	ch := make(chan backlog.Delivery, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d backlog.Delivery
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			t.Errorf("receiver: %v", err)
		}
		ch <- d
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func next(t *testing.T, ch <-chan backlog.Delivery) backlog.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
		return backlog.Delivery{}
	}
}

func postMessage(t *testing.T, ts *testServer, reqID, tenant string) answer {
	t.Helper()
	return ts.do(t, "POST", ts.api+"/api/messages", strings.NewReader(`{"room":"lobby","body":"hi"}`),
		"X-Request-Id", reqID, "X-Tenant", tenant)
}

// A message is accepted with 202, processed by a call of db and POSTed to
// the delivery URL by a consumer that Serve runs.
func TestMessagesDelivered(t *testing.T) {
	url, got := deliveries(t)
	cfg := fast(t, PresetUnprotected)
	cfg.Messages.Queue.DeliverTo = url
	ts := served(t, mustNew(t, cfg))

	a := postMessage(t, ts, "42", "acme")
	require.Equal(t, http.StatusAccepted, a.status, a.body)
	var acc backlog.Accepted
	require.NoError(t, json.Unmarshal([]byte(a.body), &acc))
	assert.Regexp(t, serverTiming, a.header.Get("Server-Timing"), "behind the same wrapping as every route")

	d := next(t, got)
	assert.Equal(t, acc.ID, d.ID)
	assert.Equal(t, "42", d.RequestID)
	assert.Equal(t, "acme", d.Tenant)
	assert.Equal(t, "delivered", d.Status)
	assert.False(t, d.DeliveredAt.Before(d.EnqueuedAt))
	assert.EqualValues(t, 1, ts.s.db.Stats().Calls, "processed by one call of db")

	a = ts.do(t, "GET", ts.api+"/api/messages", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
}

// The discipline and the delivery URL change live through /admin/backlog;
// /admin/config shows the change and refuses what cannot change live.
func TestMessagesAdminLive(t *testing.T) {
	first, got1 := deliveries(t)
	second, got2 := deliveries(t)
	cfg := fast(t, PresetUnprotected)
	cfg.Messages.Consumers = 1
	cfg.Messages.Queue.DeliverTo = first
	cfg.DB.Stall = true
	ts := served(t, mustNew(t, cfg))

	// The one consumer holds message 1 in a stalled db call; 2..5 queue.
	require.Equal(t, http.StatusAccepted, postMessage(t, ts, "1", "").status)
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)
	for i := 2; i <= 5; i++ {
		require.Equal(t, http.StatusAccepted, postMessage(t, ts, strconv.Itoa(i), "").status)
	}

	a := ts.do(t, "PATCH", ts.admin+"/admin/backlog", strings.NewReader(`{"discipline":"lifo","deliver_to":"`+second+`"}`))
	require.Equal(t, http.StatusOK, a.status, a.body)
	var bc backlog.Config
	require.NoError(t, json.Unmarshal([]byte(a.body), &bc))
	assert.Equal(t, backlog.LIFO, bc.Discipline)
	assert.Equal(t, 10000, bc.Capacity, "PATCH keeps the fields it does not name")
	assert.Equal(t, backlog.LIFO, ts.s.Config().Messages.Queue.Discipline, "Config reads the live queue settings")

	lifted := ts.s.db.Config()
	lifted.Stall = false
	require.NoError(t, ts.s.db.Update(lifted))
	var order []string
	for range 5 {
		order = append(order, next(t, got2).RequestID)
	}
	assert.Equal(t, []string{"1", "5", "4", "3", "2"}, order, "the held message, then newest first, all to the new URL")
	assert.Empty(t, got1, "nothing went to the old URL")

	a = ts.do(t, "GET", ts.admin+"/admin/config", nil)
	require.Equal(t, http.StatusOK, a.status)
	var c Config
	require.NoError(t, json.Unmarshal([]byte(a.body), &c))
	assert.Equal(t, second, c.Messages.Queue.DeliverTo)

	a = ts.do(t, "PUT", ts.admin+"/admin/config", strings.NewReader(`{"messages":{"queue":{"discipline":"priority"}}}`))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, backlog.Priority, ts.s.messages.Config().Discipline, "PUT /admin/config reaches the queues")
	assert.Equal(t, second, ts.s.messages.Config().DeliverTo, "and keeps what /admin/backlog set")
	for body, field := range map[string]string{
		`{"messages":{"consumers":2}}`:            "messages.consumers",
		`{"messages":{"queue":{"queues":2}}}`:     "messages.queue.queues",
		`{"messages":{"process":"cache"}}`:        "messages.process",
		`{"messages":{"queue":{"capacity":0}}}`:   "messages.queue.capacity",
		`{"messages":{"queue":{"ttl":"-1s"}}}`:    "messages.queue.ttl",
		`{"messages":{"queue":{"nonsense":1}}}`:   "nonsense",
		`{"messages":{"queue":{"shard_size":2}}}`: "messages.queue.shard_size",
	} {
		a := ts.do(t, "PUT", ts.admin+"/admin/config", strings.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, a.status, body)
		assert.Contains(t, a.body, field, body)
	}
	a = ts.do(t, "PATCH", ts.admin+"/admin/backlog", strings.NewReader(`{"queues":3}`))
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Contains(t, a.body, "queues")
}

// /admin/backlog needs the admin token like every admin call.
func TestMessagesAdminToken(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.AdminToken = "hunter2"
	ts := start(t, cfg)
	a := ts.do(t, "GET", ts.admin+"/admin/backlog", nil)
	assert.Equal(t, http.StatusUnauthorized, a.status)
	a = ts.do(t, "PATCH", ts.admin+"/admin/backlog", strings.NewReader(`{"discipline":"lifo"}`))
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, backlog.FIFO, ts.s.messages.Config().Discipline)
	a = ts.do(t, "GET", ts.admin+"/admin/backlog", nil, "Authorization", "Bearer hunter2")
	assert.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, `"discipline":"fifo"`)
}

// The protected preset's queues refuse with backpressure (429 and
// Retry-After) past their depth, behind the route's defences.
func TestMessagesBackpressure(t *testing.T) {
	cfg := fast(t, PresetProtected)
	cfg.Messages.Queue.BackpressureDepth = 2
	cfg.Messages.Queue.Queues, cfg.Messages.Queue.ShardSize = 1, 1
	cfg.DB.Stall = true
	cfg.Messages.Consumers = 1
	ts := served(t, mustNew(t, cfg))
	require.Equal(t, http.StatusAccepted, postMessage(t, ts, "1", "a").status)
	require.Eventually(t, func() bool { return ts.s.db.Stats().InUse == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, http.StatusAccepted, postMessage(t, ts, "2", "a").status)
	require.Equal(t, http.StatusAccepted, postMessage(t, ts, "3", "a").status)
	a := postMessage(t, ts, "4", "a")
	assert.Equal(t, http.StatusTooManyRequests, a.status)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	a = ts.do(t, "POST", ts.api+"/api/messages", strings.NewReader(`{}`), "X-Timeout-Ms", "0")
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "deadline-aware admission comes first")
}

// The queues' metrics are on /metrics beside the route's.
func TestMessagesMetrics(t *testing.T) {
	url, got := deliveries(t)
	cfg := fast(t, PresetProtected)
	cfg.Messages.Queue.DeliverTo = url
	ts := served(t, mustNew(t, cfg))
	require.Equal(t, http.StatusAccepted, postMessage(t, ts, "7", "acme").status)
	next(t, got)
	require.Eventually(t, func() bool { return ts.s.messages.Delivered() == 1 }, 5*time.Second, time.Millisecond)
	m := ts.do(t, "GET", ts.admin+"/metrics", nil).body
	for _, want := range []string{
		`goodput_target_requests_total{outcome="ok",route="messages"} 1`,
		`goodput_backlog_messages_total{event="accepted"} 1`,
		`goodput_backlog_messages_total{event="delivered"} 1`,
		`goodput_backlog_depth{lane="fresh",queue="7"} 0`,
		`goodput_backlog_oldest_age_seconds{queue="0"} 0`,
		`goodput_backlog_surge_depth 0`,
		`goodput_backlog_dead_letter_depth 0`,
		`goodput_backlog_rejected_total{reason="backpressure"} 0`,
		`goodput_backlog_delivery_age_seconds_count 1`,
	} {
		assert.Contains(t, m, want)
	}
}

func TestMessagesConfigValidate(t *testing.T) {
	for _, preset := range Presets() {
		cfg, err := Preset(preset)
		require.NoError(t, err)
		assert.NoError(t, cfg.Messages.Validate(), preset)
	}
	unprotected, _ := Preset(PresetUnprotected)
	q := unprotected.Messages.Queue
	assert.Equal(t, backlog.FIFO, q.Discipline)
	assert.Zero(t, q.TTL)
	assert.Zero(t, q.BackpressureDepth)
	assert.Zero(t, q.BackpressureAge)
	assert.Zero(t, q.SurgeCapacity)
	assert.Equal(t, 1, q.Queues)
	protected, _ := Preset(PresetProtected)
	q = protected.Messages.Queue
	assert.Equal(t, backlog.Priority, q.Discipline)
	assert.Positive(t, q.TTL)
	assert.Positive(t, q.BackpressureDepth)
	assert.Greater(t, q.Queues, q.ShardSize)

	bad := MessagesConfig{Consumers: 0, Process: "cache", Queue: backlog.Config{}}
	err := Config{Messages: bad}.Messages.Validate()
	for _, field := range []string{"consumers", "process", "queue.capacity", "queue.queues"} {
		assert.ErrorContains(t, err, field)
	}
}

// BenchmarkMessagesAccept is POST /api/messages through the protected
// preset's defences into its shuffle-sharded queues, with consumers running
// (processing nothing, delivering nowhere) so the queues do not fill.
func BenchmarkMessagesAccept(b *testing.B) {
	cfg, err := Preset(PresetProtected)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Throttle.Rate, cfg.Throttle.Burst = 1e9, 1e9
	cfg.Messages.Process = processNone
	cfg.Messages.Queue.BackpressureDepth = 0
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunConsumers(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	h := s.Handler()
	body := `{"room":"lobby","body":"hello"}`
	tenants := []string{"acme", "globex", "initech", "umbrella"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/messages", strings.NewReader(body))
		req.Header.Set("X-Timeout-Ms", "1000")
		req.Header.Set("X-Tenant", tenants[i%len(tenants)])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d, want 202: %s", w.Code, w.Body)
		}
	}
}
