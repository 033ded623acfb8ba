package workload

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goodput-dev/goodput/internal/waitlist"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload/retry"
)

// Recorder receives every record of a run. Record and Event must be safe for
// concurrent use, must not keep the pointer after returning (copy what they
// need), and should not allocate: they sit on the hot path.
type Recorder interface {
	Record(r *results.Result)
	Event(e *results.Event)
}

// WireHeaders names the headers sent on every attempt: the wire contract
// between loadgen and a service (README.md, "Drive your own service"). A
// plain value; empty names (and the zero value) take the defaults of
// DefaultWireHeaders.
type WireHeaders struct {
	RequestID string // the request's id, the same on every attempt
	Attempt   string // 1 for the first try, 2 for the first retry, …
	TimeoutMs string // how many ms the client will still wait for this attempt
	Tenant    string // the simulated customer (not sent without tenants)
	Priority  string // critical or sheddable
}

// DefaultWireHeaders returns X-Request-Id, X-Attempt, X-Timeout-Ms,
// X-Tenant and X-Priority.
func DefaultWireHeaders() WireHeaders {
	return WireHeaders{"X-Request-Id", "X-Attempt", "X-Timeout-Ms", "X-Tenant", "X-Priority"}
}

func (w WireHeaders) withDefaults() WireHeaders {
	d := DefaultWireHeaders()
	pick := func(v, def string) string {
		if v == "" {
			return def
		}
		return http.CanonicalHeaderKey(v)
	}
	return WireHeaders{pick(w.RequestID, d.RequestID), pick(w.Attempt, d.Attempt), pick(w.TimeoutMs, d.TimeoutMs), pick(w.Tenant, d.Tenant), pick(w.Priority, d.Priority)}
}

// Config is what a Runner plays: a plain value that New validates and
// copies (the Runner never mutates it). Its zero value is invalid (no
// schedule, no templates).
type Config struct {
	Schedule *Schedule
	Arrival  Arrival
	Seed     uint64 // every random choice of the run derives from it
	Shard    Shard  // this generator's slice of the schedule; zero: unsharded
	BaseURL  string // joined to relative template URLs
	Mix      []Template
	// Order is how each request picks its template from Mix: at random
	// by weight (the zero value), or in turn.
	Order   Order
	Tenants Tenants
	// Data is what {data:NAME.COLUMN} placeholders of Mix read: each
	// request takes the next row of each data it uses, in order, wrapping;
	// shard k of N takes rows k, k+N, … (modulo the rows).
	Data  []*Data
	Retry retry.Policy
	// MaxInFlight bounds the requests in flight (attempts and waits between
	// them); a request due when it is reached is recorded as
	// generator_dropped. 0 means 10,000.
	MaxInFlight int
	// Client, when set, sends the attempts through net/http (tests use it
	// for in-memory connections). When nil the runner builds its own client
	// from HTTP: fasthttp for HTTP/1.1, net/http for HTTP/2.
	Client  *http.Client
	HTTP    ClientOptions
	Headers WireHeaders
	// Start is the wall-clock instant of offset 0 (results.Header.Start); zero
	// means the moment Run is called. Run waits for it when it is ahead.
	Start time.Time
	// Procs is how many cores the process runs Go code on during Run
	// (GOMAXPROCS, process-wide; Run restores it when it returns): 0
	// leaves it alone, n > 0 sets n, and ProcsAuto adapts it, between one
	// core and the number at Run's start, to the CPU the run uses (see
	// procTuner). Use a non-zero value only when the runner is the
	// process's main work, as in loadgen.
	Procs int
}

// DefaultMaxInFlight is the in-flight cap when Config.MaxInFlight is 0.
const DefaultMaxInFlight = 10000

// Runner plays a Config open-loop. Its control methods (SetRateMultiplier,
// Burst, SetRetryPolicy, Event) are safe for concurrent use, also while Run
// is going; Run itself may be called once at a time. Build with New.
type Runner struct {
	cfg     Config
	mix     *mix
	headers WireHeaders
	sender  sender
	maxIn   int64
	pool    sync.Pool

	mu    sync.Mutex
	pacer *pacer
	start time.Time // set when Run starts
	next  time.Time // the next Run's start instant, fixed by Prepare; zero: not yet

	sinkMu sync.RWMutex // held for reading while Event hands an event to sink
	sink   Recorder     // of the current Run; nil outside

	running  atomic.Bool
	wake     chan struct{}
	bursts   atomic.Int64
	state    atomic.Pointer[retry.State]
	inflight atomic.Int64
	// peakInflight is the most requests in flight since the tending last
	// looked: the dispatcher raises it, the tending resets it.
	peakInflight atomic.Int64
	workers      atomic.Int64
	offered      atomic.Uint64
	dropped      atomic.Uint64
	// behind counts the dropped requests the generator's own backlog
	// refused (see dispatcher.backlogged).
	behind atomic.Uint64
	// unsent is how many requests in flight have not yet sent their first
	// attempt: they wait for a worker, for a core or for a connection.
	unsent atomic.Int64
	// finishing is how many requests ended a second over the last tuning
	// window (see waitingRoom), and offering how many were offered (see
	// dispatcher.backlogged).
	finishing, offering atomic.Int64
	// slowHolds says every tuning window of the last reapAfter held its
	// requests longer than maxWaiting (in flight ÷ finishing rate), and
	// measured that the tending has looked once; see waitingRoom.
	slowHolds, measured atomic.Bool
}

