package report

import (
	"cmp"
	"container/heap"
	"slices"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// DefaultSlowest is how many of the slowest requests a report traces when
// Options.Slowest is 0.
const DefaultSlowest = 10

const (
	// maxSlowest bounds Options.Slowest.
	maxSlowest = 1000
	// pendingRequests is how many requests' non-final attempts the
	// slowest-request tracer keeps while it waits for their final record;
	// the oldest are forgotten first (their trace is then marked
	// incomplete).
	pendingRequests = 4096
	// traceAttempts is how many attempts of one request a trace keeps;
	// later ones are counted, not kept.
	traceAttempts = 16
)

// SlowRequest is one of the run's slowest requests, traced: its attempts
// on one timeline whose origin is the request's intended start.
type SlowRequest struct {
	RequestID uint64  `json:"request_id"`
	Route     string  `json:"route,omitempty"`
	Tenant    string  `json:"tenant,omitempty"`
	IntendedS float64 `json:"intended_s"` // intended start, seconds from the run's start
	LatencyMs float64 `json:"latency_ms"` // from intended start to the end of the final attempt
	Outcome   string  `json:"outcome"`    // the request's outcome: its final record's
	// AttemptsMade is the number of attempts the request made (the final
	// record's attempt number); Attempts lists those the report kept.
	AttemptsMade int            `json:"attempts_made"`
	Attempts     []TraceAttempt `json:"attempts"`
	// Incomplete is set when attempts of the request are missing from
	// Attempts: forgotten before its final record arrived (more than 4096
	// requests had attempts in flight in the stream), or past the 16 a
	// trace keeps.
	Incomplete bool `json:"incomplete,omitempty"`
}

// TraceAttempt is one attempt of a traced request. Times are milliseconds
// from the request's intended start.
type TraceAttempt struct {
	Attempt int     `json:"attempt"`
	StartMs float64 `json:"start_ms"`
	EndMs   float64 `json:"end_ms"`
	// WaitMs is the gap before this attempt: from the previous attempt's
	// end (back-off, Retry-After), or from the intended start for the
	// first attempt (generator lag). It is negative for a hedge sent while
	// the previous attempt was still in flight.
	WaitMs  float64 `json:"wait_ms"`
	Status  int     `json:"status"`
	Outcome string  `json:"outcome"`
	Final   bool    `json:"final,omitempty"`
	// ServerTiming is the service's Server-Timing split of the attempt;
	// nil when it sent none.
	ServerTiming *TraceTiming `json:"server_timing_ms,omitempty"`
}

// TraceTiming is one attempt's Server-Timing split, in milliseconds.
type TraceTiming struct {
	Queue float64 `json:"queue"`
	App   float64 `json:"app"`
	Dep   float64 `json:"dep"`
}

// trace is a candidate slow request: its final record and the attempts
// seen so far.
type trace struct {
	final    results.Result
	attempts []results.Result // including final, in arrival order; at most traceAttempts
	dropped  bool             // an attempt was not kept (traceAttempts)
}

func (t *trace) latency() time.Duration { return t.final.Latency() }

// slower orders traces: longer latency first, then lower request id, so
// the N slowest are the same whatever order the records came in.
func slower(a, b *trace) bool {
	if la, lb := a.latency(), b.latency(); la != lb {
		return la > lb
	}
	return a.final.RequestID < b.final.RequestID
}

// traceHeap is a min-heap of traces: the root is the fastest candidate,
// the first to go when a slower request arrives.
type traceHeap []*trace

func (h traceHeap) Len() int           { return len(h) }
func (h traceHeap) Less(i, j int) bool { return slower(h[j], h[i]) }
func (h traceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

// Push implements heap.Interface.
func (h *traceHeap) Push(x any) { *h = append(*h, x.(*trace)) }

// Pop implements heap.Interface.
func (h *traceHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// pendingEntry is the non-final attempts of one request, waiting for its
// final record; seq tells its ring slot apart from an older one of the same
// request.
type pendingEntry struct {
	attempts []results.Result
	dropped  bool
	seq      uint64
}

type ringSlot struct {
	id, seq uint64
}

// slowestTracer keeps the N slowest requests of a stream (by latency of
// their final record, from intended start) with their attempts, in bounded
// memory:
//
//   - a min-heap of at most N candidates (final record plus attempts), and
//     an index of them by request id, so that an attempt that arrives after
//     its request's final record (a losing hedge) still joins its trace;
//   - the non-final attempts of at most pendingRequests requests whose
//     final record has not arrived, forgotten oldest first (a FIFO ring).
//
// Each request keeps at most traceAttempts attempts, so the tracer holds
// at most (N + pendingRequests) × traceAttempts records whatever the
// stream's length. The N slowest are exact across streams added one after
// the other (request ids are unique across shards): only their attempts
// can be missing, and the trace then says so.
//
// It is not safe for concurrent use.
type slowestTracer struct {
	n       int
	heap    traceHeap
	byID    map[uint64]*trace
	pending map[uint64]*pendingEntry
	ring    []ringSlot // FIFO of pending ids, at most pendCap
	head    int        // index of the oldest slot when the ring is full
	seq     uint64
	pendCap int
}

// newSlowestTracer returns a tracer of the n slowest requests (none when
// n ≤ 0) that buffers the attempts of at most pendCap unfinished requests.
func newSlowestTracer(n, pendCap int) *slowestTracer {
	n = min(max(n, 0), maxSlowest)
	return &slowestTracer{n: n, byID: make(map[uint64]*trace), pending: make(map[uint64]*pendingEntry), pendCap: max(pendCap, 1)}
}

// add folds in one record (not an async delivery).
func (s *slowestTracer) add(r *results.Result) {
	if s.n == 0 || (r.Attempt == 0 && r.Latency() == 0) {
		return // no tracer, or a request never started: nothing to trace
	}
	if t, ok := s.byID[r.RequestID]; ok {
		// A late attempt of a request already among the slowest.
		t.keep(r)
		return
	}
	if !r.Final {
		s.buffer(r)
		return
	}
	p := s.pending[r.RequestID]
	if p != nil {
		delete(s.pending, r.RequestID)
	}
	if len(s.heap) == s.n {
		if probe := (trace{final: *r}); !slower(&probe, s.heap[0]) {
			return
		}
	}
	cand := &trace{final: *r}
	if p != nil {
		cand.attempts, cand.dropped = p.attempts, p.dropped
	}
	cand.keep(r)
	heap.Push(&s.heap, cand)
	s.byID[r.RequestID] = cand
	if len(s.heap) > s.n {
		out := heap.Pop(&s.heap).(*trace)
		delete(s.byID, out.final.RequestID)
	}
}

// keep adds an attempt to the trace, up to traceAttempts.
func (t *trace) keep(r *results.Result) {
	if len(t.attempts) >= traceAttempts {
		t.dropped = true
		return
	}
	t.attempts = append(t.attempts, *r)
}

// buffer keeps a non-final attempt until its request's final record.
func (s *slowestTracer) buffer(r *results.Result) {
	if p, ok := s.pending[r.RequestID]; ok {
		if len(p.attempts) >= traceAttempts {
			p.dropped = true
			return
		}
		p.attempts = append(p.attempts, *r)
		return
	}
	s.seq++
	slot := ringSlot{id: r.RequestID, seq: s.seq}
	if len(s.ring) < s.pendCap {
		s.ring = append(s.ring, slot)
	} else {
		old := s.ring[s.head]
		if p, ok := s.pending[old.id]; ok && p.seq == old.seq {
			delete(s.pending, old.id)
		}
		s.ring[s.head] = slot
		s.head = (s.head + 1) % s.pendCap
	}
	s.pending[r.RequestID] = &pendingEntry{attempts: []results.Result{*r}, seq: s.seq}
}

// held returns how many records the tracer holds, and bound the most it
// ever will.
func (s *slowestTracer) held() int {
	n := 0
	for _, t := range s.heap {
		n += len(t.attempts)
	}
	for _, p := range s.pending {
		n += len(p.attempts)
	}
	return n
}

func (s *slowestTracer) bound() int { return (s.n + s.pendCap) * traceAttempts }

// requests returns the traces, slowest first.
func (s *slowestTracer) requests() []SlowRequest {
	ts := slices.Clone(s.heap)
	slices.SortFunc(ts, func(a, b *trace) int {
		if slower(a, b) {
			return -1
		}
		return 1
	})
	out := make([]SlowRequest, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.request())
	}
	return out
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// request builds the trace's report: attempts in order of their start,
// with the waits between them.
func (t *trace) request() SlowRequest {
	f := &t.final
	atts := slices.Clone(t.attempts)
	slices.SortStableFunc(atts, func(a, b results.Result) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Attempt, b.Attempt))
	})
	r := SlowRequest{
		RequestID: f.RequestID, Route: f.Route, Tenant: f.Tenant,
		IntendedS: f.Intended.Seconds(), LatencyMs: msOf(f.Latency()), Outcome: f.Outcome.String(),
		AttemptsMade: int(f.Attempt), Attempts: make([]TraceAttempt, 0, len(atts)),
	}
	prevEnd := f.Intended
	for i := range atts {
		a := &atts[i]
		ta := TraceAttempt{
			Attempt: int(a.Attempt), StartMs: msOf(a.Start - f.Intended), EndMs: msOf(a.End - f.Intended),
			WaitMs: msOf(a.Start - prevEnd), Status: int(a.Status), Outcome: a.Outcome.String(), Final: a.Final,
		}
		if st := a.Timing; st != (results.ServerTiming{}) {
			ta.ServerTiming = &TraceTiming{Queue: msOf(st.Queue), App: msOf(st.App), Dep: msOf(st.Dep)}
		}
		r.Attempts = append(r.Attempts, ta)
		prevEnd = a.End
	}
	made := 0
	for i := range atts {
		made = max(made, int(atts[i].Attempt))
	}
	r.AttemptsMade = max(r.AttemptsMade, made)
	r.Incomplete = t.dropped || (f.Attempt > 0 && len(atts) < int(f.Attempt))
	return r
}

// slowestOption maps Options.Slowest to a count: 0 is the default, a
// negative value none.
func slowestOption(n int) int {
	switch {
	case n == 0:
		return DefaultSlowest
	case n < 0:
		return 0
	}
	return n
}
