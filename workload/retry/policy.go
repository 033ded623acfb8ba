package retry

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// Policy is what a client does around each request: timeouts, retries,
// backoff, budget, throttling and hedging. It is an immutable value, safe
// to copy and share; Validate it before use. The zero value is one attempt
// with no timeout and no retries.
type Policy struct {
	// AttemptTimeout bounds each attempt; 0 means no per-attempt bound.
	// The service is told the smaller of it and what is left of Deadline
	// (X-Timeout-Ms).
	AttemptTimeout time.Duration
	// Deadline bounds the whole request from its intended start, retries
	// included; 0 means none. When it passes the request fails with
	// client_timeout.
	Deadline time.Duration
	// MaxAttempts is the most attempts per request (1 = no retries; 0
	// means 1).
	MaxAttempts int
	// RetryOn says which attempt outcomes are retried.
	RetryOn RetryOn
	// RetryAfter honours the service's Retry-After header: the delay before
	// the retry is at least min(Retry-After, RetryAfterCap).
	RetryAfter    bool
	RetryAfterCap time.Duration // 0 means no cap
	Backoff       Backoff
	Jitter        Jitter
	Budget        BudgetSpec
	Throttle      ThrottleSpec
	Hedge         HedgeSpec
}

// Default returns the policy of loadgen attack without retry flags: a 10 s
// attempt timeout, one attempt, and, should retries be enabled, retries of
// 429, 5xx, timeouts and connection errors with exponential backoff from
// 100 ms to 10 s, full jitter, honouring Retry-After up to 10 s.
func Default() Policy {
	on, _ := ParseRetryOn("429,5xx,timeout,conn")
	return Policy{
		AttemptTimeout: 10 * time.Second,
		MaxAttempts:    1,
		RetryOn:        on,
		RetryAfter:     true,
		RetryAfterCap:  10 * time.Second,
		Backoff:        Backoff{Kind: BackoffExponential, Base: 100 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2},
		Jitter:         JitterFull,
	}
}

// Validate reports the first thing wrong with p.
func (p Policy) Validate() error {
	var errs []error
	if p.AttemptTimeout < 0 {
		errs = append(errs, fmt.Errorf("attempt timeout %v: must be ≥ 0", p.AttemptTimeout))
	}
	if p.Deadline < 0 {
		errs = append(errs, fmt.Errorf("deadline %v: must be ≥ 0", p.Deadline))
	}
	if p.MaxAttempts < 0 || p.MaxAttempts > 1000 {
		errs = append(errs, fmt.Errorf("max attempts %d: must be in [1, 1000]", p.MaxAttempts))
	}
	if p.RetryAfterCap < 0 {
		errs = append(errs, fmt.Errorf("retry-after cap %v: must be ≥ 0", p.RetryAfterCap))
	}
	if p.Jitter > JitterDecorrelated {
		errs = append(errs, fmt.Errorf("jitter %d: unknown", p.Jitter))
	}
	errs = append(errs, p.Backoff.Validate(), p.Budget.Validate(), p.Throttle.Validate(), p.Hedge.Validate())
	return errors.Join(errs...)
}

// Attempts returns MaxAttempts, at least 1.
func (p Policy) Attempts() int { return max(1, p.MaxAttempts) }

// SLO is the latency a user of this client tolerates: the request deadline,
// or, without one, the attempt timeout (0 when neither is set).
func (p Policy) SLO() time.Duration {
	if p.Deadline > 0 {
		return p.Deadline
	}
	return p.AttemptTimeout
}

// RetryDelay returns how long to wait before retry n ≥ 1 of a request,
// given the previous delay prev (0 before the first retry), the service's
// Retry-After (ra, ok when present) and a uniform draw u ∈ [0, 1):
//
//	d = Jitter.Apply(Backoff.Delay(n), prev, Backoff, u)
//	d = max(d, min(ra, RetryAfterCap))   when RetryAfter is honoured and present
func (p Policy) RetryDelay(n int, prev time.Duration, ra time.Duration, raOK bool, u float64) time.Duration {
	d := p.Jitter.Apply(p.Backoff.Delay(n), prev, p.Backoff, u)
	if p.RetryAfter && raOK {
		if p.RetryAfterCap > 0 && ra > p.RetryAfterCap {
			ra = p.RetryAfterCap
		}
		d = max(d, ra)
	}
	return d
}

// RetryOn is a set of retryable attempt outcomes: HTTP status codes,
// timeouts and connection errors. The zero value retries nothing.
type RetryOn struct {
	status  [10]uint64 // bit s set: status s (100..599) is retried
	Timeout bool       // client_timeout of an attempt (not of the request deadline)
	Conn    bool       // conn_error
}

