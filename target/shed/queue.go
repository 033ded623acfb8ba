package shed

import (
	"time"

	"github.com/goodput-dev/goodput/internal/waitlist"
)

// waiter is one request waiting in a Shedder's queue, and its node in the
// queue. The Shedder's lock guards every field but ready.
type waiter struct {
	waitlist.Elem[*waiter]
	enqueued time.Time
	deadline time.Time     // the client's deadline, zero if unknown
	ready    chan struct{} // buffered 1: closed over by the decision

	decided  bool
	reason   Reason // 0: admitted
	admitted time.Time
	inFlight int
}
