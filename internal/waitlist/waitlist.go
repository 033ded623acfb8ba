// Package waitlist is the queue behind every wait in goodput: requests
// waiting for admission, a bulkhead slot or a connection (and the tenant
// throttle's recency order). It is a doubly linked list in arrival order
// whose elements the caller embeds in its waiter, so queueing allocates
// nothing of its own and a waiter that gives up leaves from the middle in
// constant time.
package waitlist

// Elem links one waiter into a List: embed it in the waiter and set Value
// to the waiter. The zero value is in no list.
type Elem[T any] struct {
	prev, next *Elem[T]
	in         bool
	Value      T
}

// Next returns the element after e, or nil.
func (e *Elem[T]) Next() *Elem[T] { return e.next }

// List is a doubly linked list of elements in the order they were pushed
// (the front is the oldest). The zero value is an empty list. A List is
// not safe for concurrent use: its owner's lock guards it.
type List[T any] struct {
	head, tail *Elem[T]
	n          int
}

// Len returns the number of elements in the list.
func (l *List[T]) Len() int { return l.n }

// Front returns the oldest element, or nil.
func (l *List[T]) Front() *Elem[T] { return l.head }

// Back returns the newest element, or nil.
func (l *List[T]) Back() *Elem[T] { return l.tail }

// PushBack adds e, which must be in no list, as the newest element.
func (l *List[T]) PushBack(e *Elem[T]) {
	e.prev, e.next, e.in = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
}

// Remove takes e out of the list, reporting whether it was in it (a
// waiter served or gone already is not).
func (l *List[T]) Remove(e *Elem[T]) bool {
	if !e.in {
		return false
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next, e.in = nil, nil, false
	l.n--
	return true
}

// PopFront removes and returns the oldest element's value; the list must
// not be empty.
func (l *List[T]) PopFront() T {
	e := l.head
	l.Remove(e)
	return e.Value
}

// PopBack removes and returns the newest element's value; the list must
// not be empty.
func (l *List[T]) PopBack() T {
	e := l.tail
	l.Remove(e)
	return e.Value
}
