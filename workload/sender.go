package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload/retry"
)

// sender sends attempts over HTTP. Implementations are safe for concurrent
// use.
type sender interface {
	// send sends attempt n of q with the given timeout (0: none), filling
	// res's Status, Outcome, BytesOut, BytesIn, Timing and End. It returns
	// the service's Retry-After when it asked for one.
	// When watch is false the sender may leave ctx unwatched during I/O:
	// the runner aborts the sender when its run context ends.
	send(ctx context.Context, q *request, n int, timeout time.Duration, res *results.Result, watch bool) (ra time.Duration, raOK bool)
	// open readies the sender for a run (after an abort).
	open()
	// warm opens up to n connections to each origin of urls
	// ("scheme://host…") before a run, and returns when they are open
	// or the first dial failed or ctx ended (the error says which),
	// with how many it opened. A sender that cannot open connections
	// ahead returns 0, nil at once.
	warm(ctx context.Context, urls []string, n int) (int, error)
	// abort ends every attempt on the wire at once (the run was
	// interrupted) and refuses new connections until open.
	abort()
	// closeIdle closes idle connections (the run is over).
	closeIdle()
	// prune closes the connections idle for longer than idleTimeout (the
	// runner calls it every tuneEvery).
	prune()
}

// netSender sends through net/http (HTTP/2, and test clients).
type netSender struct {
	c *http.Client
	h WireHeaders
}

func (s *netSender) open() {}

// abort does nothing: net/http attempts end with their contexts.
func (s *netSender) abort() {}

// warm does nothing: net/http opens its connections when it sends (an
// HTTP/2 run needs few).
func (s *netSender) warm(context.Context, []string, int) (int, error) { return 0, nil }

func (s *netSender) closeIdle() { s.c.CloseIdleConnections() }

// prune does nothing: net/http's transport closes idle connections itself.
func (s *netSender) prune() {}

func (s *netSender) send(ctx context.Context, q *request, n int, timeout time.Duration, res *results.Result, _ bool) (time.Duration, bool) {
	t := q.tmpl
	if n == 1 {
		q.sending() // the Transport does not say when it has a connection
	}
	actx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var body io.Reader
	bodyLen := 0
	switch {
	case !t.body.static:
		body, bodyLen = bytes.NewReader(q.bodyBuf), len(q.bodyBuf)
	case t.bodyLen > 0:
		b := t.body.value()
		body, bodyLen = strings.NewReader(b), len(b)
	}
	var req *http.Request
	var err error
	if t.staticU != nil {
		req, err = http.NewRequestWithContext(actx, t.method, "", body)
		if err == nil {
			req.URL, req.Host = t.staticU, t.staticU.Host
		}
	} else {
		req, err = http.NewRequestWithContext(actx, t.method, string(q.urlBuf), body)
	}
	if err != nil {
		res.End, res.Outcome = time.Since(q.r.start), results.OutcomeClientError
		return 0, false
	}
	h := s.h
	req.Header[h.RequestID] = []string{strconv.FormatUint(q.id, 10)}
	req.Header[h.Attempt] = []string{strconv.Itoa(n)}
	if timeout > 0 {
		req.Header[h.TimeoutMs] = []string{strconv.FormatInt(timeout.Milliseconds(), 10)}
	}
	if q.tenant != "" {
		req.Header[h.Tenant] = []string{q.tenant}
	}
	req.Header[h.Priority] = []string{t.priority}
	k := 0
	for _, ch := range t.header {
		v := ch.value.value()
		if !ch.value.static {
			v = string(q.headerValue(k))
			k++
		}
		req.Header[ch.name] = append(req.Header[ch.name], v)
	}
	res.BytesOut = uint32(bodyLen)
	resp, err := s.c.Do(req)
	if err != nil {
		res.End = time.Since(q.r.start)
		res.Outcome = Classify(err, ctx.Err() != nil)
		res.Error = ErrorText(err, false, ctx.Err() != nil)
		return 0, false
	}
	nIn, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	res.End = time.Since(q.r.start)
	res.BytesIn = uint32(min(nIn, 1<<32-1))
	res.Status = uint16(resp.StatusCode)
	if err != nil {
		res.Outcome = Classify(err, ctx.Err() != nil)
		res.Error = ErrorText(err, false, ctx.Err() != nil)
		return 0, false
	}
	res.Outcome = StatusOutcome(resp.StatusCode)
	if v := resp.Header.Get("Server-Timing"); v != "" {
		res.Timing = ParseServerTiming(v)
	}
	if res.Outcome != results.OutcomeOK {
		res.Throttle = ThrottleReason(resp.Header.Get(ThrottleHeader))
		return retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return 0, false
}

// fastSender sends HTTP/1.1 with fasthttp's request writer and response
// parser (pooled requests and responses, a fraction of net/http's CPU and
// allocations per request) over a connection pool of our own: fasthttp's
// client pool starts cleaner goroutines that outlive a run, and takes no
// context, while here every attempt is bound to its context and the pool
// starts no goroutines at all.
type fastSender struct {
	h     WireHeaders
	opts  ClientOptions
	mu    sync.Mutex
	pools []*connPool // one per scheme and host; a scan beats hashing
}

func newFastSender(o ClientOptions, h WireHeaders) *fastSender {
	if o.Connections <= 0 {
		o.Connections = 100
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	return &fastSender{h: h, opts: o}
}

func (s *fastSender) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pools {
		p.setAborted(false)
	}
}

func (s *fastSender) warm(ctx context.Context, urls []string, n int) (int, error) {
	var errs []error
	opened := 0
	for _, u := range urls {
		p := s.pool(u)
		k, err := p.warm(ctx, n)
		opened += k
		if err != nil {
			errs = append(errs, fmt.Errorf("open connections to %s: %w", p.addr, err))
		}
	}
	return opened, errors.Join(errs...)
}

func (s *fastSender) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pools {
		p.closeIdle()
	}
}