// New validates cfg and returns its Runner. It starts nothing.
func New(cfg Config) (*Runner, error) {
	if cfg.Schedule == nil {
		return nil, errors.New("runner: no schedule")
	}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	if err := cfg.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("runner: client policy: %w", err)
	}
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("runner: max in-flight %d: must be ≥ 0", cfg.MaxInFlight)
	}
	if cfg.Procs < ProcsAuto {
		return nil, fmt.Errorf("runner: procs %d: must be ≥ 0, or ProcsAuto", cfg.Procs)
	}
	m, err := newMix(cfg.Mix, cfg.BaseURL, cfg.Tenants, cfg.Order, cfg.Data, cfg.Shard)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	r := &Runner{
		cfg:     cfg,
		mix:     m,
		headers: cfg.Headers.withDefaults(),
		maxIn:   int64(cfg.MaxInFlight),
		pacer:   newPacer(cfg.Schedule),
		wake:    make(chan struct{}, 1),
	}
	switch {
	case cfg.Client != nil:
		r.sender = &netSender{c: cfg.Client, h: r.headers}
	case cfg.HTTP.HTTP2:
		r.sender = &netSender{c: NewHTTPClient(cfg.HTTP), h: r.headers}
	default:
		r.sender = newFastSender(cfg.HTTP, r.headers)
	}
	if r.maxIn == 0 {
		r.maxIn = DefaultMaxInFlight
	}
	r.state.Store(retry.NewState(cfg.Retry))
	r.pool.New = func() any {
		q := &request{r: r}
		q.rng = rand.New(&q.pcg)
		return q
	}
	return r, nil
}

// SetRateMultiplier multiplies the offered rate by m (≥ 0; 1 is normal)
// from now on. The pacer integrates the new rate from the instant of the
// call, so nothing drifts. Negative or NaN values are ignored.
func (r *Runner) SetRateMultiplier(m float64) {
	if !(m >= 0) {
		return
	}
	r.mu.Lock()
	r.pacer.SetMultiplier(r.elapsedLocked(), m)
	r.mu.Unlock()
	r.poke()
}

// RateMultiplier returns the current rate multiplier.
func (r *Runner) RateMultiplier() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pacer.Multiplier()
}

// Burst starts n extra requests now, on top of the schedule (a surge of
// simultaneous arrivals). Their ids have the top bit set.
func (r *Runner) Burst(n int) {
	if n > 0 {
		r.bursts.Add(int64(n))
		r.poke()
	}
}

// SetRetryPolicy makes requests started from now on follow p, with fresh
// budget, throttle and hedging state. An invalid p is refused: the runner
// keeps its policy and records a note event saying why.
func (r *Runner) SetRetryPolicy(p retry.Policy) {
	if err := p.Validate(); err != nil {
		r.Event(results.Event{Kind: results.EventNote, At: r.Elapsed(), Scheduled: r.Elapsed(), Name: "client change refused", Target: "client", Detail: err.Error()})
		return
	}
	r.state.Store(retry.NewState(p))
}

// RetryPolicy returns the policy requests start with now.
func (r *Runner) RetryPolicy() retry.Policy { return *r.state.Load().Policy() }

// Event records e in the stream of the current run (dropped when no run is
// going). Fault timelines use it so that their events land with the results.
func (r *Runner) Event(e results.Event) {
	// Run waits for events in progress before it returns, so that no event
	// reaches a sink its caller has already closed.
	r.sinkMu.RLock()
	defer r.sinkMu.RUnlock()
	if r.sink != nil {
		r.sink.Event(&e)
	}
}

// Elapsed returns the time since the run's start instant (0 before Run;
// negative while Run waits for a future Config.Start).
func (r *Runner) Elapsed() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.elapsedLocked()
}

func (r *Runner) elapsedLocked() time.Duration {
	if r.start.IsZero() {
		return 0
	}
	return time.Since(r.start)
}

// Stats are live counters of a run, a snapshot value.
type Stats struct {
	InFlight int64  // requests started and not finished
	Offered  uint64 // requests the schedule emitted so far (bursts included)
	Dropped  uint64 // of which generator_dropped
	// Behind is how many of the dropped the generator refused because
	// its own backlog of requests not yet sent stayed too deep (the
	// others: the in-flight cap, or a start after the start instant).
	Behind uint64
	// Workers are the goroutines that run requests, busy or idle. Idle
	// ones are kept for the next requests while the load needs them and
	// end about reapAfter after it fell.
	Workers int64
}

