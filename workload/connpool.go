package workload

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/goodput-dev/goodput/internal/waitlist"
)

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
// and takes whichever comes first, a connection another request frees or
// its dial's; the other joins the pool. So a burst of requests at a cold start or after
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
	// spare holds *connWaiter for reuse: at the pool's bound every request
	// waits, and a waiter, its channel and its deadline timer cost 6
	// allocations a wait (BenchmarkConnPoolWaitForABusyConnection).
	spare sync.Pool
}

type pconn struct {
	c       net.Conn
	m       meter // under br and bw
	br      *bufio.Reader
	bw      *bufio.Writer
	lastUse time.Time
	// aw is rw when it can send a request's last bytes and wait for the
	// answer in one go (raw I/O); nil otherwise.
	aw answerAwaiter
	// answered is when the connection's last answer was read; zero
	// before the first. Only its exchange uses it.
	answered time.Time
}

// answerAwaiter is a connection writer whose next Write, the last of a
// request, can also wait for the answer (rawIO.awaitAnswer).
type answerAwaiter interface{ awaitAnswer() }

// awaitFresh is how soon after its previous answer a connection sends a
// request with answerAwaiter. A connection idle for longer may have been
// closed by the server while idle, and a half-closed one would give no
// new readiness to wait for: its first read finds the end of the stream
// as before.
const awaitFresh = time.Second

// newPconn returns a connection whose buffered reader and writer go
// through a meter to rw (c itself, or raw I/O on it).
func newPconn(c net.Conn, rw io.ReadWriter) *pconn {
	pc := &pconn{c: c, m: meter{rw: rw}}
	pc.aw, _ = rw.(answerAwaiter)
	pc.br = bufio.NewReaderSize(&pc.m, connBuffer)
	pc.bw = bufio.NewWriterSize(&pc.m, connBuffer)
	pc.touchBuffers()
	return pc
}

// connBuffer is the size of a connection's read and write buffers.
const connBuffer = 4096

// zeroBuffer is a connection buffer's worth of zeros: touchBuffers' source.
// Never written.
var zeroBuffer [connBuffer]byte

// touchBuffers writes into pc's read and write buffers and empties them
// again, so that their memory, fresh from the operating system, faults in
// now (for the connections a run opens before its start, before the
// start) and not in the connection's first request. With 330 connections
// ready at 33,000 rps against nginx on 2 cores, page faults took 30% of
// the CPU samples of a run's first 60 ms, a quarter of them in requests'
// first writes into fresh write buffers; touched, 7 runs of 10 had a lag
// p99 under 5 ms, against 2 of 10.
func (pc *pconn) touchBuffers() {
	pc.bw.Write(zeroBuffer[:pc.bw.Available()]) // fits: buffered, not sent
	pc.bw.Reset(&pc.m)
	pc.br.Reset(bytes.NewReader(zeroBuffer[:]))
	pc.br.Peek(connBuffer) // fills the buffer
	pc.br.Reset(&pc.m)
}

// meter counts the bytes read from and written to a connection (accepted
// by the kernel, so sent or about to be) since an exchange began. Not safe
// for concurrent use: a connection carries one exchange at a time.
type meter struct {
	rw      io.ReadWriter
	in, out int64
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.rw.Read(p)
	m.in += int64(n)
	return n, err
}

func (m *meter) Write(p []byte) (int, error) {
	n, err := m.rw.Write(p)
	m.out += int64(n)
	return n, err
}

// connWaiter is a request waiting for a connection, and its node in the
// pool's queue. fresh waiters take only new connections.
type connWaiter struct {
	waitlist.Elem[*connWaiter]
	fresh  bool
	dialed bool            // a dial was started for it (under the pool's mu)
	ch     chan connResult // buffered: a hand-off never blocks
	timer  *time.Timer     // its deadline; kept with the waiter for reuse
}

// waiter returns a connWaiter for one wait, a spare one when there is one.
func (p *connPool) waiter(fresh bool) *connWaiter {
	w, _ := p.spare.Get().(*connWaiter)
	if w == nil {
		w = &connWaiter{ch: make(chan connResult, 1)}
		w.Value = w
	}
	w.fresh = fresh
	return w
}

// until returns a channel that fires at deadline, from w's timer.
func (w *connWaiter) until(deadline time.Time) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(time.Until(deadline))
	} else {
		w.timer.Reset(time.Until(deadline))
	}
	return w.timer.C
}

// stop stops w's deadline timer.
func (w *connWaiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
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
		p.tlsConf = tlsFor(o.TLS, host, "http/1.1")
	}
	return p
}

var errAborted = errors.New("run interrupted: no new connections")

// errNoConn is returned when no connection came free before the deadline.
var errNoConn = fmt.Errorf("no free connection before the attempt's deadline: %w", os.ErrDeadlineExceeded)

