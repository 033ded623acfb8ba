package shed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/internal/waitlist"
)

// Discipline is the order in which a [Shedder] serves its wait queue. The
// zero value is FIFO.
type Discipline uint8

// Queue disciplines.
const (
	// FIFO serves the oldest waiter first.
	FIFO Discipline = iota
	// LIFO serves the newest waiter first; when the queue is full the
	// oldest waiter is refused to make room for the newcomer.
	LIFO
	// CoDel is adaptive LIFO with CoDel: FIFO while the queue has been
	// empty within the last CoDelInterval, with MaxWait as the timeout;
	// otherwise (overloaded) LIFO, and waiters that have waited longer than
	// CoDelTarget are refused with ReasonCoDel: a request joining an
	// overloaded queue waits at most the target, and every arrival and
	// release while overloaded sweeps out the waiters older than it.
	CoDel
)

// String returns "fifo", "lifo" or "codel".
func (d Discipline) String() string {
	switch d {
	case FIFO:
		return "fifo"
	case LIFO:
		return "lifo"
	case CoDel:
		return "codel"
	}
	return fmt.Sprintf("discipline(%d)", uint8(d))
}

// ParseDiscipline parses "fifo", "lifo" or "codel".
func ParseDiscipline(s string) (Discipline, error) {
	for _, d := range []Discipline{FIFO, LIFO, CoDel} {
		if s == d.String() {
			return d, nil
		}
	}
	return 0, fmt.Errorf("queue discipline %q: want fifo, lifo or codel", s)
}

// Priority is a request's importance. The zero value is Critical.
type Priority uint8

// Priorities.
const (
	Critical Priority = iota
	Sheddable
)

// String returns "critical" or "sheddable".
func (p Priority) String() string {
	if p == Sheddable {
		return "sheddable"
	}
	return "critical"
}

// ParsePriority reads an X-Priority value: "sheddable" (any case) is
// Sheddable, anything else, including "", is Critical.
func ParsePriority(s string) Priority {
	if strings.EqualFold(s, "sheddable") {
		return Sheddable
	}
	return Critical
}

// Attrs is what admission knows of a request. The zero value is a critical
// first attempt whose client's deadline is unknown.
type Attrs struct {
	Priority Priority
	// Deadline is when the client gives up; zero if unknown.
	Deadline time.Time
	// Attempt is 1 for a client's first try, 2 for its first retry, …;
	// 0 means unknown and counts as a first try.
	Attempt int
}

// Defaults of [Config] fields left zero.
const (
	DefaultSheddableFraction = 0.8
	DefaultRetryAfter        = time.Second
	DefaultTimeoutHeader     = "X-Timeout-Ms"
	DefaultPriorityHeader    = "X-Priority"
	DefaultAttemptHeader     = "X-Attempt"
	DefaultOverloadWindow    = 100 * time.Millisecond
)

