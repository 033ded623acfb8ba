package proxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/internal/serve"
)

// Config is how a Proxy is built.
type Config struct {
	// Upstream is the service the proxy forwards to: scheme http or
	// https, a host and perhaps a port (1..65535); a path is prefixed to
	// every request's. ParseUpstream reads one from a string.
	Upstream *url.URL
	// Token, when set, is required on every control call as
	// "Authorization: Bearer <Token>".
	Token string
	// Seed seeds the per-request probability and jitter draws.
	Seed uint64
	// Logger logs fault changes; nil discards.
	Logger *slog.Logger
	// Transport carries requests to the upstream; nil means a keep-alive
	// transport with up to 1024 idle connections to it.
	Transport http.RoundTripper
	// DrainTimeout bounds graceful shutdown in Serve; 0 means 5s.
	DrainTimeout time.Duration
}

// Proxy is a fault-injecting reverse proxy. It is safe for concurrent use:
// faults change while traffic flows. Build it with New.
type Proxy struct {
	cfg    Config
	logger *slog.Logger
	rp     *httputil.ReverseProxy

	mu    sync.Mutex              // serialises changes of rules
	rules atomic.Pointer[[]*rule] // the faults in place, copy on write

	rngMu sync.Mutex
	rng   *rand.Rand

	inFlight atomic.Int64
}

// rule is one fault in place.
type rule struct {
	spec   faults.Spec
	fault  faults.HTTPFault
	match  faults.Matcher
	p      float64
	lifted chan struct{} // closed when the fault is removed
}

// New builds a Proxy. It starts nothing. It refuses an upstream that
// ParseUpstream would refuse.
func New(cfg Config) (*Proxy, error) {
	if err := checkUpstream(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("proxy upstream: %w", err)
	}
	p := &Proxy{cfg: cfg, logger: cfg.Logger, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	if p.logger == nil {
		p.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 1024
		t.MaxIdleConnsPerHost = 1024
		transport = t
	}
	upstream := cfg.Upstream
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
		},
		Transport:  transport,
		BufferPool: &bufferPool{},
		ErrorLog:   slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left; nobody to answer
			}
			p.logger.Warn("upstream call failed", "path", r.URL.Path, "err", err)
			http.Error(w, "fault proxy: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	empty := []*rule{}
	p.rules.Store(&empty)
	return p, nil
}

// ParseUpstream reads the URL of the service behind a proxy and checks it
// the way New does: scheme http or https, a host, a port (when given) in
// 1..65535. The error quotes raw and says what would be valid.
func ParseUpstream(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q: not a URL, want an absolute URL with scheme http or https and a host, as in http://127.0.0.1:8080", raw)
	}
	if err := checkUpstream(u); err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	return u, nil
}

// checkUpstream is the one check of an upstream, behind New and
// ParseUpstream.
func checkUpstream(u *url.URL) error {
	switch {
	case u == nil:
		return errors.New("none, want an absolute URL with scheme http or https and a host, as in http://127.0.0.1:8080")
	case u.Scheme != "http" && u.Scheme != "https":
		scheme := u.Scheme
		if scheme == "" {
			scheme = "missing"
		}
		return fmt.Errorf("scheme %s, want http or https, as in http://127.0.0.1:8080", scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return errors.New("no host, want one, as in http://127.0.0.1:8080")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s, want 1..65535", port)
		}
	}
	return nil
}

// bufferPool reuses the 32 KiB buffers ReverseProxy copies bodies with
// (it allocates one per request otherwise).
type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.pool.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.pool.Put(&buf) }

// float returns a uniform number in [0, 1) from the proxy's seeded source.
func (p *Proxy) float() float64 {
	p.rngMu.Lock()
	f := p.rng.Float64()
	p.rngMu.Unlock()
	return f
}

// choose appends to buf the faults that act on r: those whose scope
// matches and whose probability draw succeeds. It allocates nothing while
// buf has room.
func (p *Proxy) choose(r *http.Request, buf []*rule) []*rule {
	for _, ru := range *p.rules.Load() {
		if !ru.match.Match(r) {
			continue
		}
		if ru.p < 1 && p.float() >= ru.p {
			continue
		}
		buf = append(buf, ru)
	}
	return buf
}

// ServeHTTP forwards r to the upstream through the faults chosen for it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	var buf [4]*rule
	chosen := p.choose(r, buf[:0])
	if len(chosen) == 0 {
		p.rp.ServeHTTP(w, r)
		return
	}
	(&chain{p: p, rules: chosen}).ServeHTTP(w, r)
}

// InFlight returns the number of requests inside the proxy now: held by
// a fault or waiting for the upstream.
func (p *Proxy) InFlight() int { return int(p.inFlight.Load()) }

// chain passes one exchange through its chosen faults in order, then to
// the upstream.
type chain struct {
	p     *Proxy
	rules []*rule
	next  int
}

func (c *chain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.next == len(c.rules) {
		c.p.rp.ServeHTTP(w, r)
		return
	}
	ru := c.rules[c.next]
	c.next++
	ru.fault.Serve(w, r, c, faults.Env{Lifted: ru.lifted, U: c.p.float()})
}

// ErrExists and ErrNotFound are the refusals of Add and Remove.
var (
	ErrExists   = errors.New("a fault with this name is in place")
	ErrNotFound = errors.New("no fault with this name")
)

// Add puts a new fault in place. The spec is validated with
// faults.ProxySpec; a name already in place is ErrExists.
func (p *Proxy) Add(s faults.Spec) error {
	_, err := p.put(s, false)
	return err
}

// Update replaces the named fault, or adds it; it reports whether it
// replaced one. Requests already held by the old fault (a stall or a
// delay) are let go.
func (p *Proxy) Update(s faults.Spec) (replaced bool, err error) { return p.put(s, true) }

