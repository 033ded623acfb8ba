package shed

import "time"

// Defaults of the CoDel discipline, from Facebook's "Fail at Scale".
const (
	DefaultCoDelTarget   = 5 * time.Millisecond
	DefaultCoDelInterval = 100 * time.Millisecond
)

// codel is the state of the adaptive-LIFO/CoDel discipline: the queue is
// overloaded when it has not been empty at any instant of the last
// interval; while overloaded it is served newest first and requests that
// have waited longer than target are dropped. Not safe for concurrent use:
// the Shedder's lock guards it.
type codel struct {
	target, interval time.Duration
	lastEmpty        time.Time // the last instant the queue was seen empty
}

// empty records that the queue is empty at now.
func (c *codel) empty(now time.Time) { c.lastEmpty = now }

// overloaded reports whether a queue holding queued requests at now has
// been non-empty for longer than the interval.
func (c *codel) overloaded(now time.Time, queued int) bool {
	if queued == 0 {
		c.lastEmpty = now
		return false
	}
	return now.Sub(c.lastEmpty) > c.interval
}

// expired reports whether a request enqueued at enqueued has waited longer
// than the target at now (only meaningful while overloaded).
func (c *codel) expired(now, enqueued time.Time) bool {
	return now.Sub(enqueued) > c.target
}