// retryClassSyntax is the grammar of one item of ParseRetryOn.
const retryClassSyntax = "status codes 100-599, classes 1xx-5xx, timeout, conn"

// ParseRetryOn parses a comma-separated list of retry classes (see
// ParseRetryClass), the syntax of the --retry-on flag; "none" is the empty
// set. Its errors are *SyntaxError.
func ParseRetryOn(s string) (RetryOn, error) {
	var r RetryOn
	if s == "none" {
		return r, nil
	}
	for _, item := range strings.Split(s, ",") {
		c, ok := parseRetryClass(strings.TrimSpace(item))
		if !ok {
			return RetryOn{}, &SyntaxError{What: "retry on", Text: s, Why: fmt.Sprintf("item %q", item), Valid: "comma-separated " + retryClassSyntax + ", or none (e.g. 429,503,5xx,timeout,conn)"}
		}
		r = r.Union(c)
	}
	return r, nil
}

// ParseRetryClass parses one retry class: a status code (503), a status
// class (5xx), timeout or conn, the syntax of an item of a profile's
// client.retry_on list. Its errors are *SyntaxError.
func ParseRetryClass(s string) (RetryOn, error) {
	r, ok := parseRetryClass(s)
	if !ok {
		return RetryOn{}, &SyntaxError{What: "retry class", Text: s, Valid: "one of " + retryClassSyntax + " (e.g. 503, 5xx, timeout)"}
	}
	return r, nil
}

func parseRetryClass(item string) (r RetryOn, ok bool) {
	switch {
	case item == "timeout":
		r.Timeout = true
	case item == "conn":
		r.Conn = true
	case len(item) == 3 && item[1:] == "xx" && item[0] >= '1' && item[0] <= '5':
		base := int(item[0]-'0') * 100
		for c := base; c < base+100; c++ {
			r.status[c/64] |= 1 << (c % 64)
		}
	default:
		c, err := strconv.Atoi(item)
		if err != nil || c < 100 || c > 599 {
			return RetryOn{}, false
		}
		r.status[c/64] |= 1 << (c % 64)
	}
	return r, true
}

// Union returns the outcomes retried by r or by o.
func (r RetryOn) Union(o RetryOn) RetryOn {
	for i := range r.status {
		r.status[i] |= o.status[i]
	}
	r.Timeout = r.Timeout || o.Timeout
	r.Conn = r.Conn || o.Conn
	return r
}

// Status reports whether status code c is retried.
func (r RetryOn) Status(c int) bool {
	return c >= 100 && c < 600 && r.status[c/64]&(1<<(c%64)) != 0
}

// Retryable reports whether an attempt that ended with outcome o and HTTP
// status (0 without an answer) is retried.
func (r RetryOn) Retryable(o results.Outcome, status int) bool {
	switch o {
	case results.OutcomeClientTimeout:
		return r.Timeout
	case results.OutcomeConnError:
		return r.Conn
	case results.OutcomeOK, results.OutcomeCanceled:
		return false
	}
	return status != 0 && r.Status(status)
}

// String lists the set in ParseRetryOn's syntax, classes collapsed.
func (r RetryOn) String() string {
	var parts []string
	for class := 100; class < 600; class += 100 {
		all := true
		for c := class; c < class+100; c++ {
			all = all && r.Status(c)
		}
		if all {
			parts = append(parts, strconv.Itoa(class/100)+"xx")
			continue
		}
		for c := class; c < class+100; c++ {
			if r.Status(c) {
				parts = append(parts, strconv.Itoa(c))
			}
		}
	}
	if r.Timeout {
		parts = append(parts, "timeout")
	}
	if r.Conn {
		parts = append(parts, "conn")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP date (relative to now). ok is false when absent or malformed.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(0, t.Sub(now)), true
}

// State is the shared, mutable side of one client running a Policy: its
// retry budget, throttle window and hedging latencies. Safe for concurrent
// use by every request of the client. Build with NewState.
type State struct {
	policy   Policy
	budget   Budget
	throttle *Throttle
	hedger   *Hedger
}

// NewState returns fresh state (full budget, empty windows) for p.
func NewState(p Policy) *State {
	return &State{policy: p, budget: p.Budget.New(), throttle: NewThrottle(p.Throttle), hedger: NewHedger(p.Hedge)}
}

// Policy returns the policy the state runs.
func (s *State) Policy() *Policy { return &s.policy }

// Budget returns the retry budget (never nil).
func (s *State) Budget() Budget { return s.budget }

// Throttle returns the adaptive throttle, nil when off.
func (s *State) Throttle() *Throttle { return s.throttle }

// Hedger returns the hedger, nil when hedging is off.
func (s *State) Hedger() *Hedger { return s.hedger }
