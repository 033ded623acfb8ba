package dep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Timing is how one call spent its time.
type Timing struct {
	// Wait is the time spent waiting for a pool slot.
	Wait time.Duration
	// Service is the time the call held its slot (latency, stall or the
	// remote round trip).
	Service time.Duration
}

// StatusError is a failed call: the dependency answered with Status (an
// HTTP-like status, 500 when the configuration says 0 for a simulated
// dependency).
type StatusError struct {
	Dep    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("dependency %s: status %d", e.Dep, e.Status)
}

// ErrConnReset is the injected failure of a remote dependency whose
// ErrorStatus is 0: the connection was reset before an answer.
var ErrConnReset = errors.New("connection reset by dependency")

// Stats is a snapshot of a dependency's counters.
type Stats struct {
	Name string `json:"name"`
	// InUse is the number of slots held, Queued the calls waiting for one
	// and Size the pool size.
	InUse  int `json:"in_use"`
	Queued int `json:"queued"`
	Size   int `json:"size"`
	// Calls counts finished calls (served, failed or abandoned), Errors the
	// injected or remote failures.
	Calls  int64 `json:"calls"`
	Errors int64 `json:"errors"`
	// Wasted counts calls that finished their work after the caller had
	// gone (StopOnCancel false), and WastedTime the slot time they held.
	Wasted     int64         `json:"wasted"`
	WastedTime time.Duration `json:"wasted_ns"`
}

// state is one immutable configuration with its stall gate. unstall is
// closed when a stall is lifted; it is nil when the state is not stalled.
type state struct {
	cfg     Config
	unstall chan struct{}
}

// Dep is one simulated (or remote) dependency. Call it with Call; change
// its behaviour live with Update or Patch. A pool resize takes effect for new
// acquisitions; calls in flight keep the configuration they started with.
//
// A Dep is safe for concurrent use. Use New; the zero value is not usable.
type Dep struct {
	name   string
	client *http.Client

	mu    sync.Mutex // serialises Update/Patch and guards rng
	rng   *rand.Rand
	state atomic.Pointer[state]
	pool  pool

	calls, errs, wasted, wastedNanos atomic.Int64
	// late is a moving average of how late, in nanoseconds, a timer fires
	// and its goroutine runs; work sets its timers that much early.
	late atomic.Int64
}

// New returns the dependency name with configuration cfg. rng drives its
// latency and error sampling (a seeded source makes a run replayable);
// client is used when cfg.URL is set (nil means a client with no timeout of
// its own: calls end with their context).
func New(name string, cfg Config, rng *rand.Rand, client *http.Client) (*Dep, error) {
	if rng == nil {
		return nil, fmt.Errorf("dependency %s: nil rand source", name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dependency %s: %w", name, err)
	}
	if client == nil {
		client = &http.Client{}
	}
	d := &Dep{name: name, client: client, rng: rng}
	st := &state{cfg: cfg}
	if cfg.Stall {
		st.unstall = make(chan struct{})
	}
	d.state.Store(st)
	d.pool.resize(cfg.Pool)
	return d, nil
}

// Name returns the dependency's name.
func (d *Dep) Name() string { return d.name }

// Config returns the current configuration.
func (d *Dep) Config() Config { return d.state.Load().cfg }

// Update validates cfg and makes it the configuration for calls that start
// from now on. Lifting a stall releases the calls stalled now.
func (d *Dep) Update(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("dependency %s: %w", d.name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.updateLocked(cfg)
	return nil
}

// Patch applies a JSON object of Config fields over the current
// configuration (missing fields keep their value), validates the result and
// applies it atomically. It returns the configuration now in force. Unknown
// fields are rejected by name.
func (d *Dep) Patch(body []byte) (Config, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg := d.state.Load().cfg
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("dependency %s: %w", d.name, err)
	}
	if dec.More() {
		return Config{}, fmt.Errorf("dependency %s: trailing data after the JSON object", d.name)
	}
	cfg.Latency = cfg.Latency.Normalized()
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("dependency %s: %w", d.name, err)
	}
	d.updateLocked(cfg)
	return cfg, nil
}

func (d *Dep) updateLocked(cfg Config) {
	old := d.state.Load()
	st := &state{cfg: cfg}
	switch {
	case cfg.Stall && old.cfg.Stall:
		st.unstall = old.unstall
	case cfg.Stall:
		st.unstall = make(chan struct{})
	case old.cfg.Stall:
		defer close(old.unstall)
	}
	d.state.Store(st)
	d.pool.resize(cfg.Pool)
}

// Stats returns a snapshot of the counters.
func (d *Dep) Stats() Stats {
	inUse, queued, size := d.pool.stats()
	return Stats{
		Name:       d.name,
		InUse:      inUse,
		Queued:     queued,
		Size:       size,
		Calls:      d.calls.Load(),
		Errors:     d.errs.Load(),
		Wasted:     d.wasted.Load(),
		WastedTime: time.Duration(d.wastedNanos.Load()),
	}
}

