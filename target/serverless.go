package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/target/serverless"
)

// routeFn names POST /fn/{name} in metrics and logs.
const routeFn = "fn"

// PresetServerless is the preset of the function platform: the
// unprotected service plus POST /fn/{name}.
const PresetServerless = "serverless"

// MaxAPIRate bounds ServerlessConfig.APIRate and APIBurst, like a
// function's (serverless.MaxAPIRate).
const MaxAPIRate = serverless.MaxAPIRate

// ServerlessConfig is the function platform (target/serverless) behind
// POST /fn/{name}: the platform's configuration, inline, and per-API
// throttling in front of it. It reads and changes live at
// /admin/serverless, except enabled, the set of functions and
// async.pollers.
type ServerlessConfig struct {
	Enabled bool `json:"enabled"`
	// APIRate and APIBurst are a token bucket in front of every invoke,
	// like API Gateway's account- or stage-level throttling: APIRate
	// requests per second (0: off, else up to 1000000), bursts of APIBurst
	// (1..1000000 when APIRate > 0). Above it: 429 with
	// X-Throttle-Reason: api. Each function may have its own bucket too
	// (serverless.Function.APIRate), checked after this one.
	APIRate  float64 `json:"api_rate,omitempty"`
	APIBurst int     `json:"api_burst,omitempty"`

	serverless.Config `yaml:",inline"`
}