// Config configures a [Shedder]. It is a value; [New] validates it and
// keeps a copy, filling in the defaults of fields left zero. The zero value
// is invalid: Limiter is required.
type Config struct {
	// Limiter gives the concurrency limit. Required.
	Limiter Limiter
	// QueueSize is how many requests may wait for a slot; 0 means none
	// wait (a request over the limit is refused with ReasonLimit).
	QueueSize int
	// MaxWait is the longest a request waits in the queue before it is
	// refused with ReasonQueueTimeout. Required (> 0) when QueueSize > 0.
	MaxWait time.Duration
	// Discipline orders the queue: FIFO (the zero value), LIFO or CoDel.
	Discipline Discipline
	// CoDelTarget and CoDelInterval tune the CoDel discipline; 0 means
	// DefaultCoDelTarget (5 ms) and DefaultCoDelInterval (100 ms).
	CoDelTarget, CoDelInterval time.Duration
	// SheddableFraction: a Sheddable request is admitted only while the
	// requests in flight are fewer than SheddableFraction × limit and
	// nobody waits; it never queues. In (0, 1]; 0 means
	// DefaultSheddableFraction (0.8).
	SheddableFraction float64
	// ServiceTime is the expected service time used by the deadline check:
	// a request is refused (ReasonDeadline), on arrival or when it leaves
	// the queue, if its client will give up before ServiceTime has passed.
	// 0 means an estimate kept by the Shedder: an exponential moving
	// average (weight 1/8) of the service times of completed requests.
	ServiceTime time.Duration
	// RetryAfter is the Retry-After sent with a 503, rounded up to whole
	// seconds. 0 means DefaultRetryAfter (1 s).
	RetryAfter time.Duration
	// TimeoutHeader carries how many milliseconds the client will still
	// wait; "" means DefaultTimeoutHeader (X-Timeout-Ms).
	TimeoutHeader string
	// PriorityHeader carries "critical" or "sheddable"; "" means
	// DefaultPriorityHeader (X-Priority).
	PriorityHeader string
	// RetryAware prefers first attempts under overload: a retry
	// (Attrs.Attempt > 1) is admitted only while the Shedder is not
	// overloaded (see [Shedder.Overloaded]), and it never queues; otherwise
	// it is refused with ReasonRetry. Under overload a retry has usually
	// already cost its client the SLO (it came after a refusal and a
	// Retry-After), so the slot is worth more to a first attempt, which
	// can still succeed in time.
	RetryAware bool
	// OverloadWindow is how long after a refusal for overload (its own,
	// or a 503 answered by the handler behind Middleware) the Shedder
	// counts itself overloaded, for RetryAware. 0 means
	// DefaultOverloadWindow (100 ms).
	OverloadWindow time.Duration
	// AttemptHeader carries the attempt number (1, 2, …); "" means
	// DefaultAttemptHeader (X-Attempt). Read only when RetryAware is set.
	AttemptHeader string
	// Observer hears every admission and refusal; nil means none.
	Observer Observer
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.Limiter == nil:
		return errors.New("shed: limiter: missing")
	case c.QueueSize < 0:
		return fmt.Errorf("shed: queue_size: %d, want ≥ 0", c.QueueSize)
	case c.MaxWait < 0 || (c.QueueSize > 0 && c.MaxWait == 0):
		return fmt.Errorf("shed: max_wait: %v, want > 0 when queue_size > 0", c.MaxWait)
	case c.Discipline > CoDel:
		return fmt.Errorf("shed: discipline: %v, want fifo, lifo or codel", c.Discipline)
	case c.CoDelTarget < 0:
		return fmt.Errorf("shed: codel_target: %v, want ≥ 0", c.CoDelTarget)
	case c.CoDelInterval < 0:
		return fmt.Errorf("shed: codel_interval: %v, want ≥ 0", c.CoDelInterval)
	case c.SheddableFraction < 0 || c.SheddableFraction > 1:
		return fmt.Errorf("shed: sheddable_fraction: %v, want 0 < f ≤ 1 (0 for %v)", c.SheddableFraction, DefaultSheddableFraction)
	case c.ServiceTime < 0:
		return fmt.Errorf("shed: service_time: %v, want ≥ 0", c.ServiceTime)
	case c.RetryAfter < 0:
		return fmt.Errorf("shed: retry_after: %v, want ≥ 0", c.RetryAfter)
	case c.OverloadWindow < 0:
		return fmt.Errorf("shed: overload_window: %v, want ≥ 0", c.OverloadWindow)
	}
	return nil
}

// Shedder admits requests against a [Limiter]'s concurrency limit, with a
// bounded wait queue in front of it. Use [Shedder.Acquire] around any unit
// of work, or [Shedder.Middleware] for HTTP. Safe for concurrent use.
// Create it with [New]; the zero value is not usable.
type Shedder struct {
	cfg Config
	obs Observer

	// Pre-built header values, so a rejection allocates nothing. Shared
	// by every response: capacity 1, so an Add to them copies.
	retryAfter []string
	reasonHdr  [numReasons][]string

	mu       sync.Mutex
	inFlight int
	q        waitlist.List[*waiter]
	codel    codel
	estimate time.Duration // EWMA of service times
	// lastOverload is the latest refusal for overload (zero: none).
	lastOverload time.Time
}

// New returns a Shedder for cfg.
func New(cfg Config) (*Shedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CoDelTarget == 0 {
		cfg.CoDelTarget = DefaultCoDelTarget
	}
	if cfg.CoDelInterval == 0 {
		cfg.CoDelInterval = DefaultCoDelInterval
	}
	if cfg.SheddableFraction == 0 {
		cfg.SheddableFraction = DefaultSheddableFraction
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.TimeoutHeader == "" {
		cfg.TimeoutHeader = DefaultTimeoutHeader
	}
	if cfg.PriorityHeader == "" {
		cfg.PriorityHeader = DefaultPriorityHeader
	}
	if cfg.AttemptHeader == "" {
		cfg.AttemptHeader = DefaultAttemptHeader
	}
	if cfg.OverloadWindow == 0 {
		cfg.OverloadWindow = DefaultOverloadWindow
	}
	cfg.AttemptHeader = http.CanonicalHeaderKey(cfg.AttemptHeader)
	cfg.TimeoutHeader = http.CanonicalHeaderKey(cfg.TimeoutHeader)
	cfg.PriorityHeader = http.CanonicalHeaderKey(cfg.PriorityHeader)
	s := &Shedder{
		cfg:        cfg,
		obs:        cfg.Observer,
		retryAfter: headerValue(retryAfterSeconds(cfg.RetryAfter)),
		codel:      codel{target: cfg.CoDelTarget, interval: cfg.CoDelInterval},
	}
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	for r := ReasonLimit; r < numReasons; r++ {
		s.reasonHdr[r] = headerValue(r.String())
	}
	return s, nil
}

// headerValue returns a one-element header value of capacity 1.
func headerValue(v string) []string { return []string{v}[:1:1] }

// retryAfterSeconds renders d as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// Limit returns the limiter's current concurrency limit.
func (s *Shedder) Limit() int { return s.cfg.Limiter.Limit() }

// InFlight returns the number of admitted requests not yet released.
func (s *Shedder) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// Queued returns the number of requests waiting.
func (s *Shedder) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.Len()
}

