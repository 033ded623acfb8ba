package shed

import "time"

// waiter is one request waiting in a Shedder's queue; it is also the node
// of the queue's intrusive list. The Shedder's lock guards every field but
// ready.
type waiter struct {
	prev, next *waiter
	enqueued   time.Time
	deadline   time.Time     // the client's deadline, zero if unknown
	ready      chan struct{} // buffered 1: closed over by the decision

	decided  bool
	reason   Reason // 0: admitted
	admitted time.Time
	inFlight int
}

// waitList is a doubly linked list of waiters in arrival order: the front
// is the oldest. The zero value is an empty list.
type waitList struct {
	head, tail *waiter
	n          int
}

func (l *waitList) pushBack(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	l.n--
}

func (l *waitList) popFront() *waiter {
	w := l.head
	l.remove(w)
	return w
}

func (l *waitList) popBack() *waiter {
	w := l.tail
	l.remove(w)
	return w
}
