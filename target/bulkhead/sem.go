package bulkhead

import (
	"context"
	"sync"
	"time"
)

// sem is a counting semaphore with a bounded FIFO wait: the core of Pool
// and Workers. Safe for concurrent use.
type sem struct {
	size       int
	maxWaiters int
	maxWait    time.Duration

	mu      sync.Mutex
	inUse   int
	waiting int
	head    *semWaiter // oldest
	tail    *semWaiter
}

// semWaiter is one waiting caller and its node in the FIFO list.
type semWaiter struct {
	next, prev *semWaiter
	ready      chan struct{} // buffered 1; signalled when the slot is handed over
	granted    bool
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
	if s.waiting >= s.maxWaiters {
		s.mu.Unlock()
		return 0, ErrFull
	}
	w := &semWaiter{ready: make(chan struct{}, 1)}
	s.push(w)
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
	s.remove(w)
	return 0, err
}

// release frees a slot, handing it to the oldest waiter if there is one.
func (s *sem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *sem) releaseLocked() {
	if s.head == nil {
		s.inUse--
		return
	}
	w := s.head
	s.remove(w)
	w.granted = true
	w.ready <- struct{}{}
}

func (s *sem) push(w *semWaiter) {
	w.prev = s.tail
	if s.tail != nil {
		s.tail.next = w
	} else {
		s.head = w
	}
	s.tail = w
	s.waiting++
}

func (s *sem) remove(w *semWaiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		s.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		s.tail = w.prev
	}
	w.next, w.prev = nil, nil
	s.waiting--
}

// counts returns the slots in use and the callers waiting.
func (s *sem) counts() (inUse, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse, s.waiting
}
