package backlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery is the JSON body a consumer POSTs to Config.DeliverTo for each
// message, once: when it is delivered, and also when it is given up on, so
// that the receiver can account for every accepted message.
//
//	{"id":17,"request_id":"42","tenant":"t1","room":"lobby","body":"hi",
//	 "status":"delivered","attempts":1,"queue":3,"lane":"fresh",
//	 "enqueued_at":"2026-11-26T19:00:00.000000001Z",
//	 "delivered_at":"2026-11-26T19:00:00.020000001Z"}
//
// status is "delivered", "expired" (dropped by the TTL), "dead_lettered"
// (moved to the dead-letter queue, after MaxDeliveries failures or on
// expiry) or "dropped" (failed MaxDeliveries times, no dead-letter queue).
// delivered_at is when the consumer sent this body (for a delivered
// message, after processing); delivered_at − enqueued_at is the message's
// age, both read from the service's clock. The request's X-Request-Id is
// also sent as a header.
type Delivery struct {
	ID          uint64    `json:"id"`
	RequestID   string    `json:"request_id"`
	Tenant      string    `json:"tenant"`
	Room        string    `json:"room,omitempty"`
	Body        string    `json:"body,omitempty"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	Queue       int       `json:"queue"`
	Lane        string    `json:"lane"`
	EnqueuedAt  time.Time `json:"enqueued_at"`
	DeliveredAt time.Time `json:"delivered_at"`
}

// Request is the JSON body of POST /api/messages. Tenant, when empty, is
// read from the X-Tenant header.
type Request struct {
	Tenant string `json:"tenant"`
	Room   string `json:"room"`
	Body   string `json:"body"`
}

// Accepted is the JSON body of a 202 answer.
type Accepted struct {
	ID uint64 `json:"id"`
}

// Options are the fixed parts of a Service: they cannot change while it
// runs.
type Options struct {
	// Consumers is the size of the consumer pool (≥ 1).
	Consumers int
	// Process is the work done for each delivery attempt before the
	// message is sent, typically a call to a dependency. A non-nil error
	// fails the attempt. nil means no work.
	Process func(ctx context.Context) error
	// Client sends deliveries. nil means a client of the Service's own,
	// with a 10 s timeout, whose idle connections Run closes on return.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the asynchronous messages route: an http.Handler for
// POST /api/messages that enqueues, and a pool of consumers (Run) that
// process and deliver. Safe for concurrent use; make one with NewService.
type Service struct {
	backlog *Backlog
	opts    Options
	client  *http.Client
	owned   *http.Transport // closed by Run when the Service made the client
	running atomic.Bool

	delivered        atomic.Uint64
	deliveryFailures atomic.Uint64
	reportFailures   atomic.Uint64
	age              prometheus.Histogram
}

// NewService returns a Service over a new Backlog made from c. It starts
// nothing: call Run for the consumers and mount the Service as a handler.
func NewService(c Config, o Options) (*Service, error) {
	if o.Consumers < 1 {
		return nil, fmt.Errorf("backlog service: consumers: %d, want ≥ 1", o.Consumers)
	}
	b, err := New(c)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{backlog: b, opts: o, client: o.Client}
	if s.client == nil {
		s.owned = &http.Transport{MaxIdleConnsPerHost: o.Consumers, IdleConnTimeout: 30 * time.Second}
		s.client = &http.Client{Transport: s.owned, Timeout: 10 * time.Second}
	}
	s.age = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "goodput_backlog_delivery_age_seconds",
		Help:    "Age of a message when it was delivered: delivery time − enqueue time.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
	})
	return s, nil
}

// Backlog returns the Service's queues.
func (s *Service) Backlog() *Backlog { return s.backlog }

// Config returns the configuration in force.
func (s *Service) Config() Config { return s.backlog.Config() }

// SetConfig validates c and puts it in force (see Backlog.SetConfig);
// consumers read DeliverTo for each message.
func (s *Service) SetConfig(c Config) error { return s.backlog.SetConfig(c) }

// ServeHTTP enqueues the message of a POST: 202 with Accepted, 429 with
// Retry-After under backpressure, 503 with Retry-After when the queue is
// full, 413 when the body exceeds MaxBodyBytes, 400 when it is not a
// Request, 405 for other methods. It reads X-Request-Id and X-Tenant.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
		return
	}
	c := s.backlog.Config()
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, c.MaxBodyBytes))
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("message body over %d bytes", tooBig.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "malformed message: want JSON {tenant, room, body}: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.Tenant == "" {
		req.Tenant = r.Header.Get("X-Tenant")
	}
	id, err := s.backlog.Enqueue(s.opts.Now(), Message{
		RequestID: r.Header.Get("X-Request-Id"),
		Tenant:    req.Tenant,
		Room:      req.Room,
		Body:      req.Body,
	})
	switch {
	case errors.Is(err, ErrBackpressure):
		w.Header().Set("Retry-After", retryAfter(time.Duration(c.RetryAfter)))
		http.Error(w, "backpressure: queue too deep or too old, retry later", http.StatusTooManyRequests)
		return
	case errors.Is(err, ErrFull):
		w.Header().Set("Retry-After", retryAfter(time.Duration(c.RetryAfter)))
		http.Error(w, "queue full, retry later", http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	// The status is sent; a failed body write only means the client left.
	_ = json.NewEncoder(w).Encode(Accepted{ID: id})
}

// retryAfter renders d as whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// Run starts the consumer pool and blocks until ctx ends and every
// consumer has stopped. A message a consumer holds when ctx ends is
// abandoned (neither delivered nor reported). Run may be called once.
func (s *Service) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("backlog service: Run called twice")
	}
	var wg sync.WaitGroup
	for range s.opts.Consumers {
		wg.Go(func() { s.consume(ctx) })
	}
	wg.Wait()
	if s.owned != nil {
		s.owned.CloseIdleConnections()
	}
	return nil
}

func (s *Service) consume(ctx context.Context) {
	for ctx.Err() == nil {
		m, v, ok := s.backlog.Pop(s.opts.Now())
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.backlog.Ready():
			}
			continue
		}
		if v != Deliver {
			s.report(ctx, m, v, 0)
			continue
		}
		s.deliver(ctx, m)
	}
}

// deliver processes and sends m, up to MaxDeliveries times, then gives up
// on it through Backlog.Fail.
func (s *Service) deliver(ctx context.Context, m Message) {
	tries := s.backlog.Config().MaxDeliveries
	for attempt := 1; attempt <= tries; attempt++ {
		err := s.process(ctx)
		if err == nil {
			now := s.opts.Now()
			err = s.send(ctx, m, Deliver, attempt, now)
			if err == nil {
				s.delivered.Add(1)
				s.age.Observe(now.Sub(m.Enqueued).Seconds())
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		s.deliveryFailures.Add(1)
	}
	s.report(ctx, m, s.backlog.Fail(m), tries)
}

func (s *Service) process(ctx context.Context) error {
	if s.opts.Process == nil {
		return nil
	}
	return s.opts.Process(ctx)
}

// report tells the delivery URL that m was given up on.
func (s *Service) report(ctx context.Context, m Message, v Verdict, attempts int) {
	if err := s.send(ctx, m, v, attempts, s.opts.Now()); err != nil && ctx.Err() == nil {
		s.reportFailures.Add(1)
	}
}

// send POSTs m's Delivery to DeliverTo; nil when DeliverTo is empty.
func (s *Service) send(ctx context.Context, m Message, v Verdict, attempts int, at time.Time) error {
	url := s.backlog.Config().DeliverTo
	if url == "" {
		return nil
	}
	body, err := json.Marshal(Delivery{
		ID: m.ID, RequestID: m.RequestID, Tenant: m.Tenant, Room: m.Room, Body: m.Body,
		Status: v.String(), Attempts: attempts, Queue: m.Queue, Lane: m.Lane.String(),
		EnqueuedAt: m.Enqueued, DeliveredAt: at,
	})
	if err != nil {
		return fmt.Errorf("encode delivery %d: %w", m.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("delivery %d to %s: %w", m.ID, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if m.RequestID != "" {
		req.Header.Set("X-Request-Id", m.RequestID)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("delivery %d: %w", m.ID, err)
	}
	defer resp.Body.Close()
	// Drain so the connection is reused; the body itself is not used.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("delivery %d to %s: status %d", m.ID, url, resp.StatusCode)
	}
	return nil
}

// AdminHandler serves the configuration as JSON: GET returns it, PUT or
// PATCH merges the fields of a JSON Config body into it (missing fields
// keep their value), validates and applies it, and returns the result
// (400 with the invalid fields otherwise).
func (s *Service) AdminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut, http.MethodPatch:
			c := s.Config()
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				http.Error(w, "backlog config: "+err.Error(), http.StatusBadRequest)
				return
			}
			if err := s.SetConfig(c); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		default:
			w.Header().Set("Allow", "GET, PUT, PATCH")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// A failed write only means the client left.
		_ = json.NewEncoder(w).Encode(s.Config())
	})
}

// Delivered returns how many messages consumers have delivered.
func (s *Service) Delivered() uint64 { return s.delivered.Load() }