// do sends req and reads resp on pc, a connection from get (reused: it
// carried requests before), bounded by deadline (zero: none) and ctx, and
// gives pc back. It reads the body in bounded chunks and discards it,
// returning its length in bytes (as far as it was read, on error).
//
// A request that fails on a reused connection before any byte of an
// answer (the server closed the connection while it was idle) is sent
// once more on a new connection, as every HTTP client does, but only when
// that cannot make the service see it twice behind the results' back
// (RFC 9110 §9.2.2): the request is idempotent, or none of its bytes left.
// Otherwise the failure is the attempt's, and the retry policy decides.
func (p *connPool) do(ctx context.Context, deadline time.Time, pc *pconn, reused bool, req *fasthttp.Request, resp *fasthttp.Response, watch, idempotent bool) (int64, error) {
	skipBody := resp.SkipBody
	for try := 0; ; try++ {
		if try > 0 {
			var err error
			if pc, reused, _, err = p.get(ctx, deadline, true, nil); err != nil {
				return 0, err
			}
		}
		n, err := p.exchange(ctx, pc, deadline, req, resp, watch)
		if err == nil {
			p.put(pc, !resp.ConnectionClose())
			return n, nil
		}
		resend := reused && try == 0 && ctx.Err() == nil && pc.m.in == 0 && staleConn(err) &&
			(idempotent || pc.m.out == 0)
		p.put(pc, false)
		if !resend {
			return n, err
		}
		resp.Reset()
		resp.SkipBody = skipBody
	}
}

// staleConn reports whether err is what a connection the server closed
// while idle gives on first use.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, fasthttp.ErrConnectionClosed)
}

// exchange writes req, reads resp's header on pc and drains its body,
// returning the body's length in bytes. With watch, ctx ending sets the
// connection's deadline in the past, which unblocks its I/O.
func (p *connPool) exchange(ctx context.Context, pc *pconn, deadline time.Time, req *fasthttp.Request, resp *fasthttp.Response, watch bool) (int64, error) {
	pc.m.in, pc.m.out = 0, 0
	if err := pc.c.SetDeadline(deadline); err != nil {
		return 0, err
	}
	stop := func() bool { return true }
	if watch {
		stop = context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(time.Unix(1, 0)) })
	}
	var n int64
	err := req.Write(pc.bw)
	if err == nil {
		// The request's last bytes leave with Flush's one Write: on a
		// connection that answered just now, that Write also waits for
		// the answer (see rawIO.awaitAnswer).
		if pc.aw != nil && pc.bw.Buffered() > 0 && !pc.answered.IsZero() && time.Since(pc.answered) < awaitFresh {
			pc.aw.awaitAnswer()
		}
		err = pc.bw.Flush()
	}
	if err == nil {
		resp.StreamBody = true
		err = resp.Read(pc.br)
	}
	if err == nil {
		n, err = discardBody(resp)
	}
	if err == nil {
		pc.answered = time.Now()
	}
	if !stop() && err == nil {
		// Canceled just as the answer came: the connection's deadline is
		// in the past; the answer stands, the connection goes.
		resp.SetConnectionClose()
	}
	return n, err
}

// discardBody reads resp's streamed body to its end and discards it, a
// buffer (io.Discard's, pooled) at a time, so that a body of any size
// costs no memory; it returns how many bytes it read. A body cut short
// (fewer bytes than its Content-Length, a chunk missing) is an error;
// after a nil error the connection is where the next answer starts.
func discardBody(resp *fasthttp.Response) (int64, error) {
	body := resp.BodyStream()
	if body == nil { // no body: HEAD, 204, 304
		return 0, nil
	}
	n, err := io.Copy(io.Discard, body)
	if cerr := resp.CloseBodyStream(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("read the body after %d bytes: %w", n, err)
	}
	return n, nil
}

// sendingNoter is told that a request has left the generator's backlog
// (see dispatcher.backlogged): it has a connection, or waits for one
// being dialed, which is the service's time as the handshake is.
type sendingNoter interface{ sending() }

