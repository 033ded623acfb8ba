package workload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/goodput-dev/goodput/internal/waitlist"
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

func (s *netSender) closeIdle() { s.c.CloseIdleConnections() }

// prune does nothing: net/http's transport closes idle connections itself.
func (s *netSender) prune() {}

func (s *netSender) send(ctx context.Context, q *request, n int, timeout time.Duration, res *results.Result, _ bool) (time.Duration, bool) {
	t := q.tmpl
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
		return 0, false
	}
	nIn, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	res.End = time.Since(q.r.start)
	res.BytesIn = uint32(min(nIn, 1<<32-1))
	res.Status = uint16(resp.StatusCode)
	if err != nil {
		res.Outcome = Classify(err, ctx.Err() != nil)
		return 0, false
	}
	res.Outcome = StatusOutcome(resp.StatusCode)
	if v := resp.Header.Get("Server-Timing"); v != "" {
		res.Timing = ParseServerTiming(v)
	}
	if res.Outcome != results.OutcomeOK {
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
	pc, reused, err := pool.get(ctx, deadline, false)
	if err != nil {
		res.End = time.Since(q.r.start)
		res.Outcome = Classify(err, ctx.Err() != nil)
		return 0, false
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.DisableNormalizing()
	req.URI().DisablePathNormalizing = true
	req.Header.SetMethod(t.method)
	req.SetRequestURI(rawURL)
	req.Header.SetUserAgent("goodput-loadgen")
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
	err = pool.do(ctx, deadline, pc, reused, req, resp, watch)
	res.End = time.Since(q.r.start)
	if err != nil {
		res.Outcome = Classify(err, ctx.Err() != nil)
		return 0, false
	}
	res.Status = uint16(resp.StatusCode())
	res.BytesIn = uint32(min(len(resp.Body()), 1<<32-1))
	res.Outcome = StatusOutcome(resp.StatusCode())
	if v := resp.Header.Peek("Server-Timing"); len(v) > 0 {
		res.Timing = ParseServerTiming(unsafe.String(&v[0], len(v)))
	}
	if res.Outcome != results.OutcomeOK {
		if v := resp.Header.Peek("Retry-After"); len(v) > 0 {
			return retry.ParseRetryAfter(string(v), time.Now())
		}
	}
	return 0, false
}

// idleTimeout is how long an idle connection is trusted; older ones are
// closed rather than reused (servers close idle connections too).
const idleTimeout = 30 * time.Second

// maxDials bounds the connections a pool dials at once. A burst of
// requests at a cold start (or after a hiccup) would otherwise open one
// connection each, up to the pool's bound, though connections free up
// within microseconds: on a 2-core machine, 3 s at 40,000 rps with 1,000
// connections allowed measured a lag p99 of 27 ms, most of it from that
// storm of dials at the start, against 4 ms with at most 16 dials at once.
const maxDials = 16

// connPool is a bounded pool of keep-alive connections to one address: at
// most max connections are open (in use, idle or being dialed) at once. A
// request that finds no idle connection waits for one, as net/http's
// Transport does: it starts a dial when the bounds allow (max, maxDials),
// and takes
// whichever comes first, a connection another request frees or its dial's;
// the other joins the pool. So a burst of requests at a cold start or after
// a hiccup does not dial one connection each while the connections they
// would have had free up in microseconds. Safe for concurrent use; the
// only goroutines it starts are dials, which end with their dial timeout,
// abort or closeIdle.
type connPool struct {
	host    string // as in the URL
	addr    string // host:port
	tls     bool
	tlsConf *tls.Config
	dialer  net.Dialer
	dial    func(ctx context.Context, network, addr string) (net.Conn, error) // dialer.DialContext; tests replace it
	max     int

	mu        sync.Mutex
	idle      []*pconn // LIFO
	busy      map[*pconn]struct{}
	open      int                        // connections busy, idle or being dialed
	dialing   int                        // of which being dialed
	waiters   waitlist.List[*connWaiter] // FIFO; in it while waiting
	aborted   bool
	dialCtx   context.Context // ends the dials in progress when canceled
	stopDials context.CancelFunc
	dials     sync.WaitGroup
}

type pconn struct {
	c       net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	lastUse time.Time
}

// connWaiter is a request waiting for a connection, and its node in the
// pool's queue. fresh waiters take only new connections.
type connWaiter struct {
	waitlist.Elem[*connWaiter]
	fresh bool
	ch    chan connResult // buffered: a hand-off never blocks
}

type connResult struct {
	pc     *pconn
	reused bool
	err    error
}

func newConnPool(addr string, tlsOn bool, o ClientOptions) *connPool {
	p := &connPool{
		addr:   addr,
		tls:    tlsOn,
		dialer: net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second},
		max:    o.Connections,
		busy:   map[*pconn]struct{}{},
	}
	p.dial = p.dialer.DialContext
	p.dialCtx, p.stopDials = context.WithCancel(context.Background())
	if tlsOn {
		host, _, _ := net.SplitHostPort(addr)
		p.tlsConf = &tls.Config{ServerName: host, InsecureSkipVerify: o.Insecure, NextProtos: []string{"http/1.1"}} //nolint:gosec // opt-in via --insecure
	}
	return p
}