// Stats returns the live counters.
func (r *Runner) Stats() Stats {
	return Stats{InFlight: r.inflight.Load(), Offered: r.offered.Load(), Dropped: r.dropped.Load(), Behind: r.behind.Load(), Workers: r.workers.Load()}
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// kickEvery is how soon at the earliest after it goes to sleep the pacer
// wakes an idle runtime with its kicker (see kicker) rather than waiting
// for the runtime's millisecond timer resolution. Each wake-up of an idle
// process costs thread switches, about as much CPU as a request, so at
// high rates the pacer does not kick for every arrival: arrivals due less
// than kickEvery after it went to sleep start at most kickEvery after that
// (sooner when anything else wakes the runtime), which keeps the lag p99
// under a millisecond. A 5,000 rps run on 2 cores measured lag p50/p99
// 0.3/0.85 ms against 0.5/1.2 ms without kicks.
const kickEvery = 800 * time.Microsecond

// lateStart is how late after its start instant a run may begin before
// the requests it missed are dropped rather than fired at once.
const lateStart = 100 * time.Millisecond

// burstBit marks the ids of Burst requests, keeping them apart from the
// schedule's ids.
const burstBit = 1 << 63

// ErrRunning is returned by Run when the runner is already running.
var ErrRunning = errors.New("runner: already running")

// prepareBudget bounds how long before its start instant a run gets
// ready (Prepare): long enough to dial a first phase's connections, with
// TLS, to a distant service; short enough that the connections are not
// idle for long before the start.
const prepareBudget = time.Second

// startLead is how far after the end of its preparation a run whose
// Config.Start is zero starts, and how long before a given start it ends
// its preparation: time to start the first phase's workers (startLead
// for n of them) before the start instant, so that the first requests are
// not late.
func startLead(n int) time.Duration {
	return 5*time.Millisecond + time.Duration(n)*readyWorkerCost
}

// readyWorkerCost bounds what starting one worker before the start costs
// (a goroutine, its grown stack): 250 took 7 ms on this project's 2-core
// test machine.
const readyWorkerCost = 40 * time.Microsecond

// workerStack is about how much stack a worker uses to send an HTTP/1.1
// request (8 KB was enough, by debug.SetMaxStack). A worker ready before
// the start grows its stack to hold it then, rather than in its first
// request, where the runtime doubles a goroutine's first 2 KB twice, each
// time copying it to fresh pages that fault in.
const workerStack = 6 << 10

// growStack uses about n bytes of the calling goroutine's stack, so that
// the runtime grows the stack to hold them.
//
//go:noinline
func growStack(n int) byte {
	var frame [512]byte
	frame[n%len(frame)] = byte(n)
	if n <= len(frame) {
		return frame[0]
	}
	return growStack(n-len(frame)) + frame[1]
}

// latencyGuess is the latency Little's law assumes when a run sizes its
// first phase's connections and workers (readyFor).
const latencyGuess = 10 * time.Millisecond

// minReady is the fewest connections and workers a run gets ready.
const minReady = 4

// readyFor returns how many connections (per origin) and workers a run
// gets ready before its start: by Little's law the requests in flight in
// the first second, at the first second's mean rate (this shard's
// share, at the current multiplier) × latencyGuess, at least minReady,
// at most the in-flight cap (the pool bounds connections further).
func (r *Runner) readyFor() int {
	s := r.cfg.Schedule
	rate := max(s.Rate(0), s.Count(time.Second)-s.Count(0))
	r.mu.Lock()
	rate *= r.pacer.Multiplier()
	r.mu.Unlock()
	rate /= float64(r.cfg.Shard.N())
	n := int(math.Ceil(rate * latencyGuess.Seconds()))
	return int(min(max(int64(n), minReady), r.maxIn))
}

// Prepare gets the runner ready for the first phase of its next Run and
// fixes that Run's start instant, which it returns: Config.Start when set,
// else the moment preparation ended (plus the few milliseconds it takes
// to start the workers, startLead, when it opened connections).
// Getting ready means opening connections to the Mix's origins, enough
// for the first phase (see readyFor) and at most ClientOptions.Connections
// (HTTP/1.1 with the runner's own client; TLS handshakes included), for
// at most a second (prepareBudget); a Config.Start further ahead than that
// is only returned, and Run gets ready a second before it. Nothing but
// connection set-up reaches the service.
//
// Run calls Prepare itself; a caller calls it first to learn the instant
// Run will use as offset 0 (a results header's start) when Config.Start
// is zero. A failed dial ends the preparation early; the run's requests
// meet and record the failure. Not for use while Run is going.
func (r *Runner) Prepare(ctx context.Context) time.Time {
	start := r.prepare(ctx)
	if !r.cfg.Start.IsZero() {
		return r.cfg.Start // as given, not as read back from the monotonic clock
	}
	return start
}

// prepare is Prepare, returning the start on the monotonic clock.
func (r *Runner) prepare(ctx context.Context) time.Time {
	r.mu.Lock()
	start := r.next
	r.mu.Unlock()
	if !start.IsZero() {
		return start
	}
	ready := r.readyFor()
	if r.cfg.Start.IsZero() {
		opened := r.warm(ctx, time.Now().Add(prepareBudget), ready)
		start = time.Now()
		if opened > 0 {
			start = start.Add(startLead(ready))
		}
	} else {
		// Keep the monotonic clock: the same instant, read from now.
		start = time.Now().Add(time.Until(r.cfg.Start))
		if time.Until(start) <= prepareBudget {
			r.warm(ctx, start.Add(-startLead(ready)), ready)
		}
	}
	r.mu.Lock()
	r.next = start
	r.mu.Unlock()
	return start
}

// warm opens up to n connections per origin for the first phase (n from
// readyFor) until deadline, and returns how many are open (0 when the
// sender opens none ahead: net/http's, whose runs start without
// startLead).
func (r *Runner) warm(ctx context.Context, deadline time.Time, n int) int {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	r.sender.open()
	// An error means fewer connections are ready; the requests dial the
	// rest, and record what fails.
	opened, _ := r.sender.warm(ctx, r.mix.origins(), n)
	return opened
}

// sleepUntil waits until at or ctx's end, and reports whether at came.
func sleepUntil(ctx context.Context, at time.Time) bool {
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}

// Run plays the schedule from its start (at the current rate multiplier;
// Stats restart at zero), sending every record to sink, and returns when the
// schedule has ended and every request it started has finished, or, when
// ctx is done, at once after the in-flight attempts (ended as canceled,
// recorded) have returned. It returns ctx's error if ctx ended the run.
//
// Before the start instant (see Prepare) it gets ready for the first
// phase: it opens connections, starts workers and grows their stacks, and
// sets GOMAXPROCS (a fixed Config.Procs; ProcsAuto starts at every core),
// so the generator's warm-up is not measured as the service's latency.
func (r *Runner) Run(ctx context.Context, sink Recorder) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	start := r.prepare(ctx)
	defer func() {
		r.mu.Lock()
		r.next = time.Time{}
		r.mu.Unlock()
	}()
	r.sinkMu.Lock()
	r.sink = sink
	r.sinkMu.Unlock()
	r.mu.Lock()
	r.start = start
	// Each run plays the schedule from its start, at the current multiplier.
	m := r.pacer.Multiplier()
	r.pacer = newPacer(r.cfg.Schedule)
	r.pacer.SetMultiplier(0, m)
	r.mu.Unlock()
	r.offered.Store(0)
	r.dropped.Store(0)
	r.behind.Store(0)
	defer func() {
		r.sinkMu.Lock()
		r.sink = nil
		r.sinkMu.Unlock()
	}()
	// A start far ahead: get ready a second before it (Prepare did not).
	if !sleepUntil(ctx, start.Add(-prepareBudget)) {
		return ctx.Err()
	}
	ready := r.readyFor()
	r.warm(ctx, start.Add(-startLead(ready)), ready) // nothing to do when Prepare did it
	// Until the first tuning window has been measured, requests are
	// assumed to end as fast as the ready workers finish them.
	r.finishing.Store(int64(ready) * int64(time.Second/latencyGuess))
	r.offering.Store(r.finishing.Load())
	r.measured.Store(false)
	r.slowHolds.Store(false)

	var wg sync.WaitGroup
	var idle idleWorkers
	// startWorker starts a worker for q.
	startWorker := func(q *request) {
		r.workers.Add(1)
		wg.Go(func() { r.worker(ctx, sink, &idle, q, nil) })
	}
	if r.cfg.Procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(r.cfg.Procs))
	}
	// The first phase's workers, idle until their first request (the
	// tending reaps those the load does not need), are started and idle
	// before the start instant, their stacks grown.
	var parked sync.WaitGroup
	parked.Add(ready)
	for range ready {
		r.workers.Add(1)
		wg.Go(func() {
			growStack(workerStack)
			r.worker(ctx, sink, &idle, nil, parked.Done)
		})
	}
	parked.Wait()
	if !sleepUntil(ctx, start) {
		idle.close()
		wg.Wait()
		return ctx.Err()
	}
	stop := make(chan struct{})
	tended := make(chan struct{})
	go func() {
		defer close(tended)
		r.tend(stop, &idle, startWorker)
	}()
	r.schedule(ctx, sink, &idle, startWorker)
	if ctx.Err() != nil {
		// Interrupted: end the attempts on the wire now rather than at
		// their timeouts.
		r.sender.abort()
	}
	// With no dispatcher left to start workers for them, the requests
	// still waiting for one get their own now.
	for _, q := range idle.takeAllWaitingSince(math.MaxInt64) {
		startWorker(q)
	}
	close(stop)
	<-tended
	idle.close()
	r.waitInFlight(ctx, &wg)
	r.sender.closeIdle()
	return ctx.Err()
}