func (s *fastSender) prune() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, p := range s.pools {
		p.prune(now)
	}
}

func (s *fastSender) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pools {
		p.abort()
	}
}

// pool returns the pool for the request's URL ("http://host:port/…"):
// its scheme and host.
func (s *fastSender) pool(rawURL string) *connPool {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	tlsOn := scheme == "https"
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pools {
		if p.tls == tlsOn && p.host == host {
			return p
		}
	}
	addr := host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		port := "80"
		if tlsOn {
			port = "443"
		}
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), port)
	}
	p := newConnPool(addr, tlsOn, s.opts)
	p.host = strings.Clone(host)
	s.pools = append(s.pools, p)
	return p
}

func (s *fastSender) send(ctx context.Context, q *request, n int, timeout time.Duration, res *results.Result, watch bool) (ra time.Duration, raOK bool) {
	t := q.tmpl
	rawURL := t.url.value()
	if !t.url.static {
		rawURL = unsafe.String(unsafe.SliceData(q.urlBuf), len(q.urlBuf))
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	// Wait for a connection first: a request queued behind the pool holds
	// nothing but its goroutine.
	pool := s.pool(rawURL)
	var note sendingNoter
	if n == 1 {
		note = q
	}
	pc, reused, queued, err := pool.get(ctx, deadline, false, note)
	if err != nil {
		res.End = time.Since(q.r.start)
		res.Outcome = Classify(err, ctx.Err() != nil)
		res.Error = ErrorText(err, false, ctx.Err() != nil)
		return 0, false
	}
	if queued {
		// The attempt is sent now: its wait for one of the pool's busy
		// connections is the generator's lag, not the service's latency
		// (which still counts from the intended start).
		res.Start = time.Since(q.r.start)
	}
	if n == 1 {
		q.sending()
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.DisableNormalizing()
	req.URI().DisablePathNormalizing = true
	req.Header.SetMethod(t.method)
	req.SetRequestURI(rawURL)
	h := &s.h
	var num [20]byte
	req.Header.SetBytesV(h.RequestID, strconv.AppendUint(num[:0], q.id, 10))
	req.Header.SetBytesV(h.Attempt, strconv.AppendInt(num[:0], int64(n), 10))
	if timeout > 0 {
		req.Header.SetBytesV(h.TimeoutMs, strconv.AppendInt(num[:0], timeout.Milliseconds(), 10))
	}
	if q.tenant != "" {
		req.Header.Set(h.Tenant, q.tenant)
	}
	req.Header.Set(h.Priority, t.priority)
	k := 0
	for _, ch := range t.header {
		if ch.value.static {
			req.Header.Add(ch.name, ch.value.value())
			continue
		}
		req.Header.AddBytesV(ch.name, q.headerValue(k))
		k++
	}
	switch {
	case !t.body.static:
		req.SetBodyRaw(q.bodyBuf)
		res.BytesOut = uint32(len(q.bodyBuf))
	case t.bodyLen > 0:
		req.SetBodyString(t.body.value())
		res.BytesOut = uint32(t.bodyLen)
	}
	resp.SkipBody = t.method == http.MethodHead
	nIn, err := pool.do(ctx, deadline, pc, reused, req, resp, watch, t.idempotent)
	res.End = time.Since(q.r.start)
	res.BytesIn = uint32(min(nIn, math.MaxUint32))
	if err != nil {
		res.Outcome = Classify(err, ctx.Err() != nil)
		res.Error = ErrorText(err, reused, ctx.Err() != nil)
		return 0, false
	}
	res.Status = uint16(resp.StatusCode())
	res.Outcome = StatusOutcome(resp.StatusCode())
	if v := resp.Header.Peek("Server-Timing"); len(v) > 0 {
		res.Timing = ParseServerTiming(unsafe.String(&v[0], len(v)))
	}
	if res.Outcome != results.OutcomeOK {
		if v := resp.Header.Peek(ThrottleHeader); len(v) > 0 {
			res.Throttle = ThrottleReason(unsafe.String(&v[0], len(v)))
		}
		if v := resp.Header.Peek("Retry-After"); len(v) > 0 {
			return retry.ParseRetryAfter(string(v), time.Now())
		}
	}
	return 0, false
}
