// Package sink is the receiving end of a service's asynchronous deliveries,
// hosted by the load generator: an HTTP server that turns each delivery
// (the JSON body of target/backlog's Delivery) into a results.Result, so that
// reports can show what async users feel: how old a message is when it
// arrives, and how long after the request's intended start.
//
// How a delivery finds its request: the runner tells the sink about every
// message the service accepted (Accepted, with the 202 attempt's record),
// and the service echoes the request's X-Request-Id (a decimal uint64) in
// each delivery. That registration also lets the sink name the messages
// that never arrived: Drain, at the end of a run, waits a grace period and
// then records every accepted message still missing as undelivered.
//
// A sink record has Attempt 0 and Final false (the request's final record
// stays the generator's, the 202), RequestID, Phase, Route and Tenant of
// the request, Intended its intended start, End the arrival at the sink,
// Age the message's age at delivery by the service's clock, Start = End −
// Age (the enqueue instant as seen by the sink), and an async Outcome:
// delivered, expired, dead_lettered or undelivered. Latency() is then what
// an async user felt: from the intended start to the delivery.
//
// A delivery of a message enqueued before the run's start (left queued on
// the service by an earlier run) is not this run's: it is counted as stale
// and not recorded.
//
// It leaves out delivery authentication and ordering checks.
package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/internal/serve"
	"github.com/goodput-dev/goodput/results"
)