// waitInFlight waits for the requests still in flight when the schedule
// ended. An interruption then still stops the run at once: the attempts
// on the wire are aborted (and recorded as canceled) rather than waited
// for until their timeouts, which may be never.
func (r *Runner) waitInFlight(ctx context.Context, wg *sync.WaitGroup) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		wg.Wait()
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		r.sender.abort()
		<-finished
	}
}

// reapAfter is how long the runner keeps the workers of a peak of requests
// in flight after the peak has passed.
const reapAfter = time.Second

// tend looks after the runner every tuneEvery until stop closes: it ends
// the idle workers the last reapAfter did not need (a surge leaves
// thousands, each holding a stack), measures how fast requests finish,
// starts workers (with start) for the requests that have waited for one
// for longer than maxWaitingStuck, closes connections idle for longer
// than idleTimeout, and with ProcsAuto it retunes GOMAXPROCS, which it
// restores when it returns.
func (r *Runner) tend(stop <-chan struct{}, idle *idleWorkers, start func(*request)) {
	var tuner *procTuner
	if r.cfg.Procs == ProcsAuto {
		prev := runtime.GOMAXPROCS(0)
		if tuner = newProcTuner(prev, time.Now(), r.offered.Load()); tuner != nil {
			defer runtime.GOMAXPROCS(prev)
		}
	}
	tick := time.NewTicker(tuneEvery)
	defer tick.Stop()
	// peaks[i] is the most requests in flight in one tick of the last
	// reapAfter; the workers beyond the highest are idle and unneeded.
	// The most, not the number at the tick: a burst between two ticks
	// (a stall of the generator or of the service) would otherwise leave
	// its workers to be reaped and started again at the next one, at
	// 10,000 rps against nginx 230–400 goroutines a second, each with
	// its stack to grow.
	peaks := make([]int64, int(reapAfter/tuneEvery))
	// holds[i] is how long a request was held, in the generator and the
	// service, in one tick of the last reapAfter (Little's law); an hour
	// when none finished.
	holds := make([]time.Duration, len(peaks))
	for i := range holds {
		holds[i] = time.Hour
	}
	finished, offered := r.finished(), r.offered.Load()
	for i := 0; ; i = (i + 1) % len(peaks) {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			f, o := r.finished(), r.offered.Load()
			r.finishing.Store(int64(f-finished) * int64(time.Second/tuneEvery))
			holds[i] = time.Hour
			if f > finished {
				holds[i] = time.Duration(r.inflight.Load()) * tuneEvery / time.Duration(f-finished)
			}
			r.slowHolds.Store(slices.Min(holds) > slowHold)
			r.measured.Store(true)
			r.offering.Store(int64(o-offered) * int64(time.Second/tuneEvery))
			finished, offered = f, o
			for _, q := range idle.takeAllWaitingSince(time.Since(r.start) - maxWaitingStuck) {
				start(q)
			}
			peaks[i] = r.peakInflight.Swap(r.inflight.Load())
			idle.reap(r.workers.Load() - slices.Max(peaks))
			r.sender.prune()
			if tuner != nil {
				tuner.tick(now, r.offered.Load(), r.rateAhead())
			}
		}
	}
}

// finished returns how many requests of the run have ended: those
// offered, less those dropped and those still in flight.
func (r *Runner) finished() int64 {
	return int64(r.offered.Load()-r.dropped.Load()) - r.inflight.Load()
}

