package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/target/dep"
)

// Server is the reference target: the API routes behind the configured
// defences, and the admin routes. Build it with New, run it with Serve.
//
// A Server is safe for concurrent use.
type Server struct {
	cfg    Config
	logger *slog.Logger
	db     *dep.Dep
	search *dep.Dep
	api    http.Handler
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard everything).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// New validates cfg and builds a Server. It starts nothing.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("target config: %w", err)
	}
	s := &Server{cfg: cfg, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.db, err = dep.New("db", cfg.DB, rand.New(rand.NewPCG(cfg.Seed, 1)), nil); err != nil {
		return nil, err
	}
	if s.search, err = dep.New("search", cfg.Search, rand.New(rand.NewPCG(cfg.Seed, 2)), nil); err != nil {
		return nil, err
	}
	s.api = s.routes()
	return s, nil
}

// Config returns the configuration in force, with the dependencies' live
// settings and without the admin token.
func (s *Server) Config() Config {
	c := s.cfg
	c.AdminToken = ""
	c.DB = s.db.Config()
	c.Search = s.search.Config()
	return c
}

// Handler returns the API handler (routes behind the defences).
func (s *Server) Handler() http.Handler { return s.api }

// Serve serves the API on api and the admin routes on admin (nil: no
// admin listener) until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for at most the configured drain
// timeout, then cuts off the rest. It closes both listeners and returns after
// every goroutine it started has ended; the error is nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context, api, admin net.Listener) error {
	if admin != nil && s.cfg.AdminToken == "" && !isLoopback(admin.Addr().String()) {
		return fmt.Errorf("admin listener %s is not on a loopback address and no admin token is set", admin.Addr())
	}
	servers := []*http.Server{s.httpServer(ctx, s.api)}
	listeners := []net.Listener{api}
	if admin != nil {
		servers = append(servers, s.httpServer(ctx, s.AdminHandler()))
		listeners = append(listeners, admin)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		ln := listeners[i]
		wg.Go(func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", ln.Addr(), err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	dctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.DrainTimeout))
	defer cancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(dctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("drain: %w", serr))
			_ = srv.Close()
		}
	}
	wg.Wait()
	return err
}

func (s *Server) httpServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Requests keep running while the server drains; their own
		// contexts end when their clients leave.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}