// get returns an idle connection, or waits for one (a new one, when fresh)
// until deadline (zero: none) or ctx ends. reused says the connection
// carried requests before; queued, that another request finished with
// it while this one waited: none was idle and none was dialed in time,
// so the wait was for the pool, not for the service. When get dials a
// connection for the request, it tells note (when not nil) before it
// waits; a wait for the pool's bound or for its dials already in
// progress (at most maxDials) is the generator's own backlog.
func (p *connPool) get(ctx context.Context, deadline time.Time, fresh bool, note sendingNoter) (pc *pconn, reused, queued bool, err error) {
	now := time.Now()
	p.mu.Lock()
	if p.aborted {
		p.mu.Unlock()
		return nil, false, false, errAborted
	}
	for !fresh && len(p.idle) > 0 {
		pc = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(pc.lastUse) > idleTimeout {
			p.open--
			_ = pc.c.Close()
			continue
		}
		p.busy[pc] = struct{}{}
		p.mu.Unlock()
		if note != nil {
			note.sending()
		}
		return pc, true, false, nil
	}
	w := p.waiter(fresh)
	p.waiters.PushBack(&w.Elem)
	if fresh && p.open >= p.max && len(p.idle) > 0 && p.dialing < maxDials {
		// Only a new connection will do, and idle ones fill the bound:
		// the one idle longest makes room for it.
		_ = p.idle[0].c.Close()
		p.idle = slices.Delete(p.idle, 0, 1)
		p.open--
	}
	dials := p.open < p.max && p.dialing < maxDials
	if dials {
		p.dialFor(w)
	}
	p.mu.Unlock()
	if dials && note != nil {
		note.sending()
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		timeout = w.until(deadline)
	}
	select {
	case r := <-w.ch:
		w.stop()
		// A waiter that was handed a connection is held by nothing else and
		// its channel is empty; it waits again unless a dial started for it
		// is in flight, which would look for it in the queue when it ends.
		// At the pool's bound no dial starts: the many waits there reuse
		// their waiters.
		if !w.dialed {
			p.spare.Put(w)
		}
		return r.pc, r.reused, r.reused, r.err
	case <-ctx.Done():
		w.stop()
		p.abandon(w)
		return nil, false, false, ctx.Err()
	case <-timeout:
		p.abandon(w)
		return nil, false, false, errNoConn
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
	w.dialed = true
	p.open++
	p.dialing++
	ctx := p.dialCtx
	p.dials.Go(func() {
		pc, err := p.connect(ctx) // not under p.mu: a dial takes a round trip
		p.mu.Lock()
		defer p.mu.Unlock()
		pc, err = p.dialed(pc, err)
		if err != nil {
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

// dialed accounts for a finished dial (counted in p.open and p.dialing
// when it began): a connection that arrives after an abort is closed, and
// a failed dial frees its place under the bound. p.mu is held.
func (p *connPool) dialed(pc *pconn, err error) (*pconn, error) {
	p.dialing--
	if err == nil && p.aborted {
		_ = pc.c.Close()
		err = errAborted
	}
	if err != nil {
		p.open--
		return nil, err
	}
	return pc, nil
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
// When pc is reused and requests wait only for new connections (to send
// again) that are not being dialed, it closes pc instead to make room for
// their dial: kept idle in a pool at its bound, it would leave them
// waiting until their deadlines. p.mu is held.
func (p *connPool) handOff(pc *pconn, reused bool) {
	for e := p.waiters.Front(); e != nil; e = e.Next() {
		if w := e.Value; !reused || !w.fresh {
			p.waiters.Remove(e)
			p.busy[pc] = struct{}{}
			w.ch <- connResult{pc: pc, reused: reused}
			return
		}
	}
	if reused && p.waiters.Len() > p.dialing {
		p.open--
		_ = pc.c.Close()
		p.redial()
		return
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
	return newPconn(c, rw), nil
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

// warm dials connections until n (at most the pool's bound) are open, at
// most maxDials at once, and leaves the new ones idle: a run's first
// requests then find them ready instead of paying for the TCP (and TLS)
// handshakes in their latency. It stops at the first failed dial (the
// requests will meet the same failure, and record it), when ctx ends, or
// when the pool is aborted, and returns how many connections are open
// and the dial error, if any. The dials it starts have ended when it
// returns.
func (p *connPool) warm(ctx context.Context, n int) (int, error) {
	n = min(n, p.max)
	var (
		wg      sync.WaitGroup
		errMu   sync.Mutex
		dialErr error
	)
	failed := func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return dialErr != nil
	}
	sem := make(chan struct{}, maxDials)
	for ctx.Err() == nil && !failed() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		if failed() { // while this waited for a slot
			<-sem
			break
		}
		p.mu.Lock()
		if p.aborted || p.open >= n {
			p.mu.Unlock()
			<-sem
			break
		}
		p.open++
		p.dialing++
		p.mu.Unlock()
		wg.Go(func() {
			defer func() { <-sem }()
			pc, err := p.connect(ctx)
			p.mu.Lock()
			defer p.mu.Unlock()
			pc, err = p.dialed(pc, err)
			if err != nil {
				p.redial()
				errMu.Lock()
				dialErr = cmp.Or(dialErr, err)
				errMu.Unlock()
				return
			}
			p.handOff(pc, false)
		})
	}
	wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if dialErr == nil && ctx.Err() != nil && p.open < n {
		dialErr = ctx.Err()
	}
	return p.open, dialErr
}