// rateAhead returns the rate (requests/s) the schedule asks for over the
// next two tuning windows.
func (r *Runner) rateAhead() float64 {
	const window = 2 * tuneEvery
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.elapsedLocked()
	return (r.pacer.Effective(now+window) - r.pacer.Effective(now)) / window.Seconds()
}

// schedule fires requests at their intended starts until the schedule ends
// or ctx is done.
func (r *Runner) schedule(ctx context.Context, sink Recorder, idle *idleWorkers, start func(*request)) {
	cfg := &r.cfg
	arr := newArrivals(cfg.Arrival, cfg.Seed, cfg.Shard)
	d := dispatcher{
		r:            r,
		sink:         sink,
		idle:         idle,
		start:        start,
		mix:          newStream(cfg.Seed, streamMix, cfg.Shard.Index),
		tenant:       newStream(cfg.Seed, streamTenant, cfg.Shard.Index),
		placeholders: newStream(cfg.Seed, streamPlaceholders, cfg.Shard.Index),
	}
	end := cfg.Schedule.Duration()
	phase := -1
	var burstSeq uint64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	kick := newKicker()
	defer kick.close()
	var kickAt time.Duration // the kick's instant; past when ≤ now

	// A generator that begins after its start instant (a shard whose pod
	// came up late) does not fire what it missed in one burst: requests
	// due before it began are recorded as generator_dropped.
	var missed time.Duration
	if late := time.Since(r.start); late > lateStart {
		missed = late
		sink.Event(&results.Event{Kind: results.EventNote, At: late, Name: "late start", Target: "load",
			Detail: fmt.Sprintf("the generator began %v after its start instant; requests due before then are generator_dropped", late.Round(time.Millisecond))})
	}
	fire := func(id uint64, at time.Duration) {
		if p := cfg.Schedule.PhaseAt(at); p > phase {
			for phase < p {
				phase++
				ph := cfg.Schedule.phases[phase]
				sink.Event(&results.Event{Kind: results.EventPhaseStarted, At: time.Since(r.start), Scheduled: cfg.Schedule.PhaseStart(phase), Name: ph.Name, Target: "load"})
			}
		}
		d.dispatch(id, at, phase, at < missed)
	}

	id, x := arr.Next()
	for ctx.Err() == nil {
		for n := r.bursts.Swap(0); n > 0; n-- {
			now := time.Since(r.start)
			fire(burstBit|(burstSeq*uint64(cfg.Shard.N())+uint64(cfg.Shard.Index)), now)
			burstSeq++
		}
		r.mu.Lock()
		at, pace := r.pacer.At(x)
		r.mu.Unlock()
		now := time.Since(r.start)
		switch pace {
		case paceDone:
			return
		case paceAt:
			if at <= now {
				fire(id, at)
				id, x = arr.Next()
				continue
			}
			// The timer fires the arrival on any earlier wake-up of the
			// runtime; the kick makes sure there is one by then (a kick
			// already due sooner will do).
			timer.Reset(at - now)
			if k := max(at, now+kickEvery); kickAt <= now || k < kickAt {
				kick.after(k - now)
				kickAt = k
			}
		case paceNever:
			if now >= end {
				return
			}
			timer.Reset(end - now)
		}
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-r.wake:
			timer.Stop()
		}
	}
}

// dispatcher is what schedule needs to start the requests of one Run: the
// run's sink, its workers and the random streams that pick each request's
// template, tenant and placeholder values. It lives as long as schedule and
// is used by its goroutine only.
type dispatcher struct {
	r     *Runner
	sink  Recorder
	idle  *idleWorkers   // the idle workers and the waiting requests
	start func(*request) // starts a worker for a request
	// lateStart is the offset of the last worker started, while the
	// dispatcher was late, for a request that had waited (see
	// startWaiting).
	lateStart time.Duration
	// deep says the backlog of requests not yet sent has been too deep
	// since deepSince, and lastDrop is when backlogged last dropped a
	// request (offsets; 0 at first: see backlogged).
	deep                bool
	deepSince, lastDrop time.Duration
	// One stream per choice: see newStream.
	mix, tenant, placeholders *rand.Rand
}

// dispatch starts request id of phase due at offset at, or records it
// generator_dropped: when drop is set (it was due before a late start),
// when the generator's backlog of requests not yet sent has stayed too
// deep (see backlogged), or when the in-flight cap is reached.
func (d *dispatcher) dispatch(id uint64, at time.Duration, phase int, drop bool) {
	r, sink := d.r, d.sink
	r.offered.Add(1)
	q := r.pool.Get().(*request)
	q.id, q.intended, q.phase = id, at, uint16(phase)
	q.tmpl = &r.mix.templates[r.mix.pickTemplate(d.mix)]
	q.tenant = r.mix.pickTenant(d.tenant)
	q.prepare(d.placeholders)
	now := time.Since(r.start)
	if !drop && d.backlogged(now) {
		r.behind.Add(1)
		drop = true
	}
	var inflight int64
	if !drop {
		switch inflight = r.inflight.Add(1); {
		case inflight > r.maxIn:
			r.inflight.Add(-1)
			drop = true
		case inflight > r.peakInflight.Load():
			r.peakInflight.Store(inflight)
		}
	}
	if drop {
		r.dropped.Add(1)
		q.final(sink, results.OutcomeGeneratorDropped, at)
		r.pool.Put(q)
		return
	}
	r.unsent.Add(1)
	q.sent = false
	q.state = r.state.Load()
	q.pcg.Seed(r.cfg.Seed, id)
	// Hand the request to the most recently idle worker, or have it wait
	// for the next one, or start one: workers outlive their request, so
	// their grown stacks and the goroutine itself are reused.
	if !d.idle.handOff(q, r.waitingRoom(inflight), now) {
		d.start(q)
	}
	d.startWaiting(now, now-at < lateAfter)
}

