package serverless

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodput-dev/goodput/target/backlog"
	"github.com/goodput-dev/goodput/target/dep"
)

// Options are the fixed parts of a Platform.
type Options struct {
	// Rand drives the sampling of durations, init times and function
	// errors. Required: a seeded source makes a run replayable.
	Rand *rand.Rand
	// OnColdStart, when set, hears every cold start with its function and
	// sampled init time (for an init-duration histogram). It is called
	// without the Platform's lock held and must be safe for concurrent
	// use.
	OnColdStart func(function string, init time.Duration)
	// Deps are the dependencies functions may call, by name
	// (Function.Deps); nil when none does. The map is read, never
	// changed, and must not change after New.
	Deps map[string]Dependency
}

// Dependency is something a function calls while it runs: a pool of
// target/dep (*dep.Dep implements it). It must be safe for concurrent
// use.
type Dependency interface {
	// Call makes one call: it waits for a slot (giving up when ctx
	// ends), holds it for the call and says how the time went.
	Call(ctx context.Context) (dep.Timing, error)
}

// env is one execution environment: it serves one request at a time.
type env struct {
	fn          *function
	provisioned bool
	// running is the env's index in fn.running while it initialises or
	// serves, −1 while idle.
	running   int
	initUntil time.Time // end of its init (zero for a warm invoke)
	idleSince time.Time // when it last became idle
	nextStart time.Time // earliest start of its next request (EnvRPS)
}

// function is one function's live state, guarded by Platform.mu.
type function struct {
	cfg   Function
	scale *rate.Limiter // new environments (ScaleRate per ScaleInterval)
	// provIdle and idle are the idle provisioned and on-demand
	// environments, least recently used first.
	provIdle []*env
	idle     []*env
	running  []*env // initialising or serving
	provEnvs int    // environments flagged provisioned (idle or not)

	invokes, cold, errs uint64
	throttles           [numReasons]uint64
	reclaimed           uint64

	async *asyncQueue
}

// Lease is one admitted invocation: the environment it runs on and the
// times sampled for it. The invocation initialises (cold only) from Start
// for Init, then runs for Duration; give the environment back with
// [Platform.Release] when it ends. A Lease is a plain value.
type Lease struct {
	env *env
	// Function is the function's name.
	Function string
	// Start is when it was admitted.
	Start time.Time
	// Cold says a new environment was created for it; Init is its init
	// time (0 when warm).
	Cold bool
	Init time.Duration
	// Duration is the sampled run time, after any init.
	Duration time.Duration
	// Fail says the invocation ends with a function error.
	Fail bool
	// Deps are the dependencies the invocation calls, in order, between
	// its init and its Duration (the function's Deps when it was
	// admitted; shared, not to be modified). [Platform.Invoke] makes the
	// calls; a caller of Acquire makes them itself, or not.
	Deps []string
}

// End returns when the invocation is due to end: Start + Init + Duration.
func (l Lease) End() time.Time { return l.Start.Add(l.Init + l.Duration) }

// Platform is a simulated function platform (in the manner of AWS Lambda):
// functions run in execution environments that serve one request at a
// time, created by cold invokes (which pay an init time) within the
// account's concurrency, each function's reserved concurrency and its
// scaling rate, reused warm (most recently used first) and reclaimed when
// idle for IdleTimeout.
//
// Every time-dependent method takes the current time as an argument
// (Acquire, Release, Reclaim, SetConfig, Stats, Enqueue); the instants
// given should not go backwards. [Platform.Invoke] and [Platform.Run] are
// the blocking wrappers on the runtime clock (time.Now and timers, so
// tests run them under testing/synctest).
//
// A Platform is safe for concurrent use. Make one with [New]; the zero
// value is not usable.
type Platform struct {
	onCold  func(string, time.Duration)
	deps    map[string]Dependency // read-only after New
	running atomic.Bool

	mu  sync.Mutex
	cfg Config
	rng *rand.Rand
	fns map[string]*function
	// order lists the functions in configuration order.
	order []*function
	// unreservedCap is account_concurrency − Σ reserved; unreservedUsed
	// is Σ over functions without reservation of max(running,
	// provisioned): what they take of the account.
	unreservedCap, unreservedUsed int
}

