package backlog

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors of Enqueue.
var (
	// ErrBackpressure: the message's queue is at its backpressure depth or
	// age threshold; the producer should retry later.
	ErrBackpressure = errors.New("backlog: backpressure")
	// ErrFull: the message's queue and its surge lane are at capacity.
	ErrFull = errors.New("backlog: queue full")
)

// Message is one queued message.
type Message struct {
	ID        uint64    // assigned by Enqueue, unique within a Backlog, from 1
	RequestID string    // the producer's X-Request-Id
	Tenant    string    // the producer's tenant (shuffle-sharding key)
	Room      string    // the chat room: carried, not interpreted
	Body      string    // carried, not interpreted
	Enqueued  time.Time // when Enqueue accepted it
	Queue     int       // the queue it was put in, 0..Queues−1
	Lane      Lane      // the lane it was taken from (set by Pop)
}

// Lane is one of a queue's three lanes.
type Lane uint8

// Lanes, in the order consumers serve them across all queues.
const (
	LaneFresh Lane = iota // normal messages
	LaneAged              // messages the Priority discipline moved out of the fresh lane
	LaneSurge             // messages that found the normal lanes full
	numLanes
)

var laneNames = [numLanes]string{LaneFresh: "fresh", LaneAged: "aged", LaneSurge: "surge"}

// String returns the lane's name as used in metrics and deliveries.
func (l Lane) String() string {
	if l < numLanes {
		return laneNames[l]
	}
	return fmt.Sprintf("lane(%d)", uint8(l))
}

// Verdict is what Pop decided for a message.
type Verdict uint8

// Verdicts.
const (
	Deliver      Verdict = iota // process and deliver it
	Expired                     // older than the TTL: dropped
	DeadLettered                // moved to the dead-letter queue
	Dropped                     // failed MaxDeliveries times with no dead-letter queue
)

var verdictNames = [...]string{Deliver: "delivered", Expired: "expired", DeadLettered: "dead_lettered", Dropped: "dropped"}

// String returns the verdict's name, which is also the Delivery status.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

type queue struct {
	lanes [numLanes]lane
	// busy is the later of the last dequeue and the instant the queue last
	// became non-empty; gap is an EWMA of the time between dequeues while
	// the queue is non-empty (its measured drain interval), 0 until the
	// first dequeue.
	busy time.Time
	gap  time.Duration
}

// gapWeight is the EWMA weight of the newest interval between dequeues, as
// a divisor: gap += (interval − gap) / gapWeight.
const gapWeight = 8

// dequeued records a dequeue from q at instant now, updating its measured
// drain interval.
func (q *queue) dequeued(now time.Time) {
	if d := now.Sub(q.busy); d >= 0 {
		q.gap += (d - q.gap) / gapWeight
	}
	q.busy = now
}

// ahead returns how many of q's messages a message added to lane ln would
// wait behind under discipline d: consumers serve a queue's fresh, aged
// then surge lane, each newest first under LIFO (the aged lane always
// oldest first).
func (q *queue) ahead(ln Lane, d Discipline) int {
	n := q.lanes[LaneFresh].n
	if d == LIFO {
		n = 0
	}
	if ln == LaneSurge {
		n = q.lanes[LaneFresh].n + q.lanes[LaneAged].n
		if d != LIFO {
			n += q.lanes[LaneSurge].n
		}
	}
	return n
}

func (q *queue) depth() int { return q.lanes[LaneFresh].n + q.lanes[LaneAged].n + q.lanes[LaneSurge].n }

// oldest returns the enqueue time of the queue's oldest message, and false
// when it is empty. Lanes are in enqueue order, so it is the oldest front.
func (q *queue) oldest() (time.Time, bool) {
	var t time.Time
	found := false
	for i := range q.lanes {
		l := &q.lanes[i]
		if l.n > 0 && (!found || l.front().Enqueued.Before(t)) {
			t, found = l.front().Enqueued, true
		}
	}
	return t, found
}

// Backlog is a set of bounded queues with the disciplines of Config.
// Methods are safe for concurrent use; time-dependent ones take now as an
// argument. Make one with New; the zero value is not usable.
type Backlog struct {
	cfg   atomic.Pointer[Config]
	ready chan struct{}

	mu       sync.Mutex
	queues   []queue
	cursor   [numLanes]int // round-robin position per lane level
	perLane  [numLanes]int // messages per lane level, over all queues
	dead     lane
	nextID   uint64
	counters Counters
}