// BacklogDelay bounds the generator's backlog: the requests it could
// not send yet, waiting for a core to run on or for a connection at the
// --connections bound (a wait for a connection dialed for the request
// is the service's, as the handshake is). When the backlog has held
// more than BacklogDelay of the offered rate (and more than
// backlogFloor requests) for backlogGrace, the runner records new
// requests as generator_dropped (Stats.Behind) until it is back under.
//
// As in CoDel, a backlog that drains within backlogGrace (a collection,
// a stall of the machine, a burst) costs lag, not requests. One that
// does not is a generator offered more than it can send, and each
// request it queued would have waited longer than the last, in
// goroutines, stacks and pool waits that cost it more CPU the deeper
// they were: against nginx on 2 cores, 70,000 rps offered (twice the
// clean rate) for 3 s served 28,000–36,000 rps with a lag p99 of
// 615–899 ms and 133 MB (in flight at the 10,000 cap from 200 ms on),
// and with the bound 33,000–41,000 rps, 78–119 ms and 53 MB (5 runs
// each). After a 300 ms stop (SIGSTOP) of the generator at 30,000 rps,
// it was back on its schedule 0.75 s after the stop began, where it
// had fired what the stop delayed in a burst of 39,000–44,000 rps until
// 1.75–2 s after; it dropped 12,500–13,600 requests against 8,700–9,300.
//
// backlogFloor is the backlog allowed whatever the rate: against a
// collapsed service at a few hundred requests a second, a few dozen
// requests wait tens of milliseconds for one of the 1,000 connections
// the service holds, which the retries of its clients keep busy.
const (
	BacklogDelay = 10 * time.Millisecond
	backlogGrace = 100 * time.Millisecond
	backlogFloor = 128
)

// backlogged reports whether new requests are to be dropped at now (an
// offset): the backlog (see BacklogDelay) has been too deep for
// backlogGrace. The requests in the waiting room do not count: they
// wait for a worker by choice, at most maxWaiting, and the room is
// bounded on its own (waitingRoom). A backlog that turns deep again
// within backlogGrace of the last drop drops at once: otherwise each
// pause in the dropping would let backlogGrace's worth of requests in,
// and the backlog would swing as deep as ever. The run's start counts
// as a drop: a generator offered more than it can send from its start
// has no stall to ride out. At 70,000 rps offered against nginx, a
// grace at the start let in a backlog that kept the first 400 ms at
// 6,000–33,000 rps with lag p99s up to 360 ms; without it they served
// 10,000–44,000 rps, lag p99s up to 120 ms.
func (d *dispatcher) backlogged(now time.Duration) bool {
	r := d.r
	limit := max(backlogFloor, r.offering.Load()*int64(BacklogDelay)/int64(time.Second))
	if r.unsent.Load()-d.idle.nWaiting.Load() <= limit {
		d.deep = false
		return false
	}
	if !d.deep {
		d.deep, d.deepSince = true, now
		if now-d.lastDrop < backlogGrace {
			d.deepSince = now - backlogGrace
		}
	}
	if now-d.deepSince < backlogGrace {
		return false
	}
	d.lastDrop = now
	return true
}

// maxWaiting is how long a request waits for the next worker to finish
// before the dispatcher starts a new worker for it: long enough for the
// workers of a fast service to finish while the generator catches up
// with a stall, short next to an SLO.
//
// Why requests wait at all: a new worker costs a goroutine, a stack to
// grow and often a connection to dial, and it runs behind every other
// runnable goroutine. Once the generator falls behind (a collection, a
// stall of its two cores), a worker for every request due meant more
// goroutines, dials and stack copies per request the further it fell
// behind, until it dropped requests: against nginx on 2 cores it
// dropped thousands at 30,000 rps with a lag p99 of 49–188 ms, where
// with requests waiting up to 20 ms it dropped none, lag p99 1–10 ms
// (issue #15). Waits of 1–5 ms did not stop the collapse.
const maxWaiting = 20 * time.Millisecond

// maxWaitingStuck bounds a request's wait for a worker when the
// dispatcher is not there to start one (no request due): the tending
// starts one for it.
const maxWaitingStuck = 5 * maxWaiting

// lateAfter is how late the dispatcher may be and still count as on time:
// it has the cores to spare for new workers.
const lateAfter = time.Millisecond

// lateStartGap is how often, while the dispatcher is late, it starts a
// worker for a request that has waited maxWaiting, for each
// lateStartsPer workers already running: new workers are what makes a
// late generator later.
const (
	lateStartGap  = time.Millisecond
	lateStartsPer = 256
)

// minWorkersToWait is how many workers must be running before a request
// waits for one: below, a new worker is cheap, and a wait only adds lag.
// Against nginx on 2 cores, 64 and 256 workers were enough for 35,000
// rps.
const minWorkersToWait = 128

// waitingRoom returns how many requests may wait for a worker, with
// inflight requests in flight: none while fewer than minWorkersToWait
// run or the service is slow (see slowService), else as many as the
// workers finish in maxWaiting, by the last tuning window's rate. When
// requests finish rarely (a slow service, a low rate), none waits: each
// gets a worker of its own at once.
func (r *Runner) waitingRoom(inflight int64) int {
	if r.workers.Load() < minWorkersToWait || r.slowService(inflight) {
		return 0
	}
	return int(r.finishing.Load() * int64(maxWaiting) / int64(time.Second))
}