// Validate reports the fields out of range (only when enabled).
func (c ServerlessConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if !(c.APIRate >= 0 && c.APIRate <= MaxAPIRate) {
		errs = append(errs, fmt.Errorf("api_rate: %v, want 0..%d requests per second (0: off)", c.APIRate, MaxAPIRate))
	}
	if c.APIRate > 0 && (c.APIBurst < 1 || c.APIBurst > MaxAPIRate) {
		errs = append(errs, fmt.Errorf("api_burst: %d, want 1..%d when api_rate > 0", c.APIBurst, MaxAPIRate))
	}
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, f := range c.Functions {
		for _, d := range f.Deps {
			if !slices.Contains(depNames, d) {
				errs = append(errs, fmt.Errorf("functions[%s].deps: unknown dependency %q, want one of %s",
					f.Name, d, strings.Join(depNames, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// depNames are the dependencies a function may call: the target's pools.
var depNames = []string{"db", "search"}

// defaultServerless is the serverless preset's section: Lambda's published
// limits at full scale (see serverless.DefaultConfig) and one function,
// "hello", of 100 ms with a 250 ms init.
func defaultServerless() ServerlessConfig {
	c := ServerlessConfig{Enabled: true, Config: serverless.DefaultConfig()}
	f := serverless.DefaultFunction("hello", dist.Latency{Dist: "fixed", P50: dist.Duration(100 * time.Millisecond)})
	f.Init = dist.Latency{Dist: "fixed", P50: dist.Duration(250 * time.Millisecond)}
	c.Functions = []serverless.Function{f}
	return c
}

// serverlessStream separates the platform's random stream from the
// dependencies'.
const serverlessStream = 0x666e

// newPlatform builds the platform of cfg, or nil when it is off.
func (s *Server) newPlatform(cfg Config) (*serverless.Platform, error) {
	if !cfg.Serverless.Enabled {
		return nil, nil
	}
	s.fnMetrics = newFnMetrics()
	p, err := serverless.New(cfg.Serverless.Config, serverless.Options{
		Rand:        rand.New(rand.NewPCG(cfg.Seed, serverlessStream)),
		OnColdStart: s.fnMetrics.observeInit,
		Deps:        map[string]serverless.Dependency{"db": s.db, "search": s.search},
	})
	if err != nil {
		return nil, fmt.Errorf("serverless: %w", err)
	}
	s.fnMetrics.p = p
	return p, nil
}

// apiLimiter returns the API throttle of c, or nil when it is off.
func apiLimiter(c ServerlessConfig) *rate.Limiter {
	if !c.Enabled || c.APIRate <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(c.APIRate), c.APIBurst)
}

// fnAPILimiters returns the per-function API throttles of c by function
// name: only the functions with an APIRate (nil when none has one).
func fnAPILimiters(c ServerlessConfig) map[string]*rate.Limiter {
	if !c.Enabled {
		return nil
	}
	var m map[string]*rate.Limiter
	for _, f := range c.Functions {
		if f.APIRate <= 0 {
			continue
		}
		if m == nil {
			m = map[string]*rate.Limiter{}
		}
		m[f.Name] = rate.NewLimiter(rate.Limit(f.APIRate), f.APIBurst)
	}
	return m
}

// Pre-built header values of the invoke route's throttles.
var (
	hdrThrottleAPI = []string{"api"}
	hdrThrottle    = [...][]string{
		serverless.ReasonAccount:  {serverless.ReasonAccount.String()},
		serverless.ReasonReserved: {serverless.ReasonReserved.String()},
		serverless.ReasonScaling:  {serverless.ReasonScaling.String()},
	}
)

// fnResult is the answer of a synchronous invoke.
type fnResult struct {
	Function   string  `json:"function"`
	Cold       bool    `json:"cold"`
	InitMs     float64 `json:"init_ms"`
	DurationMs float64 `json:"duration_ms"`
}

// fnAccepted is the answer of an asynchronous invoke.
type fnAccepted struct {
	Function string `json:"function"`
	ID       uint64 `json:"id"`
}

// invokeFn is POST /fn/{name}: one invoke of the function, synchronous
// (200, or 502 on a function error) or with ?async=1 queued (202 + id).
// A throttle answers 429 with X-Throttle-Reason (api, account, reserved or
// scaling) before any work: api is the global API throttle, then the
// function's own (serverless.Function.APIRate); an unknown function 404. A cold invoke's
// Server-Timing has init;dur= beside app;dur=; a function's dependency
// calls add their pool wait to queue and their time to an entry named
// after the dependency (db;dur=), as the other routes' calls do.
func (c *chain) invokeFn(w http.ResponseWriter, r *http.Request) {
	if c.api != nil && !c.api.Allow() {
		c.s.fnMetrics.apiThrottles.Add(1)
		w.Header()["X-Throttle-Reason"] = hdrThrottleAPI
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	name := r.PathValue("name")
	if l := c.fnAPI[name]; l != nil && !l.Allow() {
		c.s.fnMetrics.apiThrottles.Add(1)
		w.Header()["X-Throttle-Reason"] = hdrThrottleAPI
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	p := c.s.fns
	if r.URL.Query().Get("async") == "1" {
		id, err := p.Enqueue(time.Now(), name, r.Header.Get("X-Request-Id"))
		switch {
		case errors.Is(err, serverless.ErrUnknownFunction):
			httpError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, serverless.ErrQueueFull):
			w.Header().Set("X-Shed-Reason", "queue_full")
			httpError(w, http.StatusServiceUnavailable, err.Error())
		case err != nil:
			httpError(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusAccepted, fnAccepted{Function: name, ID: id})
		}
		return
	}
	res, err := p.Invoke(r.Context(), name)
	var reason serverless.Reason
	var fe *serverless.FunctionError
	switch {
	case errors.As(err, &reason):
		w.Header()["X-Throttle-Reason"] = hdrThrottle[reason]
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case errors.Is(err, serverless.ErrUnknownFunction):
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	tm := timingOf(w)
	if res.Cold {
		tm.addDep("init", res.Init)
	}
	for _, call := range res.Calls {
		tm.addQueue(call.Wait)
		tm.addDep(call.Dep, call.Service)
	}
	switch {
	case errors.As(err, &fe):
		httpError(w, http.StatusBadGateway, err.Error())
	case err != nil: // the request ended before admission
		httpError(w, http.StatusGatewayTimeout, err.Error())
	default:
		writeJSON(w, http.StatusOK, fnResult{Function: name, Cold: res.Cold,
			InitMs: ms(res.Init), DurationMs: ms(res.Duration)})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// serverlessView is the answer of GET and PUT /admin/serverless.
type serverlessView struct {
	Config ServerlessConfig `json:"config"`
	Stats  serverless.Stats `json:"stats"`
}

// adminGetServerless answers the serverless section in force and the
// platform's stats.
func (s *Server) adminGetServerless(w http.ResponseWriter, _ *http.Request) {
	if s.fns == nil {
		httpError(w, http.StatusNotFound, "serverless is off (start with --preset serverless or --fn)")
		return
	}
	writeJSON(w, http.StatusOK, serverlessView{s.Config().Serverless, s.fns.Stats(time.Now())})
}

// adminPutServerless applies a partial serverless section (the fields of
// GET /admin/serverless's config; missing fields keep their value, and
// each element of functions patches the function of its name).
func (s *Server) adminPutServerless(w http.ResponseWriter, r *http.Request) {
	if s.fns == nil {
		httpError(w, http.StatusNotFound, "serverless is off (start with --preset serverless or --fn)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "body: "+err.Error())
		return
	}
	cfg := s.live()
	sc, err := patchServerless(cfg.Serverless, body)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cfg.Serverless = sc
	if err := s.Apply(cfg); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, serverlessView{s.Config().Serverless, s.fns.Stats(time.Now())})
}

// patchServerless applies body over c: the API throttle's fields here,
// the platform's through serverless.Config.Patch.
func patchServerless(c ServerlessConfig, body []byte) (ServerlessConfig, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return c, fmt.Errorf("serverless: %w", err)
	}
	var own struct {
		Enabled  *bool    `json:"enabled"`
		APIRate  *float64 `json:"api_rate"`
		APIBurst *int     `json:"api_burst"`
	}
	rest := map[string]json.RawMessage{}
	for k, v := range raw {
		switch k {
		case "enabled", "api_rate", "api_burst":
			b, _ := json.Marshal(map[string]json.RawMessage{k: v})
			if err := json.Unmarshal(b, &own); err != nil {
				return c, fmt.Errorf("serverless: %s: %w", k, err)
			}
		default:
			rest[k] = v
		}
	}
	if own.Enabled != nil && *own.Enabled != c.Enabled {
		return c, errors.New("serverless.enabled: cannot change while the server runs")
	}
	if own.APIRate != nil {
		c.APIRate = *own.APIRate
	}
	if own.APIBurst != nil {
		c.APIBurst = *own.APIBurst
	}
	b, err := json.Marshal(rest)
	if err != nil {
		return c, fmt.Errorf("serverless: %w", err)
	}
	if c.Config, err = c.Config.Patch(b); err != nil {
		return c, err
	}
	return c, nil
}

// fnMetrics are the platform's Prometheus metrics: gauges and counters
// read from its Stats at scrape time, and the init-duration histogram.
type fnMetrics struct {
	p            *serverless.Platform
	init         *prometheus.HistogramVec // function
	apiThrottles atomic.Uint64
}

func newFnMetrics() *fnMetrics {
	return &fnMetrics{init: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    metricPrefix + "serverless_init_duration_seconds",
		Help:    "Init time of each cold start, by function.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"function"})}
}

func (m *fnMetrics) observeInit(fn string, d time.Duration) {
	m.init.WithLabelValues(fn).Observe(d.Seconds())
}

var (
	fnConcurrencyDesc = prometheus.NewDesc(metricPrefix+"serverless_concurrent_executions",
		"Environments initialising or serving, by function.", []string{"function"}, nil)
	fnEnvsDesc = prometheus.NewDesc(metricPrefix+"serverless_environments",
		"Execution environments by function and state (initialising, busy, idle).", []string{"function", "state"}, nil)
	fnColdDesc = prometheus.NewDesc(metricPrefix+"serverless_cold_starts_total",
		"Invokes that created an environment and paid its init, by function.", []string{"function"}, nil)
	fnInvokesDesc = prometheus.NewDesc(metricPrefix+"serverless_invokes_total",
		"Invokes admitted, by function.", []string{"function"}, nil)
	fnThrottlesDesc = prometheus.NewDesc(metricPrefix+"serverless_throttles_total",
		"Invokes refused with 429, by reason (api, account, reserved, scaling).", []string{"reason"}, nil)
	fnAsyncDepthDesc = prometheus.NewDesc(metricPrefix+"serverless_async_depth",
		"Asynchronous events waiting, by function.", []string{"function"}, nil)
	fnAsyncDesc = prometheus.NewDesc(metricPrefix+"serverless_async_events_total",
		"Asynchronous events by function and what happened (accepted, succeeded, retried, throttled, expired, failed, dead_lettered).",
		[]string{"function", "event"}, nil)
)

// Describe sends nothing: the collector is unchecked, like stateCollector.
func (m *fnMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (m *fnMetrics) Collect(ch chan<- prometheus.Metric) {
	m.init.Collect(ch)
	st := m.p.Stats(time.Now())
	byReason := map[string]uint64{"api": m.apiThrottles.Load()}
	for _, r := range serverless.Reasons() {
		byReason[r.String()] = 0
	}
	for _, f := range st.Functions {
		g := func(d *prometheus.Desc, v int, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
		}
		c := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		}
		g(fnConcurrencyDesc, f.Concurrency, f.Name)
		g(fnEnvsDesc, f.Initialising, f.Name, "initialising")
		g(fnEnvsDesc, f.Busy, f.Name, "busy")
		g(fnEnvsDesc, f.Idle, f.Name, "idle")
		c(fnColdDesc, f.ColdStarts, f.Name)
		c(fnInvokesDesc, f.Invokes, f.Name)
		for r, n := range f.Throttles {
			byReason[r] += n
		}
		a := f.Async
		g(fnAsyncDepthDesc, a.Depth, f.Name)
		for _, e := range []struct {
			name string
			v    uint64
		}{{"accepted", a.Accepted}, {"succeeded", a.Succeeded}, {"retried", a.Retried}, {"throttled", a.Throttled},
			{"expired", a.Expired}, {"failed", a.Failed}, {"dead_lettered", a.DeadLettered}} {
			c(fnAsyncDesc, e.v, f.Name, e.name)
		}
	}
	for r, n := range byReason {
		ch <- prometheus.MustNewConstMetric(fnThrottlesDesc, prometheus.CounterValue, float64(n), r)
	}
}

var _ prometheus.Collector = (*fnMetrics)(nil)

// runPollers runs the pollers of the platform's asynchronous invokes until
// ctx ends (nothing when serverless is off).
func (s *Server) runPollers(ctx context.Context) error {
	if s.fns == nil {
		return nil
	}
	return s.fns.Run(ctx)
}