// Counters are a Backlog's running totals since New.
type Counters struct {
	Accepted          uint64 // messages enqueued
	Backpressure      uint64 // Enqueue refusals with ErrBackpressure
	Full              uint64 // Enqueue refusals with ErrFull
	Surged            uint64 // messages that went to a surge lane
	Aged              uint64 // messages moved to an aged lane
	Popped            uint64 // messages handed to consumers for delivery
	Expired           uint64 // messages dropped by the TTL (dead-lettered or not)
	DeadLettered      uint64 // messages put in the dead-letter queue
	Dropped           uint64 // failed messages dropped with no dead-letter queue
	DeadLetterOverrun uint64 // dead-letter messages discarded because it was full
}

// New returns a Backlog with c's queues, all empty.
func New(c Config) (*Backlog, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("backlog config: %w", err)
	}
	b := &Backlog{ready: make(chan struct{}, 1), queues: make([]queue, c.Queues)}
	b.cfg.Store(&c)
	return b, nil
}

// Config returns the configuration in force.
func (b *Backlog) Config() Config { return *b.cfg.Load() }

// SetConfig validates c and puts it in force for every later call. The
// number of queues cannot change. Messages already queued stay where they
// are: a smaller capacity refuses new messages until the queue is below it.
func (b *Backlog) SetConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("backlog config: %w", err)
	}
	if c.Queues != len(b.queues) {
		return fmt.Errorf("backlog config: queues: %d, cannot change from %d while running", c.Queues, len(b.queues))
	}
	b.cfg.Store(&c)
	return nil
}

// Ready returns a channel that receives a value after an Enqueue, so that
// an idle consumer can wait for work. A consumer that gets a message passes
// the signal on while messages remain, so no wake-up is lost.
func (b *Backlog) Ready() <-chan struct{} { return b.ready }

func (b *Backlog) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// Enqueue puts m in the shortest of its tenant's queues (ShardOf) at
// instant now, and returns its id. It refuses with ErrBackpressure when
// that queue's depth has reached BackpressureDepth, or when its oldest age
// has reached BackpressureAge or m's predicted wait would exceed it (see
// Config.BackpressureAge), and with ErrFull when the queue's normal lanes and surge lane are full.
// m's ID, Enqueued, Queue and Lane are set by Enqueue.
func (b *Backlog) Enqueue(now time.Time, m Message) (uint64, error) {
	c := b.cfg.Load()
	var buf [MaxShardSize]int
	shard := ShardOf(c.Seed, m.Tenant, len(b.queues), c.ShardSize, buf[:0])

	b.mu.Lock()
	defer b.mu.Unlock()
	qi := shard[0]
	for _, i := range shard[1:] {
		if b.queues[i].depth() < b.queues[qi].depth() {
			qi = i
		}
	}
	q := &b.queues[qi]
	if c.BackpressureDepth > 0 && q.depth() >= c.BackpressureDepth {
		b.counters.Backpressure++
		return 0, ErrBackpressure
	}
	ln := LaneFresh
	if q.lanes[LaneFresh].n+q.lanes[LaneAged].n >= c.Capacity {
		ln = LaneSurge
	}
	if c.BackpressureAge > 0 {
		limit := time.Duration(c.BackpressureAge)
		t, ok := q.oldest()
		if ok && (now.Sub(t) >= limit || time.Duration(q.ahead(ln, c.Discipline))*q.gap > limit) {
			b.counters.Backpressure++
			return 0, ErrBackpressure
		}
	}
	if ln == LaneSurge {
		if q.lanes[LaneSurge].n >= c.SurgeCapacity {
			b.counters.Full++
			return 0, ErrFull
		}
		b.counters.Surged++
	}
	if q.depth() == 0 {
		q.busy = now
	}
	b.nextID++
	m.ID, m.Enqueued, m.Queue, m.Lane = b.nextID, now, qi, ln
	q.lanes[ln].pushBack(m)
	b.perLane[ln]++
	b.counters.Accepted++
	b.signal()
	return m.ID, nil
}