// Call makes one call: it waits FIFO for a pool slot (giving up when ctx
// ends), holds the slot for the sampled latency and returns how the time was
// spent. With StopOnCancel false a call whose ctx ends while it works keeps
// working and holding its slot until its latency has passed (it is counted
// as wasted), then returns ctx's error; with StopOnCancel true it stops at
// once. A stalled call waits until the stall is lifted or ctx ends.
func (d *Dep) Call(ctx context.Context) (Timing, error) {
	st := d.state.Load()
	cfg := st.cfg
	var t Timing
	start := time.Now()
	got, err := d.pool.acquire(ctx)
	if err != nil {
		t.Wait = time.Since(start)
		return t, fmt.Errorf("dependency %s: wait for a slot: %w", d.name, err)
	}
	// The slot is due to be free when the call ends: at got + latency when
	// it ran its latency out (however late the timer fired), else now.
	var due time.Time
	defer func() {
		if due.IsZero() {
			due = time.Now()
		}
		d.pool.release(due)
	}()
	t.Wait = got.Sub(start)
	defer d.calls.Add(1)

	begin := got // when the work starts: after a stall, when it was lifted
	if st.unstall != nil {
		select {
		case <-st.unstall:
			begin = time.Now()
		case <-ctx.Done():
			t.Service = time.Since(got)
			return t, fmt.Errorf("dependency %s: stalled: %w", d.name, ctx.Err())
		}
	}

	latency, fail := d.sample(cfg)
	if cfg.URL != "" && !fail {
		err = d.remote(ctx, cfg)
	} else {
		err = d.work(ctx, cfg, begin.Add(latency))
		if err == nil {
			due = begin.Add(latency)
		}
	}
	if fail && err == nil {
		err = d.failure(cfg)
	}
	t.Service = time.Since(got)
	if err != nil && ctx.Err() == nil {
		d.errs.Add(1)
	}
	if ctx.Err() != nil && !cfg.StopOnCancel {
		d.wasted.Add(1)
		d.wastedNanos.Add(int64(t.Service))
		if err == nil {
			err = fmt.Errorf("dependency %s: finished after the caller left: %w", d.name, ctx.Err())
		}
	}
	return t, err
}

// work holds the slot until end, or until ctx ends when StopOnCancel.
//
// A timer fires late (the runtime's poller sleeps in whole milliseconds:
// about 0.5 ms late on average), which would make every call hold its slot
// longer than its latency and the capacity fall short of P/L. So the timer
// is set early by the average lateness seen so far (at most half the wait,
// so every timer still fires and is measured): calls then end at their due
// time on average, whoever waits on them.
func (d *Dep) work(ctx context.Context, cfg Config, end time.Time) error {
	now := time.Now()
	wait := end.Sub(now)
	if wait <= 0 {
		return nil
	}
	wait -= min(time.Duration(d.late.Load()), wait/2)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var done <-chan struct{}
	if cfg.StopOnCancel {
		done = ctx.Done()
	}
	select {
	case <-timer.C:
		d.observeLate(time.Since(now) - wait)
		return nil
	case <-done:
		return fmt.Errorf("dependency %s: %w", d.name, ctx.Err())
	}
}

// observeLate adds one timer's lateness to the moving average (weight 1/16).
func (d *Dep) observeLate(late time.Duration) {
	for {
		old := d.late.Load()
		next := old + (int64(late)-old)/16
		if d.late.CompareAndSwap(old, next) {
			return
		}
	}
}

// remote makes the call a GET to cfg.URL. Without StopOnCancel the request
// outlives the caller's cancellation, as a query that was already sent does.
func (d *Dep) remote(ctx context.Context, cfg Config) error {
	if !cfg.StopOnCancel {
		ctx = context.WithoutCancel(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		return fmt.Errorf("dependency %s: %w", d.name, err)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("dependency %s: %w", d.name, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("dependency %s: read answer: %w", d.name, err)
	}
	if resp.StatusCode >= 500 {
		return &StatusError{Dep: d.name, Status: resp.StatusCode}
	}
	return nil
}

func (d *Dep) failure(cfg Config) error {
	if cfg.ErrorStatus == 0 {
		if cfg.URL != "" {
			return fmt.Errorf("dependency %s: %w", d.name, ErrConnReset)
		}
		return &StatusError{Dep: d.name, Status: http.StatusInternalServerError}
	}
	return &StatusError{Dep: d.name, Status: cfg.ErrorStatus}
}

// sample draws one call's latency and whether it fails.
func (d *Dep) sample(cfg Config) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sampleLatency(cfg, d.rng), cfg.ErrorRate > 0 && d.rng.Float64() < cfg.ErrorRate
}

// sampleLatency draws base latency × multiplier + AddLatency + U(0, AddJitter).
func sampleLatency(cfg Config, rng *rand.Rand) time.Duration {
	base := cfg.Latency.Sample(rng)
	if cfg.LatencyMultiplier > 0 {
		base *= cfg.LatencyMultiplier
	}
	base += float64(cfg.AddLatency)
	if cfg.AddJitter > 0 {
		base += rng.Float64() * float64(cfg.AddJitter)
	}
	if base > float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(base)
}
