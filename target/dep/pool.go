package dep

import (
	"context"
	"sync"
)

// pool is a counting semaphore with a FIFO wait list and a size that can
// change while calls hold slots. A shrink takes effect as slots are
// released: no slot is taken away from a call that holds it.
//
// A pool is safe for concurrent use. The zero value has size 0 and admits
// nobody until resized.
type pool struct {
	mu      sync.Mutex
	size    int
	used    int
	waiters []chan struct{} // FIFO; a waiter's channel is closed when it is granted a slot
}

// acquire takes a slot, waiting in FIFO order. It gives up when ctx ends,
// like database/sql waiting for a connection.
func (p *pool) acquire(ctx context.Context) error {
	p.mu.Lock()
	if p.used < p.size && len(p.waiters) == 0 {
		p.used++
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range p.waiters {
			if w == ch {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return ctx.Err()
			}
		}
		p.mu.Unlock()
		// Granted at the same moment ctx ended: hand the slot back.
		p.release()
		return ctx.Err()
	}
}

// release frees a slot and grants it to the longest waiter.
func (p *pool) release() {
	p.mu.Lock()
	p.used--
	p.grantLocked()
	p.mu.Unlock()
}

// resize sets the number of slots. Growing grants slots to waiters at once.
func (p *pool) resize(n int) {
	p.mu.Lock()
	p.size = n
	p.grantLocked()
	p.mu.Unlock()
}

func (p *pool) grantLocked() {
	for p.used < p.size && len(p.waiters) > 0 {
		close(p.waiters[0])
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