// Pop takes the next message at instant now. It serves the fresh lanes of
// all queues round robin, then the aged lanes, then the surge lanes, each
// lane in the order of the discipline (the aged lane is always oldest
// first). With the Priority discipline it first moves every fresh message
// older than AgeThreshold to its queue's aged lane. With a TTL, a lane whose
// oldest message has expired yields that message first, with the verdict
// Expired, or DeadLettered when DeadLetterOnExpiry is set and a dead-letter
// queue exists. ok is false when every queue is empty.
func (b *Backlog) Pop(now time.Time) (m Message, v Verdict, ok bool) {
	c := b.cfg.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.Discipline == Priority && b.perLane[LaneFresh] > 0 {
		b.age(now, time.Duration(c.AgeThreshold))
	}
	for ln := LaneFresh; ln < numLanes; ln++ {
		if b.perLane[ln] == 0 {
			continue
		}
		n := len(b.queues)
		for i := range n {
			qi := (b.cursor[ln] + i) % n
			l := &b.queues[qi].lanes[ln]
			if l.n == 0 {
				continue
			}
			b.cursor[ln] = (qi + 1) % n
			b.perLane[ln]--
			b.queues[qi].dequeued(now)
			if b.total() > 0 {
				b.signal()
			}
			if c.TTL > 0 && now.Sub(l.front().Enqueued) > time.Duration(c.TTL) {
				m = l.popFront()
				m.Lane = ln
				b.counters.Expired++
				if c.DeadLetterOnExpiry && c.DeadLetterCapacity > 0 {
					b.deadLetter(m, c.DeadLetterCapacity)
					return m, DeadLettered, true
				}
				return m, Expired, true
			}
			if c.Discipline == LIFO && ln != LaneAged {
				m = l.popBack()
			} else {
				m = l.popFront()
			}
			m.Lane = ln
			b.counters.Popped++
			return m, Deliver, true
		}
	}
	return Message{}, Deliver, false
}

func (b *Backlog) total() int {
	return b.perLane[LaneFresh] + b.perLane[LaneAged] + b.perLane[LaneSurge]
}

// age moves fresh messages older than threshold to their queue's aged lane.
func (b *Backlog) age(now time.Time, threshold time.Duration) {
	for i := range b.queues {
		q := &b.queues[i]
		f := &q.lanes[LaneFresh]
		for f.n > 0 && now.Sub(f.front().Enqueued) >= threshold {
			q.lanes[LaneAged].pushBack(f.popFront())
			b.perLane[LaneFresh]--
			b.perLane[LaneAged]++
			b.counters.Aged++
		}
	}
}

// Fail records that a consumer gave up on m after MaxDeliveries attempts.
// It returns DeadLettered when the dead-letter queue is enabled (m is kept
// there) and Dropped otherwise.
func (b *Backlog) Fail(m Message) Verdict {
	c := b.cfg.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.DeadLetterCapacity == 0 {
		b.counters.Dropped++
		return Dropped
	}
	b.deadLetter(m, c.DeadLetterCapacity)
	return DeadLettered
}

func (b *Backlog) deadLetter(m Message, capacity int) {
	for b.dead.n >= capacity {
		b.dead.popFront()
		b.counters.DeadLetterOverrun++
	}
	b.dead.pushBack(m)
	b.counters.DeadLettered++
}

// Stats is a snapshot of a Backlog.
type Stats struct {
	Queues          []QueueStats
	Depth           int           // messages in all lanes of all queues
	SurgeDepth      int           // messages in all surge lanes
	OldestAge       time.Duration // age of the oldest queued message; 0 when empty
	DeadLetterDepth int
	Counters        Counters
}

// QueueStats is one queue's part of Stats.
type QueueStats struct {
	Depth     [numLanes]int // messages per lane, indexed by Lane
	OldestAge time.Duration // 0 when empty
}

// Stats returns a snapshot at instant now. It allocates one QueueStats per
// queue.
func (b *Backlog) Stats(now time.Time) Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Queues: make([]QueueStats, len(b.queues)), DeadLetterDepth: b.dead.n, Counters: b.counters}
	for i := range b.queues {
		q := &b.queues[i]
		for ln := range q.lanes {
			s.Queues[i].Depth[ln] = q.lanes[ln].n
		}
		if t, ok := q.oldest(); ok {
			s.Queues[i].OldestAge = now.Sub(t)
			s.OldestAge = max(s.OldestAge, s.Queues[i].OldestAge)
		}
	}
	s.Depth = b.total()
	s.SurgeDepth = b.perLane[LaneSurge]
	return s
}
