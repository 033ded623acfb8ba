package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goodput-dev/goodput/internal/serve"
	"github.com/goodput-dev/goodput/target/backlog"
	"github.com/goodput-dev/goodput/target/dep"
	"github.com/goodput-dev/goodput/target/paginate"
	"github.com/goodput-dev/goodput/target/serverless"
)

// Server is the reference target: the API routes behind the configured
// defences, and the admin routes. Build it with New, run it with Serve (or
// mount Handler and AdminHandler yourself, as httptest does); change its
// configuration live with Apply.
//
// A Server is safe for concurrent use.
type Server struct {
	logger   *slog.Logger
	db       *dep.Dep
	search   *dep.Dep
	jobs     *jobTable
	metrics  *metrics
	tokenKey []byte // the per-process page token key

	applyMu sync.Mutex // serialises Apply
	chain   atomic.Pointer[chain]

	inFlight sync.WaitGroup // API requests being served

	messages *backlog.Service // POST /api/messages and its consumers

	fns       *serverless.Platform // POST /fn/{name}; nil when serverless is off
	fnMetrics *fnMetrics
	leases    leases // the admin API's leased changes

	extra      []extraRoute           // WithRoute
	collectors []prometheus.Collector // WithCollector
}

// extraRoute is a route mounted by WithRoute.
type extraRoute struct {
	name, pattern string
	h             http.Handler
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard everything). Requests are
// logged at debug level when the configuration's LogRequests is set.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithRoute mounts h at pattern (a net/http ServeMux pattern such as
// "POST /api/messages") behind the same defences as the built-in routes:
// the throttle, admission control and the workers; name labels it in
// metrics. The handler is the caller's to run (New starts nothing of it).
func WithRoute(name, pattern string, h http.Handler) Option {
	return func(s *Server) { s.extra = append(s.extra, extraRoute{name, pattern, h}) }
}

// WithCollector adds c to the Server's /metrics (for example the metrics of
// a mounted route).
func WithCollector(c prometheus.Collector) Option {
	return func(s *Server) { s.collectors = append(s.collectors, c) }
}

// New validates cfg and builds a Server. It starts nothing.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("target config: %w", err)
	}
	s := &Server{logger: slog.New(slog.DiscardHandler), jobs: newJobTable(cfg.Jobs.MaxJobs)}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.tokenKey, err = paginate.NewKey(); err != nil {
		return nil, err
	}
	if s.db, err = dep.New("db", cfg.DB, rand.New(rand.NewPCG(cfg.Seed, 1)), nil); err != nil {
		return nil, err
	}
	if s.search, err = dep.New("search", cfg.Search, rand.New(rand.NewPCG(cfg.Seed, 2)), nil); err != nil {
		return nil, err
	}
	if s.messages, err = s.newMessages(cfg.Messages); err != nil {
		return nil, err
	}
	if s.fns, err = s.newPlatform(cfg); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s)
	if s.fns != nil {
		s.collectors = append(s.collectors, s.fnMetrics)
	}
	for _, c := range append(s.collectors, s.messages.Collectors()...) {
		if err := s.metrics.reg.Register(c); err != nil {
			return nil, fmt.Errorf("target metrics: %w", err)
		}
	}
	c, err := s.build(cfg)
	if err != nil {
		return nil, fmt.Errorf("target config: %w", err)
	}
	s.chain.Store(c)
	return s, nil
}

// Config returns the configuration in force, with the dependencies' and
// the message queues' live settings and without the admin token.
func (s *Server) Config() Config {
	c := s.live()
	c.AdminToken = ""
	return c
}

// live returns the configuration in force with the settings that change
// outside Apply (dependencies, message queues) read from where they live.
func (s *Server) live() Config {
	c := s.chain.Load().cfg
	c.DB = s.db.Config()
	c.Search = s.search.Config()
	c.Messages.Queue = s.messages.Config()
	if s.fns != nil {
		c.Serverless.Config = s.fns.Config()
	}
	return c
}

