package shed

import (
	"net/http"
	"time"
)

// Retry-aware admission (Config.RetryAware): under overload a retry is
// refused before it takes a slot, so that the capacity goes to first
// attempts, which can still meet their client's deadline. A retry that
// follows a refusal has waited at least the Retry-After (1 s by default)
// before it arrives, so with an SLO of a second or less it is late
// whatever the service does; admitting it turns a slot that could have
// been goodput into a late success.
//
// The Shedder counts itself overloaded at now while requests wait in its
// queue, while the requests in flight are at the limit, and for
// OverloadWindow after a refusal for overload: its own (limit, queue_full,
// queue_timeout, codel, priority) or a 503 answered by the handler behind
// Middleware (a bulkhead or a dependency shedding further in). Refusals of
// retries, of requests past their deadline and of canceled requests do not
// count: they say nothing of the capacity left, and a stream of refused
// retries must not keep the Shedder overloaded.

// overloadReason reports whether a refusal for r says the service is out
// of capacity.
func overloadReason(r Reason) bool {
	switch r {
	case ReasonLimit, ReasonQueueFull, ReasonQueueTimeout, ReasonCoDel, ReasonPriority:
		return true
	}
	return false
}

// noteRefusal records, with the lock held, a refusal for r at now.
func (s *Shedder) noteRefusal(now time.Time, r Reason) {
	if overloadReason(r) && now.After(s.lastOverload) {
		s.lastOverload = now
	}
}

// overloaded reports, with the lock held, whether the Shedder is
// overloaded at now under the limit lim.
func (s *Shedder) overloaded(now time.Time, lim int) bool {
	return s.q.Len() > 0 || s.inFlight >= lim ||
		(!s.lastOverload.IsZero() && now.Sub(s.lastOverload) < s.cfg.OverloadWindow)
}

// Overloaded reports whether the Shedder counts itself overloaded at now:
// requests wait, the limit is reached, or a request was refused for
// overload (by the Shedder, or with a 503 by the handler behind
// Middleware) within the last OverloadWindow.
func (s *Shedder) Overloaded(now time.Time) bool {
	lim := s.cfg.Limiter.Limit()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overloaded(now, lim)
}

// NoteOverload tells the Shedder that the service refused a request for
// overload at now (a 503 from further in). Middleware calls it for every
// 503 its handler answers; a service that refuses work elsewhere calls it
// itself.
func (s *Shedder) NoteOverload(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteRefusal(now, ReasonLimit)
}

// statusWriter records the status its handler answered. It unwraps, so
// http.ResponseController and wrappers looking for an inner writer still
// find theirs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
