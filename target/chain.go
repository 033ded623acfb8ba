package target

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodput-dev/goodput/target/bulkhead"
	"github.com/goodput-dev/goodput/target/dep"
	"github.com/goodput-dev/goodput/target/paginate"
	"github.com/goodput-dev/goodput/target/shed"
)

// Route names, used in metrics, bulkheads and timeouts.
const (
	routeItem   = "items"
	routeSearch = "search"
	routeWork   = "work"
	routeList   = "list"
	routeJobs   = "jobs"
	routeHealth = "healthz"
	routeOther  = "other"
)

// routeNames are the API routes behind the defences, in a stable order.
var routeNames = []string{routeItem, routeSearch, routeWork, routeList, routeJobs}

// chain is one configuration made live: the defences built from it and the
// API handler behind them. A new configuration builds a new chain and swaps
// it in atomically; requests already running finish on the old one. Its
// limiters start afresh. Immutable after build, so safe for concurrent use.
type chain struct {
	s          *Server
	cfg        Config
	codec      *paginate.Codec
	list       paginate.Collection
	throttle   *shed.TenantLimit
	shedder    *shed.Shedder
	workers    *bulkhead.Workers
	routePools map[string]*bulkhead.Pool
	depPools   map[string]*bulkhead.Pool
	api        *rate.Limiter            // the serverless API throttle, nil when off
	fnAPI      map[string]*rate.Limiter // per-function API throttles, by function name; only those on
	handler    http.Handler
}

