package bulkhead

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// ErrFull is returned when every slot of a pool is busy and its wait queue
// is full (or it has none).
var ErrFull = errors.New("bulkhead: full")

// ErrWaitTimeout is returned when a caller waited a pool's MaxWait without
// getting a slot.
var ErrWaitTimeout = errors.New("bulkhead: wait timeout")

// Observer hears every acquisition and refusal of a pool, for metrics.
// Implementations must be safe for concurrent use and cheap.
type Observer interface {
	// Acquired is called when a caller gets a slot of pool, with how long
	// it waited.
	Acquired(pool string, wait time.Duration)
	// Rejected is called when a caller does not: err is ErrFull,
	// ErrWaitTimeout, or the caller's context error.
	Rejected(pool string, err error)
}

// DefaultRetryAfter is the Retry-After of a middleware's 503 when the
// config leaves it zero.
const DefaultRetryAfter = time.Second

// Config configures a [Pool]. It is a value; [New] validates it and keeps a
// copy. The zero value is invalid (MaxConcurrent ≥ 1).
type Config struct {
	// Name labels the pool (a dependency or route name) in observer calls
	// and in the X-Bulkhead header of a refusal. Required in a Set.
	Name string
	// MaxConcurrent is the number of calls the pool runs at once (≥ 1).
	MaxConcurrent int
	// MaxWaiters is the number of callers that may wait for a slot (≥ 0);
	// more are refused with ErrFull at once.
	MaxWaiters int
	// MaxWait is the longest a caller waits for a slot before ErrWaitTimeout.
	// Required (> 0) when MaxWaiters > 0.
	MaxWait time.Duration
	// RetryAfter is the Retry-After (whole seconds, rounded up) of the
	// middleware's 503; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// Observer hears acquisitions and refusals; nil means none.
	Observer Observer
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.MaxConcurrent < 1:
		return fmt.Errorf("bulkhead %q: max_concurrent: %d, want ≥ 1", c.Name, c.MaxConcurrent)
	case c.MaxWaiters < 0:
		return fmt.Errorf("bulkhead %q: max_waiters: %d, want ≥ 0", c.Name, c.MaxWaiters)
	case c.MaxWait < 0 || (c.MaxWaiters > 0 && c.MaxWait == 0):
		return fmt.Errorf("bulkhead %q: max_wait: %v, want > 0 when max_waiters > 0", c.Name, c.MaxWait)
	case c.RetryAfter < 0:
		return fmt.Errorf("bulkhead %q: retry_after: %v, want ≥ 0", c.Name, c.RetryAfter)
	}
	return nil
}

// Pool is a bulkhead: at most MaxConcurrent calls at once, at most
// MaxWaiters callers waiting (first come, first served) for at most MaxWait
// each. Safe for concurrent use. Create it with [New]; the zero value is not
// usable.
type Pool struct {
	cfg Config
	sem sem
	rej rejecter
}

// New returns a pool for cfg.
func New(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Pool{
		cfg: cfg,
		sem: sem{size: cfg.MaxConcurrent, maxWaiters: cfg.MaxWaiters, maxWait: cfg.MaxWait},
		rej: newRejecter(cfg.Name, cfg.RetryAfter),
	}, nil
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.cfg.Name }

// Capacity returns MaxConcurrent.
func (p *Pool) Capacity() int { return p.cfg.MaxConcurrent }

// InUse returns the number of slots held.
func (p *Pool) InUse() int { n, _ := p.sem.counts(); return n }

// Waiting returns the number of callers waiting for a slot.
func (p *Pool) Waiting() int { _, n := p.sem.counts(); return n }

// Acquire takes a slot, waiting at most MaxWait, and returns the function
// that gives it back; calling release more than once is harmless. It
// returns ErrFull, ErrWaitTimeout or ctx's error when it gets no slot.
func (p *Pool) Acquire(ctx context.Context) (release func(), err error) {
	if err := p.take(ctx); err != nil {
		return nil, err
	}
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			p.sem.release()
		}
	}, nil
}

// take takes a slot as Acquire does, telling the observer.
func (p *Pool) take(ctx context.Context) error {
	wait, err := p.sem.acquire(ctx)
	if o := p.cfg.Observer; o != nil {
		if err != nil {
			o.Rejected(p.cfg.Name, err)
		} else {
			o.Acquired(p.cfg.Name, wait)
		}
	}
	return err
}

// Middleware returns next behind the pool: a request that gets no slot is
// answered 503 with Retry-After, X-Bulkhead (the pool's name) and
// X-Shed-Reason (bulkhead_full, bulkhead_timeout or canceled), before its
// body is read. Give each route its own pool for per-route isolation.
func (p *Pool) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Not Acquire: its release func is an allocation, and here the
		// slot is released exactly once anyway.
		if err := p.take(r.Context()); err != nil {
			p.rej.reject(w, err)
			return
		}
		defer p.sem.release()
		next.ServeHTTP(w, r)
	})
}

// rejecter writes a pool's 503s from pre-built header values.
type rejecter struct {
	retryAfter, name, full, timeout, canceled []string
}

func newRejecter(name string, retryAfter time.Duration) rejecter {
	if retryAfter == 0 {
		retryAfter = DefaultRetryAfter
	}
	one := func(v string) []string { return []string{v}[:1:1] }
	return rejecter{
		retryAfter: one(strconv.Itoa(max(1, int(math.Ceil(retryAfter.Seconds()))))),
		name:       one(name),
		full:       one("bulkhead_full"),
		timeout:    one("bulkhead_timeout"),
		canceled:   one("canceled"),
	}
}

func (rj rejecter) reject(w http.ResponseWriter, err error) {
	h := w.Header()
	h["Retry-After"] = rj.retryAfter
	h["X-Bulkhead"] = rj.name
	switch err {
	case ErrFull:
		h["X-Shed-Reason"] = rj.full
	case ErrWaitTimeout:
		h["X-Shed-Reason"] = rj.timeout
	default:
		h["X-Shed-Reason"] = rj.canceled
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}
