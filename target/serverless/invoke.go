package serverless

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/target/backlog"
)

// Result is how one invocation spent its time.
type Result struct {
	// Cold says the invocation created its environment and Init is the
	// time that took (0 when warm).
	Cold bool
	Init time.Duration
	// Calls are its dependency calls, in order (nil when the function
	// calls none); a failed call is the last.
	Calls []Call
	// Duration is the function's own run time (after its calls; 0 when
	// a call failed).
	Duration time.Duration
}

// Call is one dependency call of an invocation: the time it waited for a
// slot of the dependency's pool and the time it held one. A Call is a
// plain value.
type Call struct {
	Dep     string
	Wait    time.Duration
	Service time.Duration
}

// Invoke runs one synchronous invocation of function name on the runtime
// clock: Acquire now, wait Init (cold only), call the function's
// dependencies in order, wait Duration, Release. The environment is held
// throughout, so a slow dependency makes the invocation longer and the
// function's concurrency higher.
//
// A refusal returns at once with a [Reason] and does no work. Once
// admitted, the init and the function's own time run to their end even
// if ctx ends meanwhile (Lambda does not stop a function whose caller
// went away), but each dependency call gets ctx and ends as the
// dependency's calls do when their caller leaves (target/dep: a wait for
// a slot gives up, work in progress may run on). A failed dependency call
// ends the invocation at once with a *[FunctionError] wrapping the call's
// error; a sampled function error is a *[FunctionError] too. Both come
// with the Result.
func (p *Platform) Invoke(ctx context.Context, name string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("invoke %s: %w", name, err)
	}
	l, err := p.Acquire(time.Now(), name)
	if err != nil {
		return Result{}, err
	}
	res := Result{Cold: l.Cold, Init: l.Init, Duration: l.Duration}
	end := l.End()
	var callErr error
	if len(l.Deps) > 0 {
		waitUntil(l.Start.Add(l.Init))
		res.Calls = make([]Call, 0, len(l.Deps))
		for _, d := range l.Deps {
			t, err := p.deps[d].Call(ctx)
			res.Calls = append(res.Calls, Call{Dep: d, Wait: t.Wait, Service: t.Service})
			if err != nil {
				callErr = err
				break
			}
		}
		end = time.Now()
		if callErr == nil {
			end = end.Add(l.Duration)
		} else {
			res.Duration = 0
			l.Fail = true
		}
	}
	// Handed back at its due time, however late the timer fired, so a
	// late wake-up does not lengthen the environment's idle clock.
	waitUntil(end)
	p.Release(end, l)
	if l.Fail {
		return res, &FunctionError{Function: name, Err: callErr}
	}
	return res, nil
}

// waitUntil waits until t on the runtime clock.
func waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		timer := time.NewTimer(d)
		<-timer.C
	}
}

// ErrQueueFull is matched by the error of an asynchronous invoke whose
// function's queue is at its capacity.
var ErrQueueFull = errors.New("serverless: async queue full")

// Enqueue queues an asynchronous invocation of function name at now and
// returns its event id (unique per function, from 1). requestID is
// carried for logs. Pollers ([Platform.Run]) invoke it later.
func (p *Platform) Enqueue(now time.Time, name, requestID string) (uint64, error) {
	p.mu.Lock()
	f := p.fns[name]
	p.mu.Unlock()
	if f == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	id, err := f.async.b.Enqueue(now, backlog.Message{RequestID: requestID})
	if errors.Is(err, backlog.ErrFull) || errors.Is(err, backlog.ErrBackpressure) {
		return 0, fmt.Errorf("function %s: %w", name, ErrQueueFull)
	}
	if err != nil {
		return 0, fmt.Errorf("function %s: %w", name, err)
	}
	return id, nil
}

// AsyncStats is one function's asynchronous queue.
type AsyncStats struct {
	// Depth is the events waiting, OldestAge the age of the oldest.
	Depth     int           `json:"depth"`
	OldestAge time.Duration `json:"oldest_age_ns"`
	// Accepted counts events queued; Succeeded those whose invocation
	// succeeded; Retried the retries after a function error; Throttled the
	// tries that were throttled (tried again after ThrottleBackoff);
	// Expired the events that reached MaxEventAge; Failed those that
	// failed every retry; DeadLettered the events of the last two kept in
	// the dead-letter queue (the rest were dropped), DeadLetterDepth its
	// depth.
	Accepted        uint64 `json:"accepted"`
	Succeeded       uint64 `json:"succeeded"`
	Retried         uint64 `json:"retried"`
	Throttled       uint64 `json:"throttled"`
	Expired         uint64 `json:"expired"`
	Failed          uint64 `json:"failed"`
	DeadLettered    uint64 `json:"dead_lettered"`
	DeadLetterDepth int    `json:"dead_letter_depth"`
}