// build makes cfg (already validated) live.
func (s *Server) build(cfg Config) (*chain, error) {
	c := &chain{
		s:          s,
		cfg:        cfg,
		list:       paginate.Collection{N: cfg.List.Items},
		routePools: map[string]*bulkhead.Pool{},
		depPools:   map[string]*bulkhead.Pool{},
	}
	key := s.tokenKey
	if cfg.List.TokenKey != "" {
		var err error
		if key, err = cfg.List.key(); err != nil {
			return nil, fmt.Errorf("list.token_key: %w", err)
		}
	}
	var err error
	if c.codec, err = paginate.NewCodec(key, time.Duration(cfg.List.TokenTTL)); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	if t := cfg.Throttle; t.Enabled {
		c.throttle, err = shed.NewTenantLimit(shed.TenantLimitConfig{Rate: t.Rate, Burst: t.Burst, MaxTenants: t.MaxTenants,
			Observer: s.metrics.shedObserver()})
		if err != nil {
			return nil, fmt.Errorf("throttle: %w", err)
		}
	}
	if c.shedder, err = s.buildShedder(cfg.Admission, cfg.Seed); err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	obs := bulkheadObserver{s.metrics}
	if b := cfg.Bulkheads; b.Enabled {
		pool := func(name string, p PoolConfig) (*bulkhead.Pool, error) {
			if p.MaxConcurrent == 0 {
				return nil, nil
			}
			return bulkhead.New(bulkhead.Config{Name: name, MaxConcurrent: p.MaxConcurrent, MaxWaiters: p.MaxWaiters,
				MaxWait: time.Duration(p.MaxWait), RetryAfter: time.Duration(cfg.Admission.RetryAfter), Observer: obs})
		}
		for name, p := range map[string]PoolConfig{"db": b.DB, "search": b.Search} {
			bp, err := pool("dep_"+name, p)
			if err != nil {
				return nil, fmt.Errorf("bulkheads.%s: %w", name, err)
			}
			if bp != nil {
				c.depPools[name] = bp
			}
		}
		for name, p := range b.Routes.byRoute() {
			bp, err := pool("route_"+name, p)
			if err != nil {
				return nil, fmt.Errorf("bulkheads.routes.%s: %w", name, err)
			}
			if bp != nil {
				c.routePools[name] = bp
			}
		}
	}
	if w := cfg.Workers; w.Enabled {
		c.workers, err = bulkhead.NewWorkers(bulkhead.WorkersConfig{Name: "workers", Workers: w.Workers,
			MaxWaiters: w.MaxWaiters, MaxWait: time.Duration(w.MaxWait), Observer: obs})
		if err != nil {
			return nil, fmt.Errorf("workers: %w", err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /api/items/{id}", c.route(routeItem, c.getItem))
	mux.Handle("GET /api/items", c.route(routeList, c.listItems))
	mux.Handle("GET /api/search", c.route(routeSearch, c.search))
	mux.Handle("POST /api/work", c.route(routeWork, c.work))
	mux.Handle("POST /api/jobs", c.route(routeJobs, c.postJob))
	mux.Handle("GET /api/jobs/{id}", c.route(routeJobs, c.getJob))
	mux.Handle("POST /api/messages", c.route(routeMessages, s.messages.ServeHTTP))
	if s.fns != nil {
		c.api = apiLimiter(cfg.Serverless)
		c.fnAPI = fnAPILimiters(cfg.Serverless)
		mux.Handle("POST /fn/{name}", c.route(routeFn, c.invokeFn))
	}
	for _, r := range s.extra {
		if err := handle(mux, r.pattern, c.route(r.name, r.h.ServeHTTP)); err != nil {
			return nil, fmt.Errorf("route %s %q: %w", r.name, r.pattern, err)
		}
	}
	c.handler = mux
	return c, nil
}

// handle is mux.Handle, returning the panic of a malformed or conflicting
// pattern as an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// gradientStream separates the gradient limiter's random stream from the
// dependencies', which share the configured seed.
const gradientStream = 0x6772616469656e74

// buildShedder returns the admission controller of a, or nil when a asks
// for none (no limiter and no deadline check). seed jitters the gradient
// limiter's baseline re-measurements, so that instances with different
// seeds do not all drop to the floor in the same instant.
func (s *Server) buildShedder(a AdmissionConfig, seed uint64) (*shed.Shedder, error) {
	var lim shed.Limiter
	var err error
	switch a.Limiter {
	case "none":
		if !a.Deadline && !a.RetryAware {
			return nil, nil
		}
		// Deadline or retry checks only: a limit nothing reaches.
		lim = shed.Static(math.MaxInt32)
	case "static":
		lim = shed.Static(a.Limit)
	case "aimd":
		lim, err = shed.NewAIMD(shed.AIMDConfig{Initial: a.Limit, Min: a.MinLimit, Max: a.MaxLimit,
			LatencyThreshold: time.Duration(a.LatencyThreshold)})
	case "gradient":
		lim, err = shed.NewGradient(shed.GradientConfig{Initial: a.Limit, Min: a.MinLimit, Max: a.MaxLimit,
			Rand: rand.New(rand.NewPCG(seed, gradientStream))})
	}
	if err != nil {
		return nil, err
	}
	disc := shed.FIFO
	if a.Queue != "" {
		if disc, err = shed.ParseDiscipline(a.Queue); err != nil {
			return nil, err
		}
	}
	return shed.New(shed.Config{
		Limiter:           lim,
		QueueSize:         a.QueueSize,
		MaxWait:           time.Duration(a.MaxWait),
		Discipline:        disc,
		CoDelTarget:       time.Duration(a.CoDelTarget),
		CoDelInterval:     time.Duration(a.CoDelInterval),
		SheddableFraction: a.SheddableFraction,
		RetryAfter:        time.Duration(a.RetryAfter),
		RetryAware:        a.RetryAware,
		OverloadWindow:    time.Duration(a.OverloadWindow),
		Observer:          s.metrics.shedObserver(),
	})
}

// pools returns every bulkhead of the chain, sorted by name.
func (c *chain) pools() []*bulkhead.Pool {
	var ps []*bulkhead.Pool
	for _, p := range c.routePools {
		ps = append(ps, p)
	}
	for _, p := range c.depPools {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *bulkhead.Pool) int { return strings.Compare(a.Name(), b.Name()) })
	return ps
}

// route wraps a route's handler in the defences, outermost first: the
// tenant throttle, the reading of the request body (routes with one; see
// readBody), the route's bulkhead, admission control, the fixed workers
// and the route's timeout. The time from entering the bulkhead to
// starting the handler is the request's queue time.
func (c *chain) route(name string, h http.HandlerFunc) http.Handler {
	var next http.Handler = h
	if d := c.cfg.Timeouts.byRoute()[name]; d > 0 {
		next = shed.Timeout(d)(next)
	}
	next = endQueue(next)
	if c.workers != nil {
		next = c.workers.Middleware(next)
	}
	if c.shedder != nil {
		next = c.shedder.Middleware(next)
	}
	if !c.cfg.Admission.Deadline {
		next = ignoreHeader(shed.DefaultTimeoutHeader, next)
	}
	if !c.cfg.Admission.Priority {
		next = ignoreHeader(shed.DefaultPriorityHeader, next)
	}
	if p := c.routePools[name]; p != nil {
		next = p.Middleware(next)
	}
	next = startQueue(next)
	if limit := c.bodyLimit(name); limit != nil {
		next = readBody(limit, time.Duration(c.cfg.Timeouts.Body), next)
	}
	if c.throttle != nil {
		next = c.throttle.Middleware(next)
	}
	return c.setRoute(name, next)
}

// bodyLimit returns the largest request body of the route called name
// (read at each request: the message queues' limit changes live), or nil
// for a route whose body the chain does not read ahead: a route without
// one, or one mounted by WithRoute.
func (c *chain) bodyLimit(name string) func() int64 {
	switch name {
	case routeWork:
		return func() int64 { return c.cfg.Work.MaxBodyBytes }
	case routeJobs:
		return func() int64 { return maxJobBody }
	case routeMessages:
		return func() int64 { return c.s.messages.Config().MaxBodyBytes }
	}
	return nil
}

// setRoute names the request's route for metrics and logs, and counts it in
// flight.
func (c *chain) setRoute(name string, next http.Handler) http.Handler {
	rm := c.s.metrics.route(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := timingOf(w); t != nil {
			t.route = rm
		}
		rm.inFlight.Inc()
		defer rm.inFlight.Dec()
		next.ServeHTTP(w, r)
	})
}

// startQueue and endQueue bracket the waiting defences.
func startQueue(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := timingOf(w); t != nil {
			t.queueMark = time.Now()
		}
		next.ServeHTTP(w, r)
	})
}