var errAborted = errors.New("run interrupted: no new connections")

// errNoConn is returned when no connection came free before the deadline.
var errNoConn = fmt.Errorf("no free connection before the attempt's deadline: %w", os.ErrDeadlineExceeded)

// do sends req and reads resp on pc, a connection from get (reused: it
// carried requests before), bounded by deadline (zero: none) and ctx, and
// gives pc back. A request that fails on a reused connection before
// any answer (the server closed it while idle) is sent once more on a new
// connection, as every HTTP client does.
func (p *connPool) do(ctx context.Context, deadline time.Time, pc *pconn, reused bool, req *fasthttp.Request, resp *fasthttp.Response, watch bool) error {
	for try := 0; ; try++ {
		if try > 0 {
			var err error
			if pc, reused, err = p.get(ctx, deadline, true); err != nil {
				return err
			}
		}
		err := p.exchange(ctx, pc, deadline, req, resp, watch)
		if err == nil {
			p.put(pc, !resp.ConnectionClose())
			return nil
		}
		p.put(pc, false)
		if !reused || try > 0 || ctx.Err() != nil || !staleConn(err) {
			return err
		}
		resp.Reset()
	}
}

// staleConn reports whether err is what a connection the server closed
// while idle gives on first use.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, fasthttp.ErrConnectionClosed)
}

// exchange writes req and reads resp on pc. With watch, ctx ending sets
// the connection's deadline in the past, which unblocks its I/O.
func (p *connPool) exchange(ctx context.Context, pc *pconn, deadline time.Time, req *fasthttp.Request, resp *fasthttp.Response, watch bool) error {
	if err := pc.c.SetDeadline(deadline); err != nil {
		return err
	}
	stop := func() bool { return true }
	if watch {
		stop = context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(time.Unix(1, 0)) })
	}
	err := req.Write(pc.bw)
	if err == nil {
		err = pc.bw.Flush()
	}
	if err == nil {
		err = resp.Read(pc.br)
	}
	if !stop() && err == nil {
		// Canceled just as the answer came: the connection's deadline is
		// in the past; the answer stands, the connection goes.
		resp.SetConnectionClose()
	}
	return err
}

// get returns an idle connection, or waits for one (a new one, when fresh)
// until deadline (zero: none) or ctx ends. reused says the connection
// carried requests before.
func (p *connPool) get(ctx context.Context, deadline time.Time, fresh bool) (*pconn, bool, error) {
	now := time.Now()
	p.mu.Lock()
	if p.aborted {
		p.mu.Unlock()
		return nil, false, errAborted
	}
	for !fresh && len(p.idle) > 0 {
		pc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(pc.lastUse) > idleTimeout {
			p.open--
			_ = pc.c.Close()
			continue
		}
		p.busy[pc] = struct{}{}
		p.mu.Unlock()
		return pc, true, nil
	}
	w := &connWaiter{fresh: fresh, ch: make(chan connResult, 1)}
	w.Value = w
	p.waiters.PushBack(&w.Elem)
	if p.open < p.max && p.dialing < maxDials {
		p.dialFor(w)
	}
	p.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case r := <-w.ch:
		return r.pc, r.reused, r.err
	case <-ctx.Done():
		p.abandon(w)
		return nil, false, ctx.Err()
	case <-timeout:
		p.abandon(w)
		return nil, false, errNoConn
	}
}

// abandon takes back w, which stopped waiting; a connection handed to it
// meanwhile goes to the next waiter or the idle list.
func (p *connPool) abandon(w *connWaiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiters.Remove(&w.Elem) {
		return
	}
	if r := <-w.ch; r.pc != nil {
		delete(p.busy, r.pc)
		p.handOff(r.pc, r.reused)
	}
}

