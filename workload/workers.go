package workload

import "sync"

// idleWorkers holds the runner's idle workers, the most recently idle on
// top. The dispatcher hands each request to the top one, so a load that
// keeps k requests in flight keeps the same k workers busy, their stacks
// grown and their memory in cache, while the others wait at the bottom
// until the runner reaps them. A channel shared by all the workers would
// hand requests round every one of them in turn: at 25,000 rps with 250
// workers ready, each would wake once every 10 ms, and each garbage
// collection, which halves the stack of an idle goroutine, would make each
// grow its stack again on its next request.
//
// Safe for concurrent use. The zero value is an empty stack.
type idleWorkers struct {
	mu     sync.Mutex
	stack  []chan *request // each worker's own; buffered, one request
	closed bool
}

// newWorkerChan returns a worker's channel: it receives the worker's next
// request, or nil when the worker is to end.
func newWorkerChan() chan *request { return make(chan *request, 1) }

// park puts the channel of a worker that has become idle on top, and
// reports false when the stack is closed (the worker should end).
func (w *idleWorkers) park(ch chan *request) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.stack = append(w.stack, ch)
	return true
}

// handOff gives q to the most recently idle worker, and reports false
// when none is idle.
func (w *idleWorkers) handOff(q *request) bool {
	w.mu.Lock()
	n := len(w.stack)
	if n == 0 {
		w.mu.Unlock()
		return false
	}
	ch := w.stack[n-1]
	w.stack[n-1] = nil
	w.stack = w.stack[:n-1]
	w.mu.Unlock()
	ch <- q // buffered: the worker takes it when it runs
	return true
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
