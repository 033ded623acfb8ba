package backlog

// lane is a double-ended queue of messages in enqueue order: pushes go to
// the back, FIFO pops the front (oldest), LIFO pops the back (newest). Its
// ring grows by doubling; the caller bounds its length. Not safe for
// concurrent use; the zero value is an empty lane.
type lane struct {
	buf  []Message
	head int
	n    int
}

func (l *lane) len() int { return l.n }

func (l *lane) pushBack(m Message) {
	if l.n == len(l.buf) {
		l.grow()
	}
	l.buf[(l.head+l.n)%len(l.buf)] = m
	l.n++
}

func (l *lane) grow() {
	size := 2 * len(l.buf)
	if size == 0 {
		size = 16
	}
	buf := make([]Message, size)
	for i := range l.n {
		buf[i] = l.buf[(l.head+i)%len(l.buf)]
	}
	l.buf, l.head = buf, 0
}

// front returns the oldest message; the lane must not be empty.
func (l *lane) front() *Message { return &l.buf[l.head] }

func (l *lane) popFront() Message {
	m := l.buf[l.head]
	l.buf[l.head] = Message{}
	l.head = (l.head + 1) % len(l.buf)
	l.n--
	return m
}

func (l *lane) popBack() Message {
	i := (l.head + l.n - 1) % len(l.buf)
	m := l.buf[i]
	l.buf[i] = Message{}
	l.n--
	return m
}
