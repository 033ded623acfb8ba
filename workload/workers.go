package workload

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// crew is one Run's workers: the goroutines that run its requests, each
// request from its start to its final record, then the next one. Its
// methods are safe for concurrent use.
type crew struct {
	r    *Runner
	ctx  context.Context // the run's
	sink Recorder
	wg   sync.WaitGroup // every worker
	idle idleWorkers
	// backlogged reports whether the Go scheduler is backlogged (see
	// schedProbe).
	backlogged func() bool
	// recheck runs recheckWaiting while requests wait; armed says it is
	// due.
	recheck *time.Timer
	armed   atomic.Bool
}

// waitingRecheck is how often, while requests wait for a worker, the crew
// looks whether the scheduler is still backlogged.
const waitingRecheck = time.Millisecond

// newCrew returns the crew of a run of r; stop its recheck when the run's
// workers are done.
func newCrew(ctx context.Context, r *Runner, sink Recorder) *crew {
	c := &crew{r: r, ctx: ctx, sink: sink, backlogged: r.backlogged}
	if c.backlogged == nil {
		c.backlogged = newSchedProbe().backlogged
	}
	c.recheck = time.AfterFunc(time.Hour, c.recheckWaiting)
	c.recheck.Stop()
	return c
}

// dispatch has q run: by the most recently idle worker, or else by a new
// one. Workers outlive their request, so their grown stacks and the
// goroutine itself are reused. While the scheduler is backlogged, a new
// worker would wait to run behind the others: q waits for the next worker
// to become idle instead (its lag counts the wait), and once the
// scheduler is not backlogged, new workers take the requests that waited
// first (see startWaiting and recheckWaiting).
func (c *crew) dispatch(q *request) {
	if c.idle.handOff(q) {
		return
	}
	if c.backlogged() {
		c.idle.wait(q)
		c.armRecheck()
		return
	}
	c.start(c.idle.oldest(q))
}

// armRecheck makes recheckWaiting run waitingRecheck from now, unless it
// is due already.
func (c *crew) armRecheck() {
	if c.armed.CompareAndSwap(false, true) {
		c.recheck.Reset(waitingRecheck)
	}
}

// recheckWaiting starts a worker for the oldest waiting request once the
// scheduler is not backlogged (see startWaiting), and looks again while
// requests wait: when every goroutine is blocked, nothing else would.
func (c *crew) recheckWaiting() {
	c.armed.Store(false)
	c.startWaiting()
	if c.idle.anyWaiting() {
		c.armRecheck()
	}
}

// start starts a worker for q. Once running, the worker first starts
// another for the oldest waiting request (startWaiting): that it runs at
// all shows the scheduler caught up, and so the requests that waited
// while it was backlogged get workers one after the other, each as soon
// as the one before has run.
func (c *crew) start(q *request) {
	c.r.workers.Add(1)
	c.wg.Go(func() {
		c.startWaiting()
		c.work(q, nil)
	})
}

// startWaiting starts a worker for the request that has waited longest,
// if any waits and the scheduler is not backlogged.
func (c *crew) startWaiting() {
	if !c.idle.anyWaiting() || c.backlogged() {
		return
	}
	if q := c.idle.takeOldest(); q != nil {
		c.start(q)
	}
}

// work runs q (nil: it starts idle, and calls parked once idle), then the
// requests handed to it or that wait for a worker, until it is reaped or
// the idle stack closes.
func (c *crew) work(q *request, parked func()) {
	r := c.r
	defer r.workers.Add(-1)
	next := newWorkerChan()
	for {
		if q == nil {
			waited, ok := c.idle.park(next)
			if parked != nil {
				parked()
				parked = nil
			}
			if !ok {
				return
			}
			if q = waited; q == nil {
				if q = <-next; q == nil {
					return
				}
			}
		}
		q.run(c.ctx, c.sink)
		r.inflight.Add(-1)
		q.state = nil
		r.pool.Put(q)
		q = nil
	}
}

// idleWorkers holds the runner's idle workers, the most recently idle on
// top, and the requests that wait for one. The dispatcher hands each
// request to the top one, so a load that keeps k requests in flight keeps
// the same k workers busy, their stacks grown and their memory in cache,
// while the others wait at the bottom until the runner reaps them. A
// channel shared by all the workers would hand requests round every one
// of them in turn: at 25,000 rps with 250 workers ready, each would wake
// once every 10 ms, and each garbage collection, which halves the stack
// of an idle goroutine, would make each grow its stack again on its next
// request.
//
// Requests wait (queue) only while no worker is idle and the Go scheduler
// is backlogged (see schedProbe): a worker that becomes idle takes the
// oldest of them instead of parking.
//
// Safe for concurrent use. The zero value is an empty stack.
type idleWorkers struct {
	mu      sync.Mutex
	stack   []chan *request // each worker's own; buffered, one request
	waiting []*request      // oldest first; empty while a worker is idle
	closed  bool
}

// newWorkerChan returns a worker's channel: it receives the worker's next
// request, or nil when the worker is to end.
func newWorkerChan() chan *request { return make(chan *request, 1) }

