package shed

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Middleware returns next behind admission control. For each request it:
//
//  1. reads the priority header (X-Priority), the client's remaining
//     patience from the timeout header (X-Timeout-Ms, milliseconds; a
//     missing or malformed value means unknown), measured from arrival,
//     and, when the Shedder is retry-aware, the attempt number from the
//     attempt header (X-Attempt; missing or malformed means a first try);
//  2. calls Acquire; on refusal it answers 503 Service Unavailable with
//     Retry-After and X-Shed-Reason (the [Reason]) and an empty body,
//     without reading the request body (so a client that sent
//     Expect: 100-continue never sends it) and without allocating;
//  3. on admission, sets the request context's deadline to the client's
//     deadline (when known), records the queue wait for [QueueWait], calls
//     next, and releases the permit, reporting the request as dropped to
//     the limiter when its context's deadline passed. When the Shedder is
//     retry-aware, a 503 answered by next counts as a refusal for overload
//     (see [Shedder.NoteOverload]).
func (s *Shedder) Middleware(next http.Handler) http.Handler {
	h := &shedHandler{s: s, next: next}
	h.writers.New = func() any { return new(statusWriter) }
	return h
}

type shedHandler struct {
	s       *Shedder
	next    http.Handler
	writers sync.Pool // *statusWriter, reused: admission allocates nothing of its own
}

func (h *shedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	now := time.Now()
	a := Attrs{Priority: ParsePriority(headerGet(r.Header, s.cfg.PriorityHeader))}
	if ms, err := strconv.Atoi(headerGet(r.Header, s.cfg.TimeoutHeader)); err == nil && ms >= 0 {
		a.Deadline = now.Add(time.Duration(ms) * time.Millisecond)
	}
	if v := headerGet(r.Header, s.cfg.AttemptHeader); s.cfg.RetryAware && v != "" {
		a.Attempt, _ = strconv.Atoi(v) // a missing header is a first try (and Atoi("") would allocate its error)
	}
	p, reason := s.acquire(r.Context(), now, a)
	if reason != 0 {
		hdr := w.Header()
		hdr["Retry-After"] = s.retryAfter
		hdr["X-Shed-Reason"] = s.reasonHdr[reason]
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	ctx := r.Context()
	if !a.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, a.Deadline)
		defer cancel()
	}
	ctx = context.WithValue(ctx, queueWaitKey{}, p.wait)
	if !s.cfg.RetryAware {
		h.next.ServeHTTP(w, r.WithContext(ctx))
		p.Release(errors.Is(ctx.Err(), context.DeadlineExceeded))
		return
	}
	sw := h.writers.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	h.next.ServeHTTP(sw, r.WithContext(ctx))
	end := time.Now()
	if sw.status == http.StatusServiceUnavailable {
		s.NoteOverload(end)
	}
	sw.ResponseWriter = nil
	h.writers.Put(sw)
	p.ReleaseAt(end, errors.Is(ctx.Err(), context.DeadlineExceeded))
}

// headerGet is h.Get for a canonical key, without the canonicalization.
func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

type queueWaitKey struct{}

// QueueWait returns how long the request of ctx waited in a [Shedder]'s
// queue, and whether ctx passed through [Shedder.Middleware]. A server uses
// it for Server-Timing: queue;dur=….
func QueueWait(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Value(queueWaitKey{}).(time.Duration)
	return d, ok
}

// Timeout returns a middleware giving each request at most d to run: it sets
// the request context's deadline to now + d (or keeps an earlier one, such
// as the client's). Handlers and the dependency calls they make must honour
// the context; Timeout does not write a response itself, so the handler
// decides what a timed-out request answers. Wrap each route with its own.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
