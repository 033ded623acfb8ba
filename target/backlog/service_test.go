package backlog

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/prometheus/client_golang/prometheus"
)

// receiver is a delivery URL on 127.0.0.1 that hands each Delivery to a
// channel and answers status.
func receiver(t *testing.T, status int) (string, <-chan Delivery) {
	t.Helper()
	ch := make(chan Delivery, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d Delivery
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			t.Errorf("receiver: %v", err)
		}
		if got := r.Header.Get("X-Request-Id"); got != d.RequestID {
			t.Errorf("receiver: X-Request-Id %q, body request_id %q", got, d.RequestID)
		}
		ch <- d
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// runService starts s.Run until the test ends.
func runService(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newService(t *testing.T, edit func(*Config), o Options) *Service {
	t.Helper()
	c := DefaultConfig()
	if edit != nil {
		edit(&c)
	}
	if o.Consumers == 0 {
		o.Consumers = 2
	}
	s, err := NewService(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func postMessage(t *testing.T, h http.Handler, method, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/api/messages", strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServeHTTPStatuses(t *testing.T) {
	s := newService(t, func(c *Config) {
		c.Capacity = 2
		c.BackpressureDepth = 2
		c.MaxBodyBytes = 64
		c.RetryAfter = dist.Duration(1500 * time.Millisecond)
	}, Options{})
	ok := postMessage(t, s, http.MethodPost, `{"room":"r","body":"hi"}`, map[string]string{"X-Tenant": "acme", "X-Request-Id": "42"})
	if ok.Code != http.StatusAccepted {
		t.Fatalf("POST: %d %s, want 202", ok.Code, ok.Body)
	}
	var acc Accepted
	if err := json.Unmarshal(ok.Body.Bytes(), &acc); err != nil || acc.ID != 1 {
		t.Errorf("202 body %q: want {\"id\":1}", ok.Body)
	}
	m, _, _ := s.Backlog().Pop(time.Now())
	if m.Tenant != "acme" || m.RequestID != "42" || m.Room != "r" || m.Body != "hi" {
		t.Errorf("queued %+v: want tenant acme from X-Tenant, request id 42, room r, body hi", m)
	}
	tests := []struct {
		name, method, body string
		want               int
		retryAfter         string
	}{
		{"fills the queue", http.MethodPost, `{"tenant":"a"}`, http.StatusAccepted, ""},
		{"fills the queue", http.MethodPost, `{"tenant":"a"}`, http.StatusAccepted, ""},
		{"backpressure", http.MethodPost, `{"tenant":"a"}`, http.StatusTooManyRequests, "2"},
		{"too large", http.MethodPost, `{"body":"` + strings.Repeat("x", 100) + `"}`, http.StatusRequestEntityTooLarge, ""},
		{"malformed", http.MethodPost, `{"body":`, http.StatusBadRequest, ""},
		{"wrong type", http.MethodPost, `{"body":3}`, http.StatusBadRequest, ""},
		{"method", http.MethodGet, ``, http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		w := postMessage(t, s, tt.method, tt.body, nil)
		if w.Code != tt.want || w.Header().Get("Retry-After") != tt.retryAfter {
			t.Errorf("%s: %d Retry-After %q, want %d %q", tt.name, w.Code, w.Header().Get("Retry-After"), tt.want, tt.retryAfter)
		}
	}
	// Without backpressure the same queue is full: 503.
	c := s.Config()
	c.BackpressureDepth = 0
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	if w := postMessage(t, s, http.MethodPost, `{}`, nil); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("full queue: %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestConsumersDeliver(t *testing.T) {
	url, got := receiver(t, http.StatusNoContent)
	s := newService(t, func(c *Config) { c.DeliverTo = url }, Options{})
	runService(t, s)
	before := time.Now()
	postMessage(t, s, http.MethodPost, `{"tenant":"t","room":"lobby","body":"hello"}`, map[string]string{"X-Request-Id": "7"})
	d := <-got
	if d.ID != 1 || d.RequestID != "7" || d.Tenant != "t" || d.Room != "lobby" || d.Body != "hello" ||
		d.Status != "delivered" || d.Attempts != 1 || d.Lane != "fresh" || d.EnqueuedAt.Before(before) || d.DeliveredAt.Before(d.EnqueuedAt) {
		t.Errorf("delivery %+v", d)
	}
}

func TestFailedDeliveriesDeadLetter(t *testing.T) {
	for _, dlq := range []int{1, 0} {
		url, got := receiver(t, http.StatusNoContent)
		fail := errors.New("dependency down")
		calls := make(chan struct{}, 10)
		s := newService(t, func(c *Config) {
			c.DeliverTo = url
			c.MaxDeliveries = 3
			c.DeadLetterCapacity = dlq
		}, Options{Consumers: 1, Process: func(context.Context) error { calls <- struct{}{}; return fail }})
		runService(t, s)
		postMessage(t, s, http.MethodPost, `{}`, map[string]string{"X-Request-Id": "1"})
		d := <-got
		want := map[int]string{1: "dead_lettered", 0: "dropped"}[dlq]
		if d.Status != want || d.Attempts != 3 || len(calls) != 3 {
			t.Errorf("dead_letter_capacity %d: status %q after %d attempts (%d calls), want %s after 3", dlq, d.Status, d.Attempts, len(calls), want)
		}
		if depth := s.Backlog().Stats(time.Now()).DeadLetterDepth; depth != dlq {
			t.Errorf("dead-letter depth %d, want %d", depth, dlq)
		}
	}
}

func TestExpiredMessagesReported(t *testing.T) {
	url, got := receiver(t, http.StatusNoContent)
	now := time.Now()
	var offset atomic.Int64 // the test's clock: now + offset
	s := newService(t, func(c *Config) { c.DeliverTo = url; c.TTL = dist.Duration(time.Second) },
		Options{Now: func() time.Time { return now.Add(time.Duration(offset.Load())) }})
	postMessage(t, s, http.MethodPost, `{}`, map[string]string{"X-Request-Id": "1"})
	offset.Store(int64(2 * time.Second)) // the consumers start after the TTL
	runService(t, s)
	if d := <-got; d.Status != "expired" || d.DeliveredAt.Sub(d.EnqueuedAt) != 2*time.Second {
		t.Errorf("delivery %+v: want expired at age 2s", d)
	}
}

func TestDeliverToSwitchesLive(t *testing.T) {
	first, got1 := receiver(t, http.StatusNoContent)
	second, got2 := receiver(t, http.StatusNoContent)
	s := newService(t, func(c *Config) { c.DeliverTo = first }, Options{})
	runService(t, s)
	admin := httptest.NewServer(s.AdminHandler())
	defer admin.Close()
	postMessage(t, s, http.MethodPost, `{}`, map[string]string{"X-Request-Id": "1"})
	<-got1
	req, _ := http.NewRequest(http.MethodPut, admin.URL, strings.NewReader(`{"deliver_to":"`+second+`","discipline":"lifo"}`))
	resp, err := admin.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || s.Config().Discipline != LIFO || s.Config().Capacity != DefaultConfig().Capacity {
		t.Fatalf("PUT: %d %s; config %+v: want 200, lifo, other fields kept", resp.StatusCode, body, s.Config())
	}
	postMessage(t, s, http.MethodPost, `{}`, map[string]string{"X-Request-Id": "2"})
	if d := <-got2; d.RequestID != "2" {
		t.Errorf("second receiver got %+v", d)
	}
	for _, bad := range []string{`{"capacity":0}`, `{"nope":1}`, `{"queues":3}`, `{"discipline":"random"}`} {
		req, _ := http.NewRequest(http.MethodPatch, admin.URL, strings.NewReader(bad))
		resp, err := admin.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PATCH %s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestCollectors(t *testing.T) {
	s := newService(t, func(c *Config) { c.Queues = 2; c.ShardSize = 1; c.SurgeCapacity = 5; c.Capacity = 1 }, Options{})
	for range 3 {
		postMessage(t, s, http.MethodPost, `{"tenant":"x"}`, nil)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	q := ShardOf(0, "x", 2, 1, nil)[0]
	for key, want := range map[string]float64{
		"goodput_backlog_surge_depth":                                       2,
		"goodput_backlog_depth,lane=fresh,queue=" + string(rune('0'+q)):     1,
		"goodput_backlog_depth,lane=surge,queue=" + string(rune('0'+q)):     2,
		"goodput_backlog_messages_total,event=accepted":                     3,
		"goodput_backlog_rejected_total,reason=backpressure":                0,
		"goodput_backlog_dead_letter_depth":                                 0,
		"goodput_backlog_delivery_age_seconds":                              0,
		"goodput_backlog_oldest_age_seconds,queue=" + string(rune('0'+1-q)): 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}

func TestServiceLifecycleErrors(t *testing.T) {
	if _, err := NewService(DefaultConfig(), Options{}); err == nil {
		t.Error("NewService with 0 consumers: want an error")
	}
	s := newService(t, nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Errorf("Run on a canceled context: %v", err)
	}
	if err := s.Run(ctx); err == nil {
		t.Error("second Run: want an error")
	}
}