// park returns the oldest waiting request for a worker that has become
// idle to run next, or else puts the worker's channel on top; it reports
// false when the stack is closed and nothing waits (the worker should
// end). Requests still waiting at close are run: none is lost.
func (w *idleWorkers) park(ch chan *request) (next *request, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if next = w.popOldest(); next != nil {
		return next, true
	}
	if w.closed {
		return nil, false
	}
	w.stack = append(w.stack, ch)
	return nil, true
}

// handOff gives q to the most recently idle worker, and reports false
// when none is idle.
func (w *idleWorkers) handOff(q *request) bool {
	w.mu.Lock()
	ch := w.popIdle()
	w.mu.Unlock()
	if ch == nil {
		return false
	}
	ch <- q // buffered: the worker takes it when it runs
	return true
}

// wait gives q to the most recently idle worker if one became idle since
// handOff found none, or else makes q wait for the next one.
func (w *idleWorkers) wait(q *request) {
	w.mu.Lock()
	ch := w.popIdle()
	if ch == nil {
		w.waiting = append(w.waiting, q)
	}
	w.mu.Unlock()
	if ch != nil {
		ch <- q
	}
}

// popIdle removes and returns the channel of the most recently idle
// worker, or nil when none is idle. w.mu is held.
func (w *idleWorkers) popIdle() chan *request {
	n := len(w.stack)
	if n == 0 {
		return nil
	}
	ch := w.stack[n-1]
	w.stack[n-1] = nil
	w.stack = w.stack[:n-1]
	return ch
}

// anyWaiting reports whether a request waits for a worker.
func (w *idleWorkers) anyWaiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting) > 0
}

// takeOldest removes and returns the request that has waited longest, or
// nil when none waits.
func (w *idleWorkers) takeOldest() *request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.popOldest()
}

// oldest returns the request that has waited longest, putting q in the
// line behind the others, or q itself when none waits: the request a new
// worker should run first.
func (w *idleWorkers) oldest(q *request) *request {
	w.mu.Lock()
	defer w.mu.Unlock()
	first := w.popOldest()
	if first == nil {
		return q
	}
	w.waiting = append(w.waiting, q)
	return first
}

// popOldest removes and returns the request that has waited longest, or
// nil when none waits. w.mu is held.
func (w *idleWorkers) popOldest() *request {
	if len(w.waiting) == 0 {
		return nil
	}
	q := w.waiting[0]
	w.waiting[0] = nil
	w.waiting = w.waiting[1:]
	return q
}

// reap ends up to n of the workers idle the longest (at the bottom).
func (w *idleWorkers) reap(n int64) {
	w.mu.Lock()
	k := int(min(max(n, 0), int64(len(w.stack))))
	ended := make([]chan *request, k)
	copy(ended, w.stack[:k])
	rest := copy(w.stack, w.stack[k:])
	clear(w.stack[rest:])
	w.stack = w.stack[:rest]
	w.mu.Unlock()
	for _, ch := range ended {
		ch <- nil
	}
}

// close ends every idle worker, and each worker that becomes idle later.
func (w *idleWorkers) close() {
	w.mu.Lock()
	w.closed = true
	ended := w.stack
	w.stack = nil
	w.mu.Unlock()
	for _, ch := range ended {
		ch <- nil
	}
}

// backlogPerProc is how many goroutines may wait for a CPU per GOMAXPROCS
// before the Go scheduler counts as backlogged. Lower is safer: in the
// runs schedProbe describes, at 8 no run of 4 collapsed, at 32 two did,
// at 128 all four.
const backlogPerProc = 8

// schedProbe tells whether the Go scheduler is backlogged: more runnable
// goroutines wait in its run queues than backlogPerProc per GOMAXPROCS.
// Then a new worker would only join the line, and each one costs a
// goroutine and a stack to grow, so a generator that fell behind (at its
// start, in a garbage collection, under a noisy neighbour) made itself
// slower still: the requests in flight, the workers and the connections
// climbed to the in-flight cap and the pool's bound, and the generator
// stayed collapsed for the rest of the run. On a 2-core VM against nginx
// on the same cores, 3 s at 25,000 rps, five runs each, interleaved: with
// a new worker for every request no idle worker took, 5 runs of 5
// collapsed (lag p99 49–89 ms, 1,281–5,505 requests generator_dropped,
// 55–64 µs of CPU a request); with requests waiting while the scheduler
// is backlogged, none did (lag p99 6–44 ms, none dropped, 41–50 µs).
//
// Safe for concurrent use; a read allocates nothing.
type schedProbe struct {
	mu sync.Mutex
	s  [2]metrics.Sample
}

// newSchedProbe returns a probe of the runtime's run queues.
func newSchedProbe() *schedProbe {
	p := &schedProbe{}
	p.s[0].Name = "/sched/goroutines/runnable:goroutines"
	p.s[1].Name = "/sched/gomaxprocs:threads"
	return p
}

// backlogged reports whether the scheduler is backlogged now (one read of
// the run queues' lengths: 130 ns, BenchmarkSchedProbe).
func (p *schedProbe) backlogged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	metrics.Read(p.s[:])
	runnable, procs := p.s[0].Value, p.s[1].Value
	if runnable.Kind() != metrics.KindUint64 || procs.Kind() != metrics.KindUint64 {
		return false // a runtime without these metrics: never wait
	}
	return runnable.Uint64() > backlogPerProc*procs.Uint64()
}
