package target

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// serveAPI is the outermost handler of the API: it starts the request's
// timing (for Server-Timing), runs /healthz or the routes of the chain in
// force, then counts the outcome, the tenant and any wasted work, and logs
// the request at debug level.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Done()
	// One allocation for the request's timing and its response writer.
	st := &struct {
		t  timing
		tw timingWriter
	}{t: timing{start: time.Now()}}
	t, tw := &st.t, &st.tw
	*tw = timingWriter{ResponseWriter: w, t: t}
	c := s.chain.Load()
	if r.URL.Path == "/healthz" {
		s.healthz(tw, r)
		if !tw.written {
			tw.WriteHeader(http.StatusOK)
		}
		return
	}
	c.handler.ServeHTTP(tw, r)
	if !tw.written {
		tw.WriteHeader(http.StatusOK)
	}
	rm := t.route
	if rm == nil {
		rm = s.metrics.other
	}
	elapsed := time.Since(t.start)
	out := outcome(tw.status, w.Header())
	rm.outcomes[out].Inc()
	rm.duration.Observe(elapsed.Seconds())
	tenant := r.Header.Get("X-Tenant")
	s.metrics.tenants.add(tenant)
	// Work done for a client who had already gone (a dependency call or
	// CPU work that finished after the request's context ended). A request
	// that only waited and gave up did no work.
	gone := r.Context().Err() != nil
	if t.wasted {
		rm.wasted.Inc()
	}
	if c.cfg.LogRequests && s.logger.Enabled(r.Context(), slog.LevelDebug) {
		s.logger.LogAttrs(context.Background(), slog.LevelDebug, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", rm.name),
			slog.Int("status", tw.status),
			slog.String("outcome", out.String()),
			slog.Duration("duration", elapsed),
			slog.String("server_timing", tw.Header().Get("Server-Timing")),
			slog.String("request_id", r.Header.Get("X-Request-Id")),
			slog.String("attempt", r.Header.Get("X-Attempt")),
			slog.String("tenant", tenant),
			slog.Bool("client_gone", gone),
			slog.Bool("wasted", t.wasted),
			slog.Bool("deadline_exceeded", errors.Is(r.Context().Err(), context.DeadlineExceeded)),
		)
	}
}

// outcomeClass is the requests metric's outcome label.
type outcomeClass uint8

const (
	outcomeOK outcomeClass = iota
	outcomeThrottled
	outcomeShed
	outcomeTimeout
	outcomeClientError
	outcomeServerError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "throttled", "shed", "timeout", "client_error", "server_error"}

func (o outcomeClass) String() string { return outcomeNames[o] }

// outcome classifies an answer for the requests metric: ok, shed (503 from
// a defence, which says why in X-Shed-Reason), throttled (429), timeout
// (504), client_error or server_error.
func outcome(status int, h http.Header) outcomeClass {
	switch {
	case status < 400:
		return outcomeOK
	case status == http.StatusTooManyRequests:
		return outcomeThrottled
	case status == http.StatusServiceUnavailable && len(h["X-Shed-Reason"]) > 0:
		return outcomeShed
	case status == http.StatusGatewayTimeout:
		return outcomeTimeout
	case status < 500:
		return outcomeClientError
	}
	return outcomeServerError
}