// Recorder receives the sink's records. The sink calls Record from one
// goroutine at a time and does not keep r after it returns.
type Recorder interface {
	Record(r *results.Result)
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(r *results.Result)

// Record calls f(r).
func (f RecorderFunc) Record(r *results.Result) { f(r) }

// Config configures a Sink.
type Config struct {
	// Start is the run's start, offset 0 of every record (results.Header.Start).
	// Deliveries of messages enqueued before it are stale: counted, not
	// recorded. That compares the service's clock (enqueued_at) with
	// this one, so a service whose clock is behind by more than the lead
	// of its first messages would have them counted stale: keep both
	// clocks synchronised (NTP) when the service runs elsewhere. The zero
	// value treats no delivery as stale.
	Start time.Time
	// Recorder receives every record. Required.
	Recorder Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxUnmatched bounds the deliveries held while waiting for their
	// Accepted call (a delivery can overtake the 202 to the client).
	// Beyond it, deliveries are recorded at once as unmatched. 0 means
	// 100 000.
	MaxUnmatched int
}

// Counts are a Sink's running totals.
type Counts struct {
	Accepted     int // Accepted calls
	Delivered    int // deliveries with status delivered
	Expired      int // status expired
	DeadLettered int // status dead_lettered
	Dropped      int // status dropped (recorded as undelivered)
	Undelivered  int // accepted messages never reported, recorded by Drain
	Unmatched    int // deliveries whose request was never registered with Accepted
	Late         int // deliveries that arrived after Drain's sweep (not recorded)
	Stale        int // deliveries of messages enqueued before Config.Start, left by an earlier run (not recorded)
	Malformed    int // bodies that were not a delivery (answered 400)
}

// delivery is the JSON body a service POSTs; see target/backlog.Delivery.
type delivery struct {
	RequestID   string    `json:"request_id"`
	Tenant      string    `json:"tenant"`
	Status      string    `json:"status"`
	EnqueuedAt  time.Time `json:"enqueued_at"`
	DeliveredAt time.Time `json:"delivered_at"`
}

// pending is what the sink knows of a request from its Accepted call.
type pending struct {
	intended    time.Duration
	route       string
	tenant      string
	phase       uint16
	outstanding int32 // accepted messages not yet reported
}

// arrival is a delivery whose request was not registered yet.
type arrival struct {
	res results.Result
}

// Sink receives deliveries over HTTP. Safe for concurrent use; make one
// with New, serve with Run, finish with Drain.
type Sink struct {
	ln      net.Listener
	srv     *http.Server
	cfg     Config
	changed chan struct{}

	mu          sync.Mutex
	pending     map[uint64]pending
	outstanding int
	early       map[uint64][]arrival
	earlyN      int
	swept       bool
	counts      Counts
	res         results.Result // reused for each record, under mu
}

// New returns a Sink that will serve on ln (typically
// net.Listen("tcp", "127.0.0.1:0")). It starts nothing.
func New(ln net.Listener, cfg Config) (*Sink, error) {
	if cfg.Recorder == nil {
		return nil, errors.New("sink: a Recorder is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxUnmatched == 0 {
		cfg.MaxUnmatched = 100000
	}
	s := &Sink{
		ln:      ln,
		cfg:     cfg,
		changed: make(chan struct{}, 1),
		pending: make(map[uint64]pending),
		early:   make(map[uint64][]arrival),
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// URL is where the service must deliver: the value for the target's
// deliver_to.
func (s *Sink) URL() string { return "http://" + s.ln.Addr().String() + "/deliveries" }

// Run serves deliveries until ctx ends, then stops the server, waiting up
// to 5 s for deliveries in flight, and returns. It closes the listener. A
// service that is still delivering then (messages of another load, or late
// ones) is cut off without an error: Drain has already swept, so those
// deliveries would only have been counted as late.
func (s *Sink) Run(ctx context.Context) error {
	if err := serve.Failures(serve.Run(ctx, 5*time.Second, nil, serve.Server{Server: s.srv, Listener: s.ln})); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	return nil
}

// Accepted registers a message the service accepted: r is the record of
// the attempt that got 202 (its RequestID, Phase, Route, Tenant and
// Intended are used). Call it once per accepted attempt; a request whose
// retries were accepted twice expects two deliveries.
func (s *Sink) Accepted(r *results.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.swept {
		return
	}
	s.counts.Accepted++
	p := s.pending[r.RequestID]
	p.intended, p.route, p.tenant, p.phase = r.Intended, r.Route, r.Tenant, r.Phase
	p.outstanding++
	s.outstanding++
	if early, ok := s.early[r.RequestID]; ok {
		delete(s.early, r.RequestID)
		s.earlyN -= len(early)
		for i := range early {
			s.match(&p, &early[i].res)
			s.cfg.Recorder.Record(&early[i].res)
		}
	}
	if p.outstanding == 0 {
		delete(s.pending, r.RequestID)
	} else {
		s.pending[r.RequestID] = p
	}
	s.signal()
}

// Observe calls Accepted for r when r is an attempt the service accepted
// (Status 202) and ignores every other record. It lets the runner's
// recording sink feed the delivery sink without knowing about it: wrap the
// runner's sink so that each Record(r) also calls Observe(r).
func (s *Sink) Observe(r *results.Result) {
	if r.Status == http.StatusAccepted {
		s.Accepted(r)
	}
}

// match fills res from the request's registration and settles one of its
// outstanding messages. Called with mu held.
func (s *Sink) match(p *pending, res *results.Result) {
	res.Intended, res.Route, res.Phase = p.intended, p.route, p.phase
	if res.Tenant == "" {
		res.Tenant = p.tenant
	}
	if p.outstanding > 0 {
		p.outstanding--
		s.outstanding--
	}
}

func (s *Sink) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// ServeHTTP takes one delivery: 204 when recorded (or late, or stale),
// 400 when the body is not a delivery, 405 for methods other than POST.
//
// A delivery of a message enqueued before Config.Start (by the service's
// clock) belongs to an earlier run that left messages queued on the same
// service: it is counted as Stale and not recorded, so it neither counts
// as this run's nor settles one of this run's messages with the same
// request id.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST deliveries", http.StatusMethodNotAllowed)
		return
	}
	arrived := s.cfg.Now()
	var d delivery
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&d)
	var id uint64
	var outcome results.Outcome
	if err == nil {
		id, err = strconv.ParseUint(d.RequestID, 10, 64)
	}
	if err == nil {
		outcome, err = parseStatus(d.Status)
	}
	if err != nil {
		s.mu.Lock()
		s.counts.Malformed++
		s.mu.Unlock()
		http.Error(w, "not a delivery: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.deliver(id, outcome, &d, arrived.Sub(s.cfg.Start))
	w.WriteHeader(http.StatusNoContent)
}

// parseStatus maps a delivery status to an outcome.
func parseStatus(status string) (results.Outcome, error) {
	switch status {
	case "delivered":
		return results.OutcomeDelivered, nil
	case "expired":
		return results.OutcomeExpired, nil
	case "dead_lettered":
		return results.OutcomeDeadLettered, nil
	case "dropped":
		return results.OutcomeUndelivered, nil
	}
	return 0, fmt.Errorf("status %q: want delivered, expired, dead_lettered or dropped", status)
}

// deliver records one delivery that arrived at offset end.
func (s *Sink) deliver(id uint64, outcome results.Outcome, d *delivery, end time.Duration) {
	age := d.DeliveredAt.Sub(d.EnqueuedAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.EnqueuedAt.Before(s.cfg.Start) {
		// Left on the service by an earlier run: its request id may
		// well be one of this run's, so it must match nothing.
		s.counts.Stale++
		return
	}
	if s.swept {
		s.counts.Late++
		return
	}
	switch outcome {
	case results.OutcomeDelivered:
		s.counts.Delivered++
	case results.OutcomeExpired:
		s.counts.Expired++
	case results.OutcomeDeadLettered:
		s.counts.DeadLettered++
	default:
		s.counts.Dropped++
	}
	s.res = results.Result{
		RequestID: id,
		Tenant:    d.Tenant,
		Start:     end - age,
		End:       end,
		Outcome:   outcome,
		Age:       age,
	}
	p, ok := s.pending[id]
	switch {
	case ok:
		s.match(&p, &s.res)
		if p.outstanding == 0 {
			delete(s.pending, id)
		} else {
			s.pending[id] = p
		}
	case s.earlyN < s.cfg.MaxUnmatched:
		s.early[id] = append(s.early[id], arrival{res: s.res})
		s.earlyN++
		return
	default:
		s.unmatched(&s.res)
	}
	s.cfg.Recorder.Record(&s.res)
	s.signal()
}

// unmatched fills in a record whose request was never registered: its
// intended start is unknown, so it is taken as the enqueue instant.
func (s *Sink) unmatched(res *results.Result) {
	res.Intended = res.Start
	s.counts.Unmatched++
}

// Drain waits until every accepted message has been reported, or grace has
// passed, or ctx ends, whichever comes first; then it records every
// accepted message still missing as undelivered (End = that instant,
// Start = End, Age = 0) and every delivery never matched by an Accepted
// call as unmatched, and returns the final counts. Deliveries after Drain
// are counted as Late and not recorded. Call it once, after the load has
// stopped and before Run's context ends.
func (s *Sink) Drain(ctx context.Context, grace time.Duration) Counts {
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for waiting := true; waiting; {
		s.mu.Lock()
		done := s.outstanding == 0
		s.mu.Unlock()
		if done {
			break
		}
		select {
		case <-ctx.Done():
			waiting = false
		case <-timer.C:
			waiting = false
		case <-s.changed:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swept = true
	end := s.cfg.Now().Sub(s.cfg.Start)
	for id, p := range s.pending {
		for range p.outstanding {
			s.res = results.Result{
				RequestID: id, Phase: p.phase, Route: p.route, Tenant: p.tenant,
				Intended: p.intended, Start: end, End: end, Outcome: results.OutcomeUndelivered,
			}
			s.cfg.Recorder.Record(&s.res)
			s.counts.Undelivered++
		}
	}
	s.pending, s.outstanding = nil, 0
	for _, list := range s.early {
		for i := range list {
			s.unmatched(&list[i].res)
			s.cfg.Recorder.Record(&list[i].res)
		}
	}
	s.early, s.earlyN = nil, 0
	return s.counts
}

// Counts returns the running totals.
func (s *Sink) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}