// ServiceTime returns the service time the deadline check expects:
// Config.ServiceTime, or the running estimate (0 before any request
// completed).
func (s *Shedder) ServiceTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expected()
}

// expected is ServiceTime with the lock held.
func (s *Shedder) expected() time.Duration {
	if s.cfg.ServiceTime > 0 {
		return s.cfg.ServiceTime
	}
	return s.estimate
}

// late reports whether a client with deadline dl will have given up before
// a request started at now could finish.
func (s *Shedder) late(now, dl time.Time) bool {
	if dl.IsZero() {
		return false
	}
	left := dl.Sub(now)
	return left <= 0 || left < s.expected()
}

// Permit is an admitted request's right to run. Release it exactly once
// when the work is done. A Permit is a small value; copying it is fine, but
// only one copy may be released. The zero Permit (returned with an error)
// must not be released.
type Permit struct {
	s        *Shedder
	admitted time.Time
	wait     time.Duration
	inFlight int
}

// Wait returns how long the request waited in the queue.
func (p Permit) Wait() time.Duration { return p.wait }

// Release ends the request now; see [Permit.ReleaseAt].
func (p Permit) Release(dropped bool) { p.ReleaseAt(time.Now(), dropped) }

// ReleaseAt ends the request at now: it frees the slot, reports the service
// time to the limiter (dropped says the request ended with an overload
// signal, such as running past its deadline), and admits waiters.
func (p Permit) ReleaseAt(now time.Time, dropped bool) {
	rtt := now.Sub(p.admitted)
	p.s.cfg.Limiter.Observe(now, Sample{RTT: rtt, InFlight: p.inFlight, Dropped: dropped})
	p.s.release(now, rtt)
}

// release frees one slot at now; rtt < 0 means no sample.
func (s *Shedder) release(now time.Time, rtt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	if rtt >= 0 {
		if s.estimate == 0 {
			s.estimate = rtt
		} else {
			s.estimate += (rtt - s.estimate) / 8
		}
	}
	s.dispatch(now)
}

// Acquire admits a request that arrives now, waiting in the queue if it
// must, until it is admitted, refused, or ctx ends. On success the caller
// must release the Permit. On refusal it returns a [Reason] (an error
// matching [ErrShed]); a ctx that ends while waiting gives ReasonCanceled,
// or ReasonDeadline if its deadline passed. An immediate refusal allocates
// nothing.
func (s *Shedder) Acquire(ctx context.Context, a Attrs) (Permit, error) {
	p, r := s.acquire(ctx, time.Now(), a)
	if r != 0 {
		return p, r
	}
	return p, nil
}