// startWaiting starts a worker for the oldest waiting request if it has
// waited maxWaiting (now is the run's offset): at once when the
// dispatcher is on time, and while it is late, at most one each
// lateStartGap for each lateStartsPer workers.
func (d *dispatcher) startWaiting(now time.Duration, onTime bool) {
	if !onTime {
		gap := lateStartGap / time.Duration(1+d.r.workers.Load()/lateStartsPer)
		if now-d.lateStart < gap {
			return
		}
	}
	q := d.idle.takeWaitingSince(now - maxWaiting)
	if q == nil {
		return
	}
	if !onTime {
		d.lateStart = now
	}
	d.start(q)
}

// worker runs q (nil: it starts idle, and calls parked once idle), then
// the oldest request waiting for a worker, if any, or else the requests
// idle hands it, until it is reaped or idle closes with none waiting.
// Workers outlive their request, so their grown stacks and the goroutine
// itself are reused.
func (r *Runner) worker(ctx context.Context, sink Recorder, idle *idleWorkers, q *request, parked func()) {
	defer r.workers.Add(-1)
	next := newWorkerChan()
	for {
		if q == nil {
			waiting, ok := idle.park(next)
			if parked != nil {
				parked()
				parked = nil
			}
			switch {
			case waiting != nil:
				q = waiting
			case !ok:
				return
			default:
				if q = <-next; q == nil {
					return
				}
			}
		}
		q.run(ctx, sink)
		q.sending() // one that ended unsent leaves the backlog too
		r.inflight.Add(-1)
		q.state = nil
		r.pool.Put(q)
		q = nil
	}
}

// request is one request in flight; pooled.
type request struct {
	r        *Runner
	id       uint64
	intended time.Duration
	phase    uint16
	tmpl     *compiled
	tenant   string
	queued   time.Duration           // when it began to wait for a worker (offset)
	sent     bool                    // its first attempt went on the wire (see sending)
	wait     waitlist.Elem[*request] // in idleWorkers.waiting while it waits
	state    *retry.State
	pcg      rand.PCG
	rng      *rand.Rand
	urlBuf   []byte
	bodyBuf  []byte
	hdrBuf   []byte // expanded header values with placeholders, back to back
	hdrEnds  []int  // hdrBuf[hdrEnds[i-1]:hdrEnds[i]] is the i-th such value
	res      results.Result
}

// prepare expands the template's placeholders for this request.
func (q *request) prepare(rng *rand.Rand) {
	t := q.tmpl
	for _, c := range t.cursors {
		c.advance()
	}
	q.urlBuf = q.urlBuf[:0]
	if !t.url.static {
		q.urlBuf = t.url.appendTo(q.urlBuf, q.id, q.tenant, rng)
	}
	q.bodyBuf = q.bodyBuf[:0]
	if !t.body.static {
		q.bodyBuf = t.body.appendTo(q.bodyBuf, q.id, q.tenant, rng)
	}
	q.hdrBuf, q.hdrEnds = q.hdrBuf[:0], q.hdrEnds[:0]
	for i := range t.header {
		if v := &t.header[i].value; !v.static {
			q.hdrBuf = v.appendTo(q.hdrBuf, q.id, q.tenant, rng)
			q.hdrEnds = append(q.hdrEnds, len(q.hdrBuf))
		}
	}
}

// headerValue returns the expanded value of the k-th header with
// placeholders (prepare filled them; attempts, hedges too, only read them).
func (q *request) headerValue(k int) []byte {
	start := 0
	if k > 0 {
		start = q.hdrEnds[k-1]
	}
	return q.hdrBuf[start:q.hdrEnds[k]]
}

// base fills the fields every record of the request shares.
func (q *request) base(attempt int) *results.Result {
	q.res = results.Result{
		RequestID: q.id,
		Attempt:   uint16(attempt),
		Phase:     q.phase,
		Route:     q.tmpl.name,
		Tenant:    q.tenant,
		Intended:  q.intended,
	}
	return &q.res
}

// final records a decision made without an attempt (Attempt 0).
func (q *request) final(sink Recorder, o results.Outcome, at time.Duration) {
	res := q.base(0)
	res.Start, res.End, res.Outcome, res.Final = at, at, o, true
	sink.Record(res)
}

// sending says that q's first attempt goes on the wire now: it no longer
// counts in the generator's backlog. Senders call it once the attempt
// has its connection or waits for one being dialed; from the attempt's
// goroutine, and not from a hedge's second attempt.
func (q *request) sending() {
	if !q.sent {
		q.sent = true
		q.r.unsent.Add(-1)
	}
}