// backlogConfig is a function queue's backlog: one FIFO queue whose TTL
// is the maximum event age; expired events go to the dead-letter queue.
func backlogConfig(a AsyncConfig) backlog.Config {
	c := backlog.DefaultConfig()
	c.Capacity = a.QueueCapacity
	c.TTL = dist.Duration(a.MaxEventAge)
	c.MaxDeliveries = 1 + a.Retries
	c.DeadLetterCapacity = a.DeadLetterCapacity
	c.DeadLetterOnExpiry = true
	return c
}

func newAsyncQueue(a AsyncConfig) (*asyncQueue, error) {
	b, err := backlog.New(backlogConfig(a))
	if err != nil {
		return nil, fmt.Errorf("async queue: %w", err)
	}
	return &asyncQueue{b: b}, nil
}

// setAsyncLocked puts a in force on every function's queue.
func (p *Platform) setAsyncLocked(a AsyncConfig) error {
	if a.Pollers != p.cfg.Async.Pollers && p.running.Load() {
		return fmt.Errorf("serverless config: async.pollers: cannot change while running")
	}
	for _, f := range p.order {
		if err := f.async.b.SetConfig(backlogConfig(a)); err != nil {
			return fmt.Errorf("serverless config: async: %w", err)
		}
	}
	return nil
}

func (q *asyncQueue) stats(now time.Time) AsyncStats {
	st := q.b.Stats(now)
	return AsyncStats{
		Depth: st.Depth, OldestAge: st.OldestAge,
		Accepted: st.Counters.Accepted, Succeeded: q.succeeded.Load(), Retried: q.retried.Load(),
		Throttled: q.throttled.Load(), Expired: q.expired.Load() + st.Counters.Expired, Failed: q.failed.Load(),
		DeadLettered: st.Counters.DeadLettered, DeadLetterDepth: st.DeadLetterDepth,
	}
}

// Run runs the pollers of every function's asynchronous queue (Pollers
// each) until ctx ends, and returns after all have stopped. A poller takes
// the oldest event, invokes the function (see [Platform.Invoke]) and:
// on success, is done; when throttled, waits ThrottleBackoff and tries
// again; on a function error, waits RetryDelay and retries, at most
// Retries times, then sends the event to the dead-letter queue. An event
// older than MaxEventAge when it is (re)tried goes to the dead-letter
// queue. An event a poller holds when ctx ends is abandoned after its
// running invocation ends. Run may be called once.
func (p *Platform) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("serverless: Run called twice")
	}
	p.mu.Lock()
	pollers := p.cfg.Async.Pollers
	fns := append([]*function(nil), p.order...)
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fns {
		for range pollers {
			wg.Go(func() { p.poll(ctx, f) })
		}
	}
	wg.Wait()
	return nil
}

// poll is one poller of f's queue.
func (p *Platform) poll(ctx context.Context, f *function) {
	q := f.async
	for ctx.Err() == nil {
		m, v, ok := q.b.Pop(time.Now())
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-q.b.Ready():
			}
			continue
		}
		if v == backlog.Deliver {
			p.handle(ctx, f.cfg.Name, q, m)
		}
	}
}

// handle invokes the function for event m until it succeeds, fails every
// retry, expires or ctx ends.
func (p *Platform) handle(ctx context.Context, name string, q *asyncQueue, m backlog.Message) {
	failures := 0
	for {
		a := p.asyncConfig()
		if time.Since(m.Enqueued) > time.Duration(a.MaxEventAge) {
			q.expired.Add(1)
			q.b.Fail(m)
			return
		}
		_, err := p.Invoke(ctx, name)
		var wait time.Duration
		var fe *FunctionError
		switch {
		case err == nil:
			q.succeeded.Add(1)
			return
		case errors.Is(err, ErrThrottled):
			q.throttled.Add(1)
			wait = time.Duration(a.ThrottleBackoff)
		case errors.As(err, &fe):
			failures++
			if failures > a.Retries {
				q.failed.Add(1)
				q.b.Fail(m)
				return
			}
			q.retried.Add(1)
			wait = time.Duration(a.RetryDelay)
		default: // ctx ended
			return
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

func (p *Platform) asyncConfig() AsyncConfig {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Async
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