// Apply validates cfg and makes it live atomically: requests that arrive
// from now on meet the new defences (with fresh limiter state); requests
// already running finish under the old ones. The dependencies take cfg's
// DB and Search settings, the message queues cfg's Messages.Queue. Listen,
// Admin, AdminToken, Seed, jobs.max_jobs, messages.consumers and
// messages.queue.queues cannot change while running; a change of them is
// refused, naming the field.
func (s *Server) Apply(cfg Config) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	old := s.chain.Load().cfg
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"listen", cfg.Listen != old.Listen}, {"admin", cfg.Admin != old.Admin},
		{"admin_token", cfg.AdminToken != old.AdminToken}, {"seed", cfg.Seed != old.Seed},
		{"jobs.max_jobs", cfg.Jobs.MaxJobs != old.Jobs.MaxJobs},
		{"messages.consumers", cfg.Messages.Consumers != old.Messages.Consumers},
		{"messages.queue.queues", cfg.Messages.Queue.Queues != old.Messages.Queue.Queues},
		{"serverless.enabled", cfg.Serverless.Enabled != old.Serverless.Enabled},
	} {
		if f.changed {
			return fmt.Errorf("%s: cannot change while the server runs", f.name)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if reflect.DeepEqual(cfg, old) {
		// Nothing changed (a lease renewal re-sends what is in place):
		// keep the admission chain, whose limiter and queue have state.
		return nil
	}
	c, err := s.build(cfg)
	if err != nil {
		return err
	}
	if err := s.db.Update(cfg.DB); err != nil {
		return err
	}
	if err := s.search.Update(cfg.Search); err != nil {
		return err
	}
	if err := s.messages.SetConfig(cfg.Messages.Queue); err != nil {
		return fmt.Errorf("messages.queue: %w", err)
	}
	if s.fns != nil {
		if err := s.fns.SetConfig(time.Now(), cfg.Serverless.Config); err != nil {
			return fmt.Errorf("serverless: %w", err)
		}
	}
	s.chain.Store(c)
	s.logger.Info("configuration applied", "preset", cfg.Preset)
	return nil
}

// Dep returns the dependency called name ("db" or "search"), or nil; a
// mounted route may call it.
func (s *Server) Dep(name string) *dep.Dep { return s.dep(name) }

// Handler returns the API handler: /healthz and the routes behind the
// defences of the configuration in force. Messages POSTed to
// /api/messages are consumed only while Serve or RunConsumers runs.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveAPI) }

// Serve serves the API on api and the admin routes on admin (nil: no
// admin listener) until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for at most the configured drain
// timeout, then closes the connections of the rest (their contexts end).
// It also runs the consumers of POST /api/messages, stopped once the API
// has drained (a message a consumer holds then is abandoned). It closes
// both listeners and returns after every handler and consumer has returned:
// a dependency call that does not stop on cancel (StopOnCancel false) still
// finishes its latency first. The error is nil after a clean shutdown and
// says "drain" when the drain timeout cut requests off.
func (s *Server) Serve(ctx context.Context, api, admin net.Listener) error {
	cfg := s.chain.Load().cfg
	if admin != nil && cfg.AdminToken == "" && !serve.IsLoopback(admin.Addr().String()) {
		return fmt.Errorf("admin listener %s is not on a loopback address and no admin token is set", admin.Addr())
	}
	// The consumers of POST /api/messages run until the API has drained,
	// so messages accepted during the drain are still delivered.
	consumeCtx, stopConsumers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsumers()
	consumed := make(chan error, 1)
	go func() { consumed <- s.RunConsumers(consumeCtx) }()
	polled := make(chan error, 1)
	go func() { polled <- s.runPollers(consumeCtx) }()
	servers := []serve.Server{{Server: s.httpServer(ctx, s.Handler()), Listener: api}}
	if admin != nil {
		servers = append(servers, serve.Server{Server: s.httpServer(ctx, s.AdminHandler()), Listener: admin})
	}
	err := serve.Run(ctx, time.Duration(cfg.DrainTimeout), nil, servers...)
	s.inFlight.Wait()
	s.closeLeases()
	stopConsumers()
	if cerr := <-consumed; cerr != nil {
		err = errors.Join(err, fmt.Errorf("messages: %w", cerr))
	}
	if perr := <-polled; perr != nil {
		err = errors.Join(err, fmt.Errorf("serverless: %w", perr))
	}
	return err
}

func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	// HTTP/1.1, and HTTP/2 without TLS with prior knowledge (h2c), which
	// loadgen --http2 speaks to http:// URLs.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Protocols:         &protocols,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests keep running while the server drains; their own
		// contexts end when their clients leave.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}