// run plays the request's attempts under its client policy.
func (q *request) run(ctx context.Context, sink Recorder) {
	st := q.state
	p := st.Policy()
	start := q.r.start
	now := time.Now()
	st.Budget().Request(now)
	st.Hedger().Request(now)
	var deadline time.Duration // offset; 0 none
	if p.Deadline > 0 {
		deadline = q.intended + p.Deadline
	}
	var prevDelay time.Duration
	var spent int
	for n := 1; ; n++ {
		if !st.Throttle().Allow(time.Now(), q.rng.Float64()) {
			q.final(sink, results.OutcomeClientThrottled, time.Since(start))
			return
		}
		// The pooled record: handing &q.res to the sink does not allocate.
		res := &q.res
		var ra time.Duration
		var raOK bool
		if h := st.Hedger(); h != nil && n == 1 {
			hr := q.hedged(ctx, sink, deadline)
			*res, ra, raOK = hr.res, hr.retryAfter, hr.retryAfterOK
			n += boolInt(hr.hedged)
		} else {
			ra, raOK = q.attempt(ctx, n, deadline, res, false)
		}
		now := time.Now()
		if res.Outcome == results.OutcomeOK || res.Outcome == results.OutcomeClientError {
			st.Throttle().Accepted(now)
		}
		if res.Outcome == results.OutcomeOK {
			st.Budget().Success(now, spent)
			st.Hedger().Observe(res.End - res.Start)
			res.Final = true
			sink.Record(res)
			return
		}
		retryable := p.RetryOn.Retryable(res.Outcome, int(res.Status))
		if retryable {
			st.Budget().Failure(now)
		}
		elapsed := time.Since(start)
		if !retryable || n >= p.Attempts() || ctx.Err() != nil || (deadline > 0 && elapsed >= deadline) {
			res.Final = true
			sink.Record(res)
			return
		}
		delay := p.RetryDelay(n, prevDelay, ra, raOK, q.rng.Float64())
		if deadline > 0 && elapsed+delay >= deadline {
			res.Final = true // no time left for another attempt
			sink.Record(res)
			return
		}
		var ok bool
		if spent, ok = st.Budget().Retry(now, res.Outcome == results.OutcomeClientTimeout); !ok {
			sink.Record(res)
			q.final(sink, results.OutcomeBudgetExhausted, time.Since(start))
			return
		}
		sink.Record(res)
		if delay > 0 && !sleep(ctx, delay) {
			q.final(sink, results.OutcomeCanceled, time.Since(start))
			return
		}
		prevDelay = delay
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// answer is an attempt's record and the Retry-After its service sent.
type answer struct {
	res          results.Result // not yet recorded; Final unset
	retryAfter   time.Duration  // the service's Retry-After, when retryAfterOK
	retryAfterOK bool
}

// hedgeResult is what hedged decided.
type hedgeResult struct {
	answer      // the deciding attempt's
	hedged bool // attempt 2 was sent
}

// hedged sends attempt 1, and attempt 2 if attempt 1 has not answered
// after the hedge delay and the hedge budget allows; the first success
// wins and the other is canceled (recorded, not final). It returns the
// deciding attempt's answer and whether it hedged.
func (q *request) hedged(ctx context.Context, sink Recorder, deadline time.Duration) hedgeResult {
	h := q.state.Hedger()
	delay, ok := h.Delay()
	if !ok {
		var a answer
		a.retryAfter, a.retryAfterOK = q.attempt(ctx, 1, deadline, &a.res, false)
		return hedgeResult{answer: a}
	}
	ch := make(chan answer, 2)
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	send := func(n int) {
		var a answer
		a.retryAfter, a.retryAfterOK = q.attempt(actx, n, deadline, &a.res, true)
		ch <- a
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { send(1) })
	t := time.NewTimer(delay)
	defer t.Stop()
	outstanding, hedged := 1, false
	for {
		select {
		case <-t.C:
			if h.Allow(time.Now()) {
				hedged = true
				outstanding++
				wg.Go(func() { send(2) })
			}
		case a := <-ch:
			outstanding--
			if a.res.Outcome == results.OutcomeOK || outstanding == 0 {
				cancel()
				for range outstanding {
					loser := <-ch
					sink.Record(&loser.res)
				}
				return hedgeResult{answer: a, hedged: hedged}
			}
			sink.Record(&a.res)
		}
	}
}

// attempt sends attempt n and fills res with its record (Final unset).
// watch says whether ctx may end on its own (a hedge's context); the run's
// context needs no watching: an interrupted run aborts its connections.
func (q *request) attempt(ctx context.Context, n int, deadline time.Duration, res *results.Result, watch bool) (ra time.Duration, raOK bool) {
	r := q.r
	p := q.state.Policy()
	*res = results.Result{RequestID: q.id, Attempt: uint16(n), Phase: q.phase, Route: q.tmpl.name, Tenant: q.tenant, Intended: q.intended}
	res.Start = time.Since(r.start)
	timeout := p.AttemptTimeout
	if deadline > 0 {
		left := deadline - res.Start
		if left <= 0 {
			res.End, res.Outcome, res.Error = res.Start, results.OutcomeClientTimeout, ErrTextTimeout
			return 0, false
		}
		if timeout == 0 || left < timeout {
			timeout = left
		}
	}
	if ctx.Err() != nil {
		res.End, res.Outcome = res.Start, results.OutcomeCanceled
		return 0, false
	}
	ra, raOK = r.sender.send(ctx, q, n, timeout, res, watch)
	if n == 1 {
		q.sending() // also when the attempt got no connection
	}
	return ra, raOK
}

// slowHold is how long a service may hold requests, on average, for
// requests to wait for a busy worker (see slowService): a quarter of
// maxWaiting, so that the service's own latency is far from what the
// wait allows. At maxWaiting itself, make demo's surge (a service
// holding its requests 20 ms) lagged 20 ms at its start, as the workers
// for the tripled rate were started one wait at a time: the run's lag
// p99 read 16.3 ms; at a quarter, 2.3 ms. Against nginx, whose requests
// are held well under a millisecond, 36,000 rps ran clean in 3 of 3 runs
// (and in 4 of 4 with a quarter for the check before the first window
// too, against 4 of 4 at maxWaiting).
const slowHold = maxWaiting / 4

// slowService reports whether the service holds requests longer than
// slowHold, by Little's law: in each tuning window of the last
// reapAfter (one fast window is enough to say no, so a stall of the
// generator does not turn the room off when it is most needed), or,
// before the tending has measured one, with inflight requests in flight
// at the offered rate. Against such a service the workers are waiting
// for it, not for a core, and a new one is cheap; a request that waited
// for one of them would only start when one answered. Against a Go
// server answering in 50 ms at 3,000 rps, the room made the first 200 ms
// lag 10–21 ms (lag p99 of the run 9.2–10.1 ms, latency p99 60–61 ms);
// without it, lag p99 1.0–4.0 ms, latency p99 53–59 ms.
func (r *Runner) slowService(inflight int64) bool {
	if r.measured.Load() {
		return r.slowHolds.Load()
	}
	return inflight*int64(time.Second) > r.offering.Load()*int64(maxWaiting)
}