func (p *Proxy) put(s faults.Spec, replace bool) (replaced bool, err error) {
	e, err := faults.ProxySpec(s)
	if err != nil {
		return false, err
	}
	return p.putEntry(e, s, replace)
}

// putEntry puts e, whose Spec is s, in place: an entry ProxySpec accepted,
// or one of a timeline that Validate and faults.CheckProxyEntry accepted
// (Injector), so it is not validated again.
func (p *Proxy) putEntry(e faults.Entry, s faults.Spec, replace bool) (replaced bool, err error) {
	if s.Probability == nil {
		one := 1.0
		s.Probability = &one
	}
	ru := &rule{
		spec:   s,
		fault:  e.Fault.(faults.HTTPFault),
		match:  e.Scope.Matcher(),
		p:      *s.Probability,
		lifted: make(chan struct{}),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rules := slices.Clone(*p.rules.Load())
	if i, ok := p.findLocked(s.Name); ok {
		if !replace {
			return false, fmt.Errorf("fault %s: %w", s.Name, ErrExists)
		}
		close(rules[i].lifted)
		rules[i] = ru
		replaced = true
	} else {
		rules = append(rules, ru)
	}
	p.rules.Store(&rules)
	p.logger.Info("fault added", "name", s.Name, "kind", s.Kind, "replaced", replaced)
	return replaced, nil
}

func (p *Proxy) findLocked(name string) (int, bool) {
	i := slices.IndexFunc(*p.rules.Load(), func(ru *rule) bool { return ru.spec.Name == name })
	return i, i >= 0
}

// Remove takes the named fault away (ErrNotFound if it is not in place)
// and lets go the requests it holds.
func (p *Proxy) Remove(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.findLocked(name)
	if !ok {
		return fmt.Errorf("fault %s: %w", name, ErrNotFound)
	}
	rules := slices.Clone(*p.rules.Load())
	close(rules[i].lifted)
	rules = slices.Delete(rules, i, i+1)
	p.rules.Store(&rules)
	p.logger.Info("fault removed", "name", name)
	return nil
}

// Reset takes every fault away and returns how many there were.
func (p *Proxy) Reset() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.rules.Load()
	for _, ru := range old {
		close(ru.lifted)
	}
	empty := []*rule{}
	p.rules.Store(&empty)
	p.logger.Info("faults reset", "removed", len(old))
	return len(old)
}

// List returns the faults in place, in the order they were added, with
// the probability filled in.
func (p *Proxy) List() []faults.Spec {
	rules := *p.rules.Load()
	out := make([]faults.Spec, len(rules))
	for i, ru := range rules {
		out[i] = ru.spec
	}
	return out
}

// maxControlBody bounds the body of a control call.
const maxControlBody = 64 << 10

// ControlHandler returns the control API (see the package doc).
func (p *Proxy) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.List())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		s, ok := readSpec(w, r)
		if !ok {
			return
		}
		if err := p.Add(s); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, p.get(s.Name))
	})
	mux.HandleFunc("PUT /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := readSpec(w, r)
		if !ok {
			return
		}
		name := r.PathValue("name")
		if s.Name == "" {
			s.Name = name
		}
		if s.Name != name {
			writeJSON(w, http.StatusBadRequest, errorBody{fmt.Sprintf("name: %q in the body, %q in the path, want the same", s.Name, name)})
			return
		}
		replaced, err := p.Update(s)
		if err != nil {
			writeError(w, err)
			return
		}
		code := http.StatusCreated
		if replaced {
			code = http.StatusOK
		}
		writeJSON(w, code, p.get(s.Name))
	})
	mux.HandleFunc("DELETE /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := p.Remove(r.PathValue("name")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"removed": p.Reset()})
	})
	if p.cfg.Token == "" {
		return mux
	}
	want := []byte("Bearer " + p.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="goodput fault proxy"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{"control calls need Authorization: Bearer <control token>"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (p *Proxy) get(name string) faults.Spec {
	for _, s := range p.List() {
		if s.Name == name {
			return s
		}
	}
	return faults.Spec{}
}

type errorBody struct {
	Error string `json:"error"`
}

func readSpec(w http.ResponseWriter, r *http.Request) (faults.Spec, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{"body: " + err.Error()})
		return faults.Spec{}, false
	}
	s, err := faults.DecodeSpec(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
		return faults.Spec{}, false
	}
	return s, true
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrExists):
		code = http.StatusConflict
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	}
	writeJSON(w, code, errorBody{err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may have left; nothing more to do
}

// CheckControlAddr refuses a control listen address that is not on a
// loopback interface unless a token is set.
func CheckControlAddr(addr, token string) error {
	if token != "" {
		return nil
	}
	if serve.IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("control address %q is not a loopback address: set a control token (--control-token) or listen on 127.0.0.1", addr)
}

// Serve serves the proxied traffic on data and the control API on
// control until ctx ends, then shuts both down: faults are reset (so held
// requests are let go), requests in flight get DrainTimeout to finish and
// the rest are cut off. It closes both listeners and returns after every
// goroutine it started has ended; the error is nil after a clean shutdown.
func (p *Proxy) Serve(ctx context.Context, data, control net.Listener) error {
	logger := slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn)
	drain := p.cfg.DrainTimeout
	if drain <= 0 {
		drain = 5 * time.Second
	}
	err := serve.Run(ctx, drain, func() { p.Reset() }, // let held requests go
		serve.Server{Server: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}, Listener: data},
		serve.Server{Server: &http.Server{Handler: p.ControlHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}, Listener: control})
	if t, ok := p.rp.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return err
}