func endQueue(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := timingOf(w); t != nil && !t.queueMark.IsZero() && !t.queueDone {
			t.queueDone = true
			t.addQueue(time.Since(t.queueMark))
		}
		next.ServeHTTP(w, r)
	})
}

// ignoreHeader removes a header the configuration says to ignore (the
// client's timeout when deadline checks are off, its priority when
// priority shedding is off), so no defence behind acts on it.
func ignoreHeader(key string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delete(r.Header, key)
		next.ServeHTTP(w, r)
	})
}

// Pre-built header values of a dependency bulkhead's refusal.
var (
	hdrRetryAfter      = []string{"1"}
	hdrBulkheadFull    = []string{"bulkhead_full"}
	hdrBulkheadTimeout = []string{"bulkhead_timeout"}
)

// call makes one call of dependency d under its bulkhead (if any) with the
// request's context and records the timing. When it fails it writes the
// answer and returns false: 503 when the bulkhead refused, 504 when the
// request's context ended, 502 when the dependency failed.
func (c *chain) call(w http.ResponseWriter, r *http.Request, d *dep.Dep) bool {
	ctx := r.Context()
	tm := timingOf(w)
	if p := c.depPools[d.Name()]; p != nil {
		start := time.Now()
		release, err := p.Acquire(ctx)
		tm.addQueue(time.Since(start))
		if err != nil {
			if ctx.Err() != nil {
				httpError(w, http.StatusGatewayTimeout, "request ended while waiting for "+d.Name())
				return false
			}
			h := w.Header()
			h["Retry-After"] = hdrRetryAfter
			if err == bulkhead.ErrWaitTimeout {
				h["X-Shed-Reason"] = hdrBulkheadTimeout
			} else {
				h["X-Shed-Reason"] = hdrBulkheadFull
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return false
		}
		defer release()
	}
	t, err := d.Call(ctx)
	tm.addQueue(t.Wait)
	tm.addDep(d.Name(), t.Service)
	if tm != nil && t.Service > 0 && ctx.Err() != nil {
		tm.wasted = true
	}
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		httpError(w, http.StatusGatewayTimeout, "request ended before "+d.Name()+" answered")
	} else {
		httpError(w, http.StatusBadGateway, err.Error())
	}
	return false
}

// stopped reports whether work should stop now because ctx ended: with
// deadline checks on, work nobody waits for is dropped; off, it runs to the
// end as in a default service.
func (c *chain) stopped(ctx context.Context) bool {
	return c.cfg.Admission.Deadline && ctx.Err() != nil
}
