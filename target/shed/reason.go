package shed

import (
	"errors"
	"fmt"
	"time"
)

// ErrShed is matched (errors.Is) by every refusal of a [Shedder]: the
// service is overloaded or the request cannot be served in time.
var ErrShed = errors.New("shed: request shed")

// ErrThrottled is matched (errors.Is) by a refusal of a [TenantLimit]: the
// tenant exceeded its rate.
var ErrThrottled = errors.New("shed: tenant throttled")

// Reason is why a request was refused. A Reason is an error (so returning
// one allocates nothing); it matches [ErrThrottled] when it is
// ReasonTenantThrottle and [ErrShed] otherwise. The zero value is not a
// refusal and is never returned.
type Reason uint8

// Refusal reasons. The order is stable: append only.
const (
	// ReasonLimit: the concurrency limit is reached and there is no queue.
	ReasonLimit Reason = iota + 1
	// ReasonQueueFull: the wait queue is full (under LIFO the oldest waiter
	// is the one refused, to make room for the newest).
	ReasonQueueFull
	// ReasonQueueTimeout: the request waited the maximum queue wait.
	ReasonQueueTimeout
	// ReasonCoDel: the queue is overloaded (not empty within the last CoDel
	// interval) and the request waited longer than the CoDel target.
	ReasonCoDel
	// ReasonDeadline: the client has given up, or will before the expected
	// service time has passed.
	ReasonDeadline
	// ReasonPriority: a sheddable request arrived while usage was above the
	// sheddable fraction of the limit.
	ReasonPriority
	// ReasonTenantThrottle: the tenant's token bucket is empty (429).
	ReasonTenantThrottle
	// ReasonCanceled: the caller's context was canceled while it waited.
	ReasonCanceled
	// ReasonRetry: a retry (attempt > 1) arrived while the service was
	// overloaded, under retry-aware admission (Config.RetryAware).
	ReasonRetry
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonLimit:          "limit",
	ReasonQueueFull:      "queue_full",
	ReasonQueueTimeout:   "queue_timeout",
	ReasonCoDel:          "codel",
	ReasonDeadline:       "deadline",
	ReasonPriority:       "priority",
	ReasonTenantThrottle: "tenant_throttle",
	ReasonCanceled:       "canceled",
	ReasonRetry:          "retry",
}

// Reasons returns every refusal reason, in order (for pre-registering
// metric label values).
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonLimit; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// String returns the reason's name as used in metrics and the X-Shed-Reason
// header: "limit", "queue_full", "queue_timeout", "codel", "deadline",
// "priority", "tenant_throttle", "canceled" or "retry".
func (r Reason) String() string {
	if r > 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Error implements error.
func (r Reason) Error() string { return "shed: " + r.String() }

// Is reports whether target is the sentinel this reason belongs to:
// [ErrThrottled] for ReasonTenantThrottle, [ErrShed] for the others.
func (r Reason) Is(target error) bool {
	if r == ReasonTenantThrottle {
		return target == ErrThrottled
	}
	return target == ErrShed
}

// Observer hears every admission decision, for metrics. Implementations must
// be safe for concurrent use and should be cheap: they run on the request
// path (a [Shedder] calls them without holding its lock).
type Observer interface {
	// Admitted is called when a request is admitted, with how long it
	// waited in the queue (0 when it was admitted at once).
	Admitted(wait time.Duration)
	// Rejected is called once for each refused request.
	Rejected(reason Reason)
}

// Funcs adapts two functions to an [Observer]; a nil field is skipped, so
// the zero value observes nothing. Safe for concurrent use if the functions
// are.
type Funcs struct {
	OnAdmitted func(wait time.Duration)
	OnRejected func(reason Reason)
}

var _ Observer = Funcs{}

// Admitted calls f.OnAdmitted if it is set.
func (f Funcs) Admitted(wait time.Duration) {
	if f.OnAdmitted != nil {
		f.OnAdmitted(wait)
	}
}

// Rejected calls f.OnRejected if it is set.
func (f Funcs) Rejected(reason Reason) {
	if f.OnRejected != nil {
		f.OnRejected(reason)
	}
}

// nopObserver is used when a config leaves Observer nil.
type nopObserver struct{}

var _ Observer = nopObserver{}

func (nopObserver) Admitted(time.Duration) {}
func (nopObserver) Rejected(Reason)        {}
