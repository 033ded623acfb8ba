package target

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/target/backlog"
	"github.com/goodput-dev/goodput/target/dep"
)

// LeaseHeader is the request header that puts a change made through the
// admin API under a lease: a Go duration ("30s"), 1ms..1h. See
// AdminHandler for the contract.
const LeaseHeader = "X-Lease"

// LeaseExpiresHeader is the answer header of a leased change: when the
// lease runs out unless renewed (RFC 3339 with nanoseconds, UTC).
const LeaseExpiresHeader = "X-Lease-Expires"

// maxLease bounds the X-Lease header.
const maxLease = time.Hour

// leaseTarget is what a lease protects: one resource of the admin API.
type leaseTarget struct {
	// snapshot returns the resource's state now; ok is false when there
	// is no such resource (the call will fail anyway).
	snapshot func() (state any, ok bool)
	// restore puts the resource back to base, the state before the
	// lease's first change; applied is the state its last change left.
	restore func(base, applied any) error
}

// lease is one resource's live lease.
type lease struct {
	base, applied any
	target        leaseTarget
	expires       time.Time
	timer         *time.Timer
}

// leases are the live leases of a Server's admin API, by resource
// ("deps/db", "config", "backlog"). Safe for concurrent use; the zero
// value is empty and ready.
type leases struct {
	mu sync.Mutex // serialises leased changes, renewals and expiries
	m  map[string]*lease
	// wg counts the expiry callbacks that will run or are running: one
	// for each timer that has not been stopped before it fired.
	wg     sync.WaitGroup
	closed bool
}

// leased wraps the admin handler h of resource key (a function of the
// request, "" when the call is not a change) so that its changes can be
// leased: see AdminHandler.
func (s *Server) leased(key func(*http.Request) string, target func(*http.Request) leaseTarget, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := key(r)
		if k == "" {
			h.ServeHTTP(w, r)
			return
		}
		var d time.Duration
		v := r.Header.Get(LeaseHeader)
		if v != "" {
			var err error
			if d, err = time.ParseDuration(v); err != nil || d < time.Millisecond || d > maxLease {
				httpError(w, http.StatusBadRequest, fmt.Sprintf("%s: %q, want a Go duration %v..%v", LeaseHeader, v, time.Millisecond, maxLease))
				return
			}
		}
		ls := &s.leases
		ls.mu.Lock()
		defer ls.mu.Unlock()
		t := target(r)
		old := ls.m[k]
		var base any
		if d > 0 && old == nil {
			var ok bool
			if base, ok = t.snapshot(); !ok {
				d = 0 // no such resource: h answers the error
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		if d > 0 {
			// Set before h writes its answer; removed again if h fails.
			w.Header().Set(LeaseExpiresHeader, time.Now().Add(d).UTC().Format(time.RFC3339Nano))
			sw.onHeader = func(code int) {
				if code < 200 || code > 299 {
					w.Header().Del(LeaseExpiresHeader)
				}
			}
		}
		h.ServeHTTP(sw, r)
		if sw.code < 200 || sw.code > 299 {
			return // nothing changed
		}
		switch {
		case d == 0 && old != nil:
			// An unleased change takes the resource over: no rollback.
			if old.timer.Stop() {
				ls.wg.Done()
			}
			delete(ls.m, k)
			s.logger.Info("admin lease ended by an unleased change", "resource", k)
		case d > 0 && old != nil:
			old.applied, _ = t.snapshot()
			old.expires = time.Now().Add(d)
			if !old.timer.Reset(d) {
				ls.wg.Add(1) // the fired callback ends on its own; this is the next one
			}
		case d > 0 && !ls.closed:
			applied, _ := t.snapshot()
			l := &lease{base: base, applied: applied, target: t, expires: time.Now().Add(d)}
			if ls.m == nil {
				ls.m = map[string]*lease{}
			}
			ls.m[k] = l
			ls.wg.Add(1)
			l.timer = time.AfterFunc(d, func() {
				defer ls.wg.Done()
				s.expire(k, l)
			})
			s.logger.Info("admin change leased", "resource", k, "lease", d)
		}
	})
}

