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
		t.route = routeHealth
		s.healthz(tw, r)
	} else {
		c.handler.ServeHTTP(tw, r.WithContext(withTiming(r.Context(), t)))
	}
	if !tw.written {
		tw.WriteHeader(http.StatusOK)
	}
	if t.route == routeHealth {
		return
	}
	route := t.route
	if route == "" {
		route = routeOther
	}
	elapsed := time.Since(t.start)
	out := outcome(tw.status, w.Header())
	m := s.metrics
	m.requests.WithLabelValues(route, out).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
	tenant := r.Header.Get("X-Tenant")
	m.tenants.add(tenant)
	// Work done for a client who had already gone (a dependency call or
	// CPU work that finished after the request's context ended). A request
	// that only waited and gave up did no work.
	gone := r.Context().Err() != nil
	if t.wasted {
		m.wasted.WithLabelValues(route).Inc()
	}
	if c.cfg.LogRequests && s.logger.Enabled(r.Context(), slog.LevelDebug) {
		s.logger.LogAttrs(context.Background(), slog.LevelDebug, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", tw.status),
			slog.String("outcome", out),
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

// outcome classifies an answer for the requests metric: ok, shed (503 from
// a defence, which says why in X-Shed-Reason), throttled (429), timeout
// (504), client_error or server_error.
func outcome(status int, h http.Header) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusTooManyRequests:
		return "throttled"
	case status == http.StatusServiceUnavailable && len(h["X-Shed-Reason"]) > 0:
		return "shed"
	case status == http.StatusGatewayTimeout:
		return "timeout"
	case status < 500:
		return "client_error"
	}
	return "server_error"
}