// New validates cfg and returns its Platform, with each function's
// provisioned environments initialised and idle. It starts nothing.
func New(cfg Config, o Options) (*Platform, error) {
	if o.Rand == nil {
		return nil, fmt.Errorf("serverless: nil rand source")
	}
	cfg = cfg.Normalized()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("serverless config: %w", err)
	}
	p := &Platform{onCold: o.OnColdStart, deps: o.Deps, rng: o.Rand, fns: make(map[string]*function, len(cfg.Functions))}
	if err := p.checkDeps(cfg); err != nil {
		return nil, err
	}
	for _, fc := range cfg.Functions {
		f := &function{cfg: fc, scale: rate.NewLimiter(scaleLimit(cfg), cfg.ScaleRate)}
		q, err := newAsyncQueue(cfg.Async)
		if err != nil {
			return nil, fmt.Errorf("serverless: function %s: %w", fc.Name, err)
		}
		f.async = q
		p.fns[fc.Name] = f
		p.order = append(p.order, f)
	}
	p.applyLocked(time.Time{}, cfg)
	return p, nil
}

// checkDeps reports the functions of cfg that call a dependency the
// platform does not have.
func (p *Platform) checkDeps(cfg Config) error {
	var errs []error
	for _, f := range cfg.Functions {
		for _, d := range f.Deps {
			if p.deps[d] == nil {
				errs = append(errs, fmt.Errorf("functions[%s].deps: unknown dependency %q, want one of [%s]",
					f.Name, d, strings.Join(slices.Sorted(maps.Keys(p.deps)), ", ")))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("serverless config: %w", err)
	}
	return nil
}

// scaleLimit is the scaling bucket's refill rate, environments per second.
func scaleLimit(c Config) rate.Limit {
	return rate.Limit(float64(c.ScaleRate) / time.Duration(c.ScaleInterval).Seconds())
}

// Config returns the configuration in force.
func (p *Platform) Config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Normalized()
}

// SetConfig validates cfg and puts it in force at now. The set of function
// names cannot change. Environments running keep running: a lower limit
// refuses new invokes until usage is below it. A function's provisioned
// count grows by promoting idle on-demand environments, then by creating
// initialised ones; it shrinks by demoting idle provisioned environments
// (then busy ones as they finish) to on-demand, which the idle timeout
// reclaims.
func (p *Platform) SetConfig(now time.Time, cfg Config) error {
	cfg = cfg.Normalized()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("serverless config: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(cfg.Functions) != len(p.order) {
		return fmt.Errorf("serverless config: functions: %d functions, cannot change from %d while running", len(cfg.Functions), len(p.order))
	}
	for _, fc := range cfg.Functions {
		if p.fns[fc.Name] == nil {
			return fmt.Errorf("serverless config: functions: %q is new; functions cannot be added or removed while running", fc.Name)
		}
	}
	if err := p.checkDeps(cfg); err != nil {
		return err
	}
	if err := p.setAsyncLocked(cfg.Async); err != nil {
		return err
	}
	for _, f := range p.order {
		f.scale.SetLimitAt(now, scaleLimit(cfg))
		f.scale.SetBurstAt(now, cfg.ScaleRate)
	}
	p.applyLocked(now, cfg)
	return nil
}

// applyLocked puts cfg (valid, same functions) in force: function
// settings, provisioned environments and the account's bookkeeping.
func (p *Platform) applyLocked(now time.Time, cfg Config) {
	p.cfg = cfg
	reserved := 0
	for _, fc := range cfg.Functions {
		f := p.fns[fc.Name]
		f.cfg = fc
		reserved += fc.Reserved
		for f.provEnvs < fc.Provisioned {
			if n := len(f.idle); n > 0 {
				e := f.idle[n-1]
				f.idle = f.idle[:n-1]
				e.provisioned = true
				f.provIdle = append(f.provIdle, e)
			} else {
				f.provIdle = append(f.provIdle, &env{fn: f, provisioned: true, running: -1, idleSince: now})
			}
			f.provEnvs++
		}
		for f.provEnvs > fc.Provisioned && len(f.provIdle) > 0 {
			e := f.provIdle[0]
			f.provIdle = slices.Delete(f.provIdle, 0, 1)
			e.provisioned = false
			e.idleSince = now
			f.idle = append(f.idle, e)
			f.provEnvs--
		}
	}
	p.unreservedCap = cfg.AccountConcurrency - reserved
	p.unreservedUsed = 0
	for _, f := range p.order {
		if f.cfg.Reserved == 0 {
			p.unreservedUsed += max(len(f.running), f.cfg.Provisioned)
		}
	}
}

// Acquire admits one invocation of function name at now, or refuses it
// with a [Reason] (or an error matching [ErrUnknownFunction]). It first
// reclaims the function's environments idle past IdleTimeout, then checks
// concurrency: a function with a reservation may have at most Reserved
// environments running (ReasonReserved); one without shares the account's
// unreserved concurrency (ReasonAccount), where its provisioned
// environments are already counted. It then takes the most recently used
// idle environment that may start a request now (provisioned first, then
// on-demand; see Config.EnvRPS). If there is none it creates one, if the
// function's scaling bucket has a token (else ReasonScaling): a cold
// invoke, which pays a sampled init time. Duration, init and failure are
// sampled from the function's configuration, and Deps is its Deps.
//
// A refusal does no work and changes no state but the throttle counters.
// The warm path does not allocate.
func (p *Platform) Acquire(now time.Time, name string) (Lease, error) {
	p.mu.Lock()
	f := p.fns[name]
	if f == nil {
		p.mu.Unlock()
		return Lease{}, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	p.reclaimLocked(f, now)
	counted := false // the invoke takes a unit of the account's unreserved concurrency
	if f.cfg.Reserved > 0 {
		if len(f.running) >= f.cfg.Reserved {
			return p.throttleLocked(f, ReasonReserved)
		}
	} else if len(f.running) >= f.cfg.Provisioned {
		if p.unreservedUsed >= p.unreservedCap {
			return p.throttleLocked(f, ReasonAccount)
		}
		counted = true
	}
	e := p.warmLocked(f, now)
	l := Lease{Function: f.cfg.Name, Start: now}
	if e == nil {
		if !f.scale.AllowN(now, 1) {
			return p.throttleLocked(f, ReasonScaling)
		}
		e = &env{fn: f}
		l.Cold = true
		l.Init = f.cfg.Init.Draw(p.rng)
		e.initUntil = now.Add(l.Init)
		f.cold++
	} else {
		e.initUntil = time.Time{}
	}
	if counted {
		p.unreservedUsed++
	}
	e.running = len(f.running)
	f.running = append(f.running, e)
	l.env = e
	l.Duration = f.cfg.Duration.Draw(p.rng)
	l.Fail = f.cfg.ErrorRate > 0 && p.rng.Float64() < f.cfg.ErrorRate
	l.Deps = f.cfg.Deps
	if p.cfg.EnvRPS > 0 {
		e.nextStart = now.Add(l.Init + time.Duration(float64(time.Second)/p.cfg.EnvRPS))
	}
	f.invokes++
	onCold := p.onCold
	p.mu.Unlock()
	if l.Cold && onCold != nil {
		onCold(l.Function, l.Init)
	}
	return l, nil
}

// throttleLocked counts a refusal, unlocks and returns it.
func (p *Platform) throttleLocked(f *function, r Reason) (Lease, error) {
	f.throttles[r]++
	p.mu.Unlock()
	return Lease{}, r
}

// warmLocked takes f's most recently used idle environment that may start
// a request at now: provisioned ones first. nil when there is none.
func (p *Platform) warmLocked(f *function, now time.Time) *env {
	for _, list := range [2]*[]*env{&f.provIdle, &f.idle} {
		l := *list
		for i := len(l) - 1; i >= 0; i-- {
			if e := l[i]; !e.nextStart.After(now) {
				if i == len(l)-1 {
					*list = l[:i]
				} else {
					*list = slices.Delete(l, i, i+1)
				}
				return e
			}
		}
	}
	return nil
}

// Release gives back the environment of l, which ended at now: it becomes
// f's most recently used idle environment. A provisioned environment
// beyond the function's provisioned count (after SetConfig lowered it)
// becomes on-demand. Releasing a lease twice does nothing the second time.
func (p *Platform) Release(now time.Time, l Lease) {
	e := l.env
	if e == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.running < 0 {
		return
	}
	f := e.fn
	last := len(f.running) - 1
	f.running[e.running] = f.running[last]
	f.running[e.running].running = e.running
	f.running[last] = nil
	f.running = f.running[:last]
	e.running = -1
	if f.cfg.Reserved == 0 && len(f.running) >= f.cfg.Provisioned {
		p.unreservedUsed--
	}
	if l.Fail {
		f.errs++
	}
	e.idleSince = now
	if e.provisioned && f.provEnvs > f.cfg.Provisioned {
		e.provisioned = false
		f.provEnvs--
	}
	if e.provisioned {
		f.provIdle = append(f.provIdle, e)
	} else {
		f.idle = append(f.idle, e)
	}
}

// Reclaim removes every on-demand environment idle for IdleTimeout or
// longer at now. Acquire and Stats do it too, for the function they look
// at, so calling it is needed only to free memory sooner.
func (p *Platform) Reclaim(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.order {
		p.reclaimLocked(f, now)
	}
}

func (p *Platform) reclaimLocked(f *function, now time.Time) {
	timeout := time.Duration(p.cfg.IdleTimeout)
	n := 0
	for n < len(f.idle) && now.Sub(f.idle[n].idleSince) >= timeout {
		n++
	}
	if n > 0 {
		clear(f.idle[:n])
		f.idle = f.idle[n:]
		f.reclaimed += uint64(n)
	}
}

// FunctionStats is one function's part of [Stats].
type FunctionStats struct {
	Name string `json:"name"`
	// Environments by state: initialising (a cold invoke's init), busy
	// (serving) and idle. Concurrency is initialising + busy.
	Initialising int `json:"initialising"`
	Busy         int `json:"busy"`
	Idle         int `json:"idle"`
	Concurrency  int `json:"concurrency"`
	// Provisioned is the number of provisioned environments (any state).
	Provisioned int `json:"provisioned"`
	// Invokes counts admitted invocations, ColdStarts those that created
	// an environment, Errors those that ended with a function error,
	// Reclaimed the environments removed after IdleTimeout.
	Invokes    uint64 `json:"invokes"`
	ColdStarts uint64 `json:"cold_starts"`
	Errors     uint64 `json:"errors"`
	Reclaimed  uint64 `json:"reclaimed"`
	// Throttles counts refusals by reason name.
	Throttles map[string]uint64 `json:"throttles"`
	// Async is the function's asynchronous queue.
	Async AsyncStats `json:"async"`
}

// Stats is a snapshot of a Platform.
type Stats struct {
	Functions []FunctionStats `json:"functions"`
	// Concurrency is the environments running over all functions;
	// UnreservedInUse what the functions without a reservation take of
	// the account (provisioned environments included), out of
	// UnreservedCapacity (account_concurrency − Σ reserved).
	Concurrency        int `json:"concurrency"`
	UnreservedInUse    int `json:"unreserved_in_use"`
	UnreservedCapacity int `json:"unreserved_capacity"`
}

// Stats reclaims environments idle past IdleTimeout at now and returns a
// snapshot, functions in configuration order.
func (p *Platform) Stats(now time.Time) Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Functions: make([]FunctionStats, 0, len(p.order)),
		UnreservedInUse: p.unreservedUsed, UnreservedCapacity: p.unreservedCap}
	for _, f := range p.order {
		p.reclaimLocked(f, now)
		fs := FunctionStats{Name: f.cfg.Name, Idle: len(f.idle) + len(f.provIdle), Concurrency: len(f.running),
			Provisioned: f.provEnvs, Invokes: f.invokes, ColdStarts: f.cold, Errors: f.errs, Reclaimed: f.reclaimed,
			Throttles: make(map[string]uint64, numReasons-1)}
		for _, e := range f.running {
			if e.initUntil.After(now) {
				fs.Initialising++
			}
		}
		fs.Busy = fs.Concurrency - fs.Initialising
		for _, r := range Reasons() {
			fs.Throttles[r.String()] = f.throttles[r]
		}
		fs.Async = f.async.stats(now)
		s.Concurrency += fs.Concurrency
		s.Functions = append(s.Functions, fs)
	}
	return s
}

// asyncQueue is one function's queue of asynchronous events.
type asyncQueue struct {
	b *backlog.Backlog

	succeeded, retried, throttled, expired, failed atomic.Uint64
}
