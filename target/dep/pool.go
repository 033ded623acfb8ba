package dep

import (
	"context"
	"sync"
	"time"
)

// pool is a counting semaphore with a FIFO wait list and a size that can
// change while calls hold slots. A shrink takes effect as slots are
// released: no slot is taken away from a call that holds it.
//
// A slot handed from one call to a waiting one passes on the moment the
// first call was due to end, not the moment its goroutine got round to
// releasing it: the waiter's call is timed from there. So a late timer or
// a slow wake-up does not lengthen every call a busy slot serves, and a
// pool of P slots held L each serves P/L calls per second on the real
// clock as on a fake one.
//
// A pool is safe for concurrent use. The zero value has size 0 and admits
// nobody until resized.
type pool struct {
	mu      sync.Mutex
	size    int
	used    int
	waiters []*waiter // FIFO
	freeAt  time.Time // when the slot being released was due to be free
}

// waiter is one call waiting for a slot: ready is closed when it is
// granted one, after start is set.
type waiter struct {
	ready chan struct{}
	since time.Time // when it started waiting
	start time.Time // when its slot became free (set before ready closes)
}

// acquire takes a slot, waiting in FIFO order, and returns when the slot
// became this call's: now, or for a waiter the moment the slot's previous
// call was due to end (never before the waiter arrived). It gives up when
// ctx ends, like database/sql waiting for a connection.
func (p *pool) acquire(ctx context.Context) (time.Time, error) {
	now := time.Now()
	p.mu.Lock()
	if p.used < p.size && len(p.waiters) == 0 {
		p.used++
		p.mu.Unlock()
		return now, nil
	}
	w := &waiter{ready: make(chan struct{}), since: now}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()

	select {
	case <-w.ready:
		return w.start, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, x := range p.waiters {
			if x == w {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return time.Time{}, ctx.Err()
			}
		}
		p.mu.Unlock()
		// Granted at the same moment ctx ended: hand the slot back.
		p.release(time.Now())
		return time.Time{}, ctx.Err()
	}
}

// release frees a slot that was due to be free at due (≤ now) and grants
// it to the longest waiter.
func (p *pool) release(due time.Time) {
	p.mu.Lock()
	p.used--
	p.freeAt = due
	p.grantLocked()
	p.mu.Unlock()
}

// resize sets the number of slots. Growing grants slots to waiters at once.
func (p *pool) resize(n int) {
	p.mu.Lock()
	p.size = n
	p.freeAt = time.Now()
	p.grantLocked()
	p.mu.Unlock()
}

// grantLocked hands free slots to waiters in order; each starts when the
// slot became free (p.freeAt), or when it arrived if that was later.
func (p *pool) grantLocked() {
	for p.used < p.size && len(p.waiters) > 0 {
		w := p.waiters[0]
		w.start = w.since
		if p.freeAt.After(w.since) {
			w.start = p.freeAt
		}
		close(w.ready)
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		p.used++
	}
}

// stats returns the slots in use, the calls waiting and the size.
func (p *pool) stats() (inUse, queued, size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used, len(p.waiters), p.size
}
