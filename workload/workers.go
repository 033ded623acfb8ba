package workload

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/goodput-dev/goodput/internal/waitlist"
)

// idleWorkers holds the runner's idle workers, the most recently idle on
// top, and the requests waiting for a worker, oldest first. The dispatcher
// hands each request to the top worker, so a load that keeps k requests in
// flight keeps the same k workers busy, their stacks grown and their
// memory in cache, while the others wait at the bottom until the runner
// reaps them. A channel shared by all the workers would hand requests
// round every one of them in turn: at 25,000 rps with 250 workers ready,
// each would wake once every 10 ms, and each garbage collection, which
// halves the stack of an idle goroutine, would make each grow its stack
// again on its next request.
//
// With no worker idle, a request may wait for the next worker to finish
// instead of getting a new one (see Runner.waitingRoom and
// dispatcher.startWaiting): a worker takes the oldest waiting request
// before it parks, and parks only when none waits.
//
// Safe for concurrent use. The zero value is empty.
type idleWorkers struct {
	mu      sync.Mutex
	stack   []chan *request         // each worker's own; buffered, one request
	waiting waitlist.List[*request] // oldest first
	closed  bool
	// nWaiting is waiting.Len(), written under mu: the dispatcher looks
	// at it for every request, without the lock.
	nWaiting atomic.Int64
}

// newWorkerChan returns a worker's channel: it receives the worker's next
// request, or nil when the worker is to end.
func newWorkerChan() chan *request { return make(chan *request, 1) }

// park returns the oldest waiting request for the worker whose channel is
// ch to run next; with none waiting, it puts ch on top, and returns nil
// and whether the stack is still open (false: the worker should end).
func (w *idleWorkers) park(ch chan *request) (next *request, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if q := w.popOldestLocked(); q != nil {
		return q, true
	}
	if w.closed {
		return nil, false
	}
	w.stack = append(w.stack, ch)
	return nil, true
}

// handOff gives q to the most recently idle worker. With none idle, q
// waits for the next worker to finish if fewer than room requests wait
// already (queued is then its offset on the run's clock). It reports
// whether q was taken or waits; false means q needs a worker of its own.
func (w *idleWorkers) handOff(q *request, room int, queued time.Duration) bool {
	w.mu.Lock()
	n := len(w.stack)
	if n == 0 {
		waits := int(w.nWaiting.Load()) < room
		if waits {
			q.queued = queued
			q.wait.Value = q
			w.waiting.PushBack(&q.wait)
			w.nWaiting.Add(1)
		}
		w.mu.Unlock()
		return waits
	}
	ch := w.stack[n-1]
	w.stack[n-1] = nil
	w.stack = w.stack[:n-1]
	w.mu.Unlock()
	ch <- q // buffered: the worker takes it when it runs
	return true
}

// takeWaitingSince removes and returns the oldest waiting request if it
// began waiting at or before the offset since, else nil.
func (w *idleWorkers) takeWaitingSince(since time.Duration) *request {
	if w.nWaiting.Load() == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.waiting.Front(); e == nil || e.Value.queued > since {
		return nil
	}
	return w.popOldestLocked()
}

// takeAllWaitingSince removes and returns, oldest first, the waiting
// requests that began waiting at or before the offset since.
func (w *idleWorkers) takeAllWaitingSince(since time.Duration) []*request {
	if w.nWaiting.Load() == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var taken []*request
	for e := w.waiting.Front(); e != nil && e.Value.queued <= since; e = w.waiting.Front() {
		taken = append(taken, w.popOldestLocked())
	}
	return taken
}

// popOldestLocked removes and returns the oldest waiting request, or nil.
func (w *idleWorkers) popOldestLocked() *request {
	if w.waiting.Len() == 0 {
		return nil
	}
	w.nWaiting.Add(-1)
	return w.waiting.PopFront()
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

// close ends every idle worker, and each worker that becomes idle later
// with no request waiting.
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