// acquire is Acquire for a request arriving at now; it returns the Reason
// of a refusal, 0 on admission.
func (s *Shedder) acquire(ctx context.Context, now time.Time, a Attrs) (Permit, Reason) {
	lim := s.cfg.Limiter.Limit()
	s.mu.Lock()
	if r := s.refuse(now, a, lim); r != 0 {
		s.noteRefusal(now, r)
		s.mu.Unlock()
		s.obs.Rejected(r)
		return Permit{}, r
	}
	if s.inFlight < lim && s.q.Len() == 0 {
		s.inFlight++
		p := Permit{s: s, admitted: now, inFlight: s.inFlight}
		s.mu.Unlock()
		s.obs.Admitted(0)
		return p, 0
	}
	if s.cfg.QueueSize == 0 {
		s.noteRefusal(now, ReasonLimit)
		s.mu.Unlock()
		s.obs.Rejected(ReasonLimit)
		return Permit{}, ReasonLimit
	}
	if s.q.Len() == 0 {
		s.codel.empty(now)
	}
	if s.q.Len() >= s.cfg.QueueSize {
		if !s.newestFirst(now) {
			s.noteRefusal(now, ReasonQueueFull)
			s.mu.Unlock()
			s.obs.Rejected(ReasonQueueFull)
			return Permit{}, ReasonQueueFull
		}
		s.decide(now, s.q.PopFront(), ReasonQueueFull)
	}
	w := &waiter{enqueued: now, deadline: a.Deadline, ready: make(chan struct{}, 1)}
	w.Value = w
	s.q.PushBack(&w.Elem)
	s.dispatch(now)
	wait, timeoutReason := s.cfg.MaxWait, ReasonQueueTimeout
	if !a.Deadline.IsZero() {
		// The first instant at which late(·, a.Deadline) holds.
		if d := a.Deadline.Sub(now) - s.expected() + 1; d < wait {
			wait, timeoutReason = d, ReasonDeadline
		}
	}
	if !w.decided && s.cfg.Discipline == CoDel && s.codel.overloaded(now, s.q.Len()) {
		// Enqueued into an overloaded queue: wait at most the target, as
		// in "Fail at Scale" (the sweep in dispatch catches the rest).
		if d := s.cfg.CoDelTarget + 1; d < wait {
			wait, timeoutReason = d, ReasonCoDel
		}
	}
	decided := w.decided
	s.mu.Unlock()

	if !decided {
		t := time.NewTimer(wait)
		select {
		case <-w.ready:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		s.mu.Lock()
		if !w.decided {
			now := time.Now()
			s.q.Remove(&w.Elem)
			if s.q.Len() == 0 {
				s.codel.empty(now)
			}
			w.decided, w.reason = true, timeoutReason
			if err := ctx.Err(); err != nil {
				w.reason = ctxReason(err)
			}
			s.noteRefusal(now, w.reason)
		}
		s.mu.Unlock()
	}
	if w.reason != 0 {
		s.obs.Rejected(w.reason)
		return Permit{}, w.reason
	}
	if err := ctx.Err(); err != nil {
		// Admitted as the caller gave up: hand the slot on.
		s.release(time.Now(), -1)
		r := ctxReason(err)
		s.obs.Rejected(r)
		return Permit{}, r
	}
	wait = w.admitted.Sub(w.enqueued)
	s.obs.Admitted(wait)
	return Permit{s: s, admitted: w.admitted, wait: wait, inFlight: w.inFlight}, 0
}

// ctxReason is the refusal for a context that ended.
func ctxReason(err error) Reason {
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonDeadline
	}
	return ReasonCanceled
}

// refuse applies the checks made on arrival, with the lock held: the
// deadline, the priority and, when retry-aware, the attempt.
func (s *Shedder) refuse(now time.Time, a Attrs, lim int) Reason {
	if s.late(now, a.Deadline) {
		return ReasonDeadline
	}
	if s.cfg.RetryAware && a.Attempt > 1 && s.overloaded(now, lim) {
		return ReasonRetry
	}
	if a.Priority == Sheddable &&
		(s.q.Len() > 0 || float64(s.inFlight) >= s.cfg.SheddableFraction*float64(lim)) {
		return ReasonPriority
	}
	return 0
}

// newestFirst reports whether the queue is served newest first at now.
func (s *Shedder) newestFirst(now time.Time) bool {
	switch s.cfg.Discipline {
	case LIFO:
		return true
	case CoDel:
		return s.codel.overloaded(now, s.q.Len())
	}
	return false
}

// decide settles, at now, a waiter that has left the queue: reason 0
// admits it.
func (s *Shedder) decide(now time.Time, w *waiter, r Reason) {
	w.decided, w.reason = true, r
	s.noteRefusal(now, r)
	w.ready <- struct{}{}
}

// dispatch, with the lock held, refuses waiters that can no longer be
// served and admits waiters while there is room under the limit.
func (s *Shedder) dispatch(now time.Time) {
	newest := s.newestFirst(now)
	if newest && s.cfg.Discipline == CoDel {
		for s.q.Len() > 0 && s.codel.expired(now, s.q.Front().Value.enqueued) {
			s.decide(now, s.q.PopFront(), ReasonCoDel)
		}
	}
	for s.q.Len() > 0 && s.inFlight < s.cfg.Limiter.Limit() {
		var w *waiter
		if newest {
			w = s.q.PopBack()
		} else {
			w = s.q.PopFront()
		}
		if s.late(now, w.deadline) {
			s.decide(now, w, ReasonDeadline)
			continue
		}
		s.inFlight++
		w.admitted, w.inFlight = now, s.inFlight
		s.decide(now, w, 0)
	}
	if s.q.Len() == 0 {
		s.codel.empty(now)
	}
}