// dialFor dials a connection, first offered to w. p.mu is held and
// p.open < p.max.
func (p *connPool) dialFor(w *connWaiter) {
	p.open++
	p.dialing++
	ctx := p.dialCtx
	p.dials.Go(func() {
		pc, err := p.connect(ctx)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.dialing--
		if err == nil && p.aborted {
			_ = pc.c.Close()
			err = errAborted
		}
		if err != nil {
			p.open--
			if p.waiters.Remove(&w.Elem) {
				w.ch <- connResult{err: err}
			}
			p.redial()
			return
		}
		if p.waiters.Remove(&w.Elem) {
			p.busy[pc] = struct{}{}
			w.ch <- connResult{pc: pc}
		} else {
			p.handOff(pc, false)
		}
		p.redial()
	})
}

// redial starts a dial when requests wait for more connections than are
// being dialed and the bound allows (a connection closed, or a dial
// failed). The connection goes to whoever waits first when it is ready.
// p.mu is held.
func (p *connPool) redial() {
	if !p.aborted && p.waiters.Len() > p.dialing && p.open < p.max && p.dialing < maxDials {
		p.dialFor(p.waiters.Front().Value)
	}
}

// handOff gives pc to the first waiter that takes it, or to the idle list.
// p.mu is held.
func (p *connPool) handOff(pc *pconn, reused bool) {
	for e := p.waiters.Front(); e != nil; e = e.Next() {
		if w := e.Value; !reused || !w.fresh {
			p.waiters.Remove(e)
			p.busy[pc] = struct{}{}
			w.ch <- connResult{pc: pc, reused: reused}
			return
		}
	}
	pc.lastUse = time.Now()
	p.idle = append(p.idle, pc)
}

// connect dials a connection (TLS when the pool's scheme says so) within
// the dial timeout, until ctx ends.
func (p *connPool) connect(ctx context.Context) (*pconn, error) {
	c, err := p.dial(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.tls {
		hctx, cancel := context.WithTimeout(ctx, p.dialer.Timeout)
		defer cancel()
		tc := tls.Client(c, p.tlsConf)
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = c.Close()
			return nil, err
		}
		c = tc
	}
	var rw io.ReadWriter = c
	if r := newRawIO(c); r != nil { // plain TCP: see rawIO
		rw = r
	}
	return &pconn{c: c, br: bufio.NewReaderSize(rw, 4096), bw: bufio.NewWriterSize(rw, 4096)}, nil
}

// put returns pc to the pool (to a waiter or the idle list), or closes it.
func (p *connPool) put(pc *pconn, reuse bool) {
	p.mu.Lock()
	delete(p.busy, pc)
	if reuse && !p.aborted {
		p.handOff(pc, true)
		p.mu.Unlock()
		return
	}
	p.open--
	p.redial()
	p.mu.Unlock()
	_ = pc.c.Close()
}

// setAborted(true) is abort without closing; setAborted(false) readies the
// pool for a new run.
func (p *connPool) setAborted(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted = v
	if !v && p.dialCtx.Err() != nil {
		p.dialCtx, p.stopDials = context.WithCancel(context.Background())
	}
}

// abort closes every connection, busy or idle, ends the dials, fails the
// waiting requests and refuses new ones.
func (p *connPool) abort() {
	p.mu.Lock()
	p.aborted = true
	p.stopDials()
	conns := make([]net.Conn, 0, len(p.busy)+len(p.idle))
	for pc := range p.busy {
		conns = append(conns, pc.c)
	}
	for _, pc := range p.idle {
		conns = append(conns, pc.c)
	}
	p.open -= len(p.idle)
	p.idle = nil
	for p.waiters.Len() > 0 {
		p.waiters.PopFront().ch <- connResult{err: errAborted}
	}
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// prune closes the connections idle for longer than idleTimeout at now: the
// idle list is LIFO, so they are at its bottom. Those a surge opened then
// go rather than wait for Run's end.
func (p *connPool) prune(now time.Time) {
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].lastUse) > idleTimeout {
		n++
	}
	old := slices.Clone(p.idle[:n])
	p.idle = slices.Delete(p.idle, 0, n)
	p.open -= n
	p.mu.Unlock()
	for _, pc := range old {
		_ = pc.c.Close()
	}
}

// closeIdle ends the dials in progress (nobody waits for them: the run is
// over), waits for them, and closes the idle connections.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	p.stopDials()
	p.mu.Unlock()
	p.dials.Wait()
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	for _, pc := range idle {
		_ = pc.c.Close()
	}
}
