package bulkhead

import (
	"context"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/internal/waitlist"
)

// sem is a counting semaphore with a bounded FIFO wait: the core of Pool
// and Workers. Safe for concurrent use.
type sem struct {
	size       int
	maxWaiters int
	maxWait    time.Duration

	mu    sync.Mutex
	inUse int
	queue waitlist.List[*semWaiter] // FIFO
}

// semWaiter is one waiting caller and its node in the queue.
type semWaiter struct {
	waitlist.Elem[*semWaiter]
	ready   chan struct{} // buffered 1; signalled when the slot is handed over
	granted bool
}

// acquire takes a slot, waiting if it must. It returns how long it waited,
// or ErrFull, ErrWaitTimeout or ctx's error.
func (s *sem) acquire(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	if s.inUse < s.size {
		s.inUse++
		s.mu.Unlock()
		return 0, nil
	}
	if s.queue.Len() >= s.maxWaiters {
		s.mu.Unlock()
		return 0, ErrFull
	}
	w := &semWaiter{ready: make(chan struct{}, 1)}
	w.Value = w
	s.queue.PushBack(&w.Elem)
	s.mu.Unlock()

	start := time.Now()
	t := time.NewTimer(s.maxWait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return time.Since(start), nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = ErrWaitTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		// The slot arrived as we gave up: pass it on.
		s.releaseLocked()
		return 0, err
	}
	s.queue.Remove(&w.Elem)
	return 0, err
}

// release frees a slot, handing it to the oldest waiter if there is one.
func (s *sem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *sem) releaseLocked() {
	if s.queue.Len() == 0 {
		s.inUse--
		return
	}
	w := s.queue.PopFront()
	w.granted = true
	w.ready <- struct{}{}
}

// counts returns the slots in use and the callers waiting.
func (s *sem) counts() (inUse, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse, s.queue.Len()
}