// expire rolls back the change of lease l on resource k if l is still the
// resource's lease and has run out (a renewal may have raced the timer).
func (s *Server) expire(k string, l *lease) {
	ls := &s.leases
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed || ls.m[k] != l || time.Now().Before(l.expires) {
		return
	}
	delete(ls.m, k)
	if err := l.target.restore(l.base, l.applied); err != nil {
		s.logger.Error("admin lease expired: rollback failed", "resource", k, "err", err)
		return
	}
	s.logger.Warn("admin lease expired: change rolled back", "resource", k)
}

// closeLeases stops every lease's timer (the changes stay as they are) and
// waits for a rollback in progress. Leases taken afterwards never expire.
func (s *Server) closeLeases() {
	ls := &s.leases
	ls.mu.Lock()
	ls.closed = true
	for _, l := range ls.m {
		if l.timer.Stop() {
			ls.wg.Done()
		}
	}
	ls.mu.Unlock()
	ls.wg.Wait()
}

// leaseView is one lease in the answer of GET /admin/leases.
type leaseView struct {
	Expires   time.Time `json:"expires"`
	Remaining string    `json:"remaining"`
}

// adminLeases is GET /admin/leases: the live leases by resource.
func (s *Server) adminLeases(w http.ResponseWriter, _ *http.Request) {
	ls := &s.leases
	ls.mu.Lock()
	now := time.Now()
	out := make(map[string]leaseView, len(ls.m))
	for _, k := range slices.Sorted(maps.Keys(ls.m)) {
		l := ls.m[k]
		out[k] = leaseView{Expires: l.expires.UTC(), Remaining: max(l.expires.Sub(now), 0).String()}
	}
	ls.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// depLease is the lease target of PUT /admin/deps/{name}: the
// dependency's configuration.
func (s *Server) depLease(r *http.Request) leaseTarget {
	d := s.dep(r.PathValue("name"))
	return leaseTarget{
		snapshot: func() (any, bool) {
			if d == nil {
				return nil, false
			}
			return d.Config(), true
		},
		restore: func(base, _ any) error {
			return d.Update(base.(dep.Config))
		},
	}
}

// configLease is the lease target of PUT /admin/config. Its rollback
// restores every section to what it was before the lease, except the
// dependencies and the message queues, which have leases of their own:
// each of those is restored only when the leased change changed it and
// nothing has changed it since.
func (s *Server) configLease(*http.Request) leaseTarget {
	return leaseTarget{
		snapshot: func() (any, bool) { return s.live(), true },
		restore: func(b, a any) error {
			base, applied, cur := b.(Config), a.(Config), s.live()
			to := base
			to.DB, to.Search, to.Messages.Queue = cur.DB, cur.Search, cur.Messages.Queue
			if base.DB != applied.DB && cur.DB == applied.DB {
				to.DB = base.DB
			}
			if base.Search != applied.Search && cur.Search == applied.Search {
				to.Search = base.Search
			}
			if base.Messages.Queue != applied.Messages.Queue && cur.Messages.Queue == applied.Messages.Queue {
				to.Messages.Queue = base.Messages.Queue
			}
			return s.Apply(to)
		},
	}
}

// backlogLease is the lease target of PUT and PATCH /admin/backlog: the
// message queues' configuration.
func (s *Server) backlogLease(*http.Request) leaseTarget {
	return leaseTarget{
		snapshot: func() (any, bool) { return s.messages.Config(), true },
		restore:  func(base, _ any) error { return s.messages.SetConfig(base.(backlog.Config)) },
	}
}

// statusWriter records the status code its handler answers.
type statusWriter struct {
	http.ResponseWriter
	code     int
	onHeader func(code int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
		if w.onHeader != nil {
			w.onHeader(code)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
