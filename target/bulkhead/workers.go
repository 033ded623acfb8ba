package bulkhead

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// WorkersConfig configures [Workers]. It is a value; [NewWorkers] validates
// it and keeps a copy. The zero value is invalid (Workers ≥ 1).
type WorkersConfig struct {
	// Name labels the workers in observer calls and refusals.
	Name string
	// Workers is the fixed number of workers (≥ 1).
	Workers int
	// MaxWaiters and MaxWait bound the wait for a free worker, as for a
	// Pool.
	MaxWaiters int
	MaxWait    time.Duration
	// RetryAfter is the Retry-After of the middleware's 503; 0 means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Observer hears acquisitions and refusals; nil means none.
	Observer Observer
}

// Validate reports the first field out of range.
func (c WorkersConfig) Validate() error {
	err := Config{Name: c.Name, MaxConcurrent: c.Workers, MaxWaiters: c.MaxWaiters, MaxWait: c.MaxWait, RetryAfter: c.RetryAfter}.Validate()
	if err != nil {
		return fmt.Errorf("workers: %w", err)
	}
	return nil
}

// Workers is a fixed pool of workers numbered 0..Workers-1: each unit of
// work runs on exactly one worker and no other work shares it until it is
// done (see the package doc for why a worker is a slot, not a goroutine).
// A freed worker is the next one handed out (last in, first out), so hot
// per-worker state stays hot. Safe for concurrent use. Create it with
// [NewWorkers]; the zero value is not usable.
type Workers struct {
	cfg WorkersConfig
	sem sem
	rej rejecter

	mu   sync.Mutex
	free []int // stack of idle worker ids
}

// NewWorkers returns cfg.Workers idle workers.
func NewWorkers(cfg WorkersConfig) (*Workers, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Workers{
		cfg:  cfg,
		sem:  sem{size: cfg.Workers, maxWaiters: cfg.MaxWaiters, maxWait: cfg.MaxWait},
		rej:  newRejecter(cfg.Name, cfg.RetryAfter),
		free: make([]int, cfg.Workers),
	}
	for i := range w.free {
		w.free[i] = cfg.Workers - 1 - i // worker 0 on top
	}
	return w, nil
}

// Size returns the number of workers.
func (w *Workers) Size() int { return w.cfg.Workers }

// Busy returns the number of workers running a unit of work.
func (w *Workers) Busy() int { n, _ := w.sem.counts(); return n }

// Waiting returns the number of units of work waiting for a worker.
func (w *Workers) Waiting() int { _, n := w.sem.counts(); return n }

// Acquire takes a free worker, waiting at most MaxWait, and returns its id
// (0 ≤ id < Workers, held by this caller alone until release) and the
// function that frees it; calling release more than once is harmless. It
// returns ErrFull, ErrWaitTimeout or ctx's error when no worker is free.
func (w *Workers) Acquire(ctx context.Context) (id int, release func(), err error) {
	wait, err := w.sem.acquire(ctx)
	if err != nil {
		if w.cfg.Observer != nil {
			w.cfg.Observer.Rejected(w.cfg.Name, err)
		}
		return -1, nil, err
	}
	w.mu.Lock()
	id = w.free[len(w.free)-1]
	w.free = w.free[:len(w.free)-1]
	w.mu.Unlock()
	if w.cfg.Observer != nil {
		w.cfg.Observer.Acquired(w.cfg.Name, wait)
	}
	var done atomic.Bool
	return id, func() {
		if done.CompareAndSwap(false, true) {
			w.mu.Lock()
			w.free = append(w.free, id)
			w.mu.Unlock()
			w.sem.release()
		}
	}, nil
}

// Middleware returns next running on a worker: each request waits
// (bounded) for a free worker, runs with the worker's id in its context
// ([WorkerID]) and frees the worker when next returns. A request that gets
// no worker is answered 503 as by [Pool.Middleware].
func (w *Workers) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, release, err := w.Acquire(r.Context())
		if err != nil {
			w.rej.reject(rw, err)
			return
		}
		defer release()
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), workerKey{}, id)))
	})
}

type workerKey struct{}

// WorkerID returns the id of the worker the request of ctx runs on, and
// whether it runs on one.
func WorkerID(ctx context.Context) (int, bool) {
	id, ok := ctx.Value(workerKey{}).(int)
	return id, ok
}
