package serverless

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// Ranges of the numeric knobs; Validate names the field and its range.
const (
	MaxAccountConcurrency = 100_000
	MaxScaleRate          = 100_000
	MinScaleInterval      = time.Millisecond
	MaxScaleInterval      = time.Hour
	MinIdleTimeout        = time.Millisecond
	MaxIdleTimeout        = 24 * time.Hour
	MaxEnvRPS             = 100_000
	MaxFunctions          = 100
	MaxFunctionName       = 64
	// MaxDuration bounds a function's mean duration: Lambda's longest
	// timeout (15 minutes).
	MaxDuration = 15 * time.Minute
	// MaxInit bounds a function's mean init duration: Lambda's limit of
	// the INIT phase (10 seconds).
	MaxInit = 10 * time.Second
	// MaxRetries is Lambda's most retries of an asynchronous invoke.
	MaxRetries       = 2
	MinMaxEventAge   = time.Millisecond
	MaxMaxEventAge   = 6 * time.Hour
	MaxQueueCapacity = 1_000_000
	MaxPollers       = 1000
	MaxRetryDelay    = time.Hour
	MinBackoff       = time.Millisecond
	MaxBackoff       = time.Minute
	// MaxAPIRate bounds a function's APIRate and APIBurst.
	MaxAPIRate = 1_000_000
	// MaxDeps bounds the dependency calls of one invocation
	// (Function.Deps).
	MaxDeps = 16
)

// Config is a function platform: the account's limits, the scaling rate,
// the environments' lifetime and rate ceiling, asynchronous invokes and
// the functions. It reads from JSON and YAML with the field names below;
// durations are Go duration strings ("10s").
//
// A Config is a value: copy it, change the copy, validate it, apply it
// ([Platform.SetConfig]). The zero value is not valid; start from
// [DefaultConfig].
type Config struct {
	// AccountConcurrency is the account's concurrency quota: the most
	// environments initialising or serving at once over all functions
	// (1..100000). Reserved concurrency is carved out of it; the rest is
	// shared by the functions without a reservation.
	AccountConcurrency int `json:"account_concurrency"`
	// ScaleRate environments may be added to each function per
	// ScaleInterval (1..100000 per 1ms..1h): a token bucket of capacity
	// ScaleRate refilled continuously, so unused scaling carries over at
	// most one interval's worth. Lambda: 1000 per 10 s.
	ScaleRate     int           `json:"scale_rate"`
	ScaleInterval dist.Duration `json:"scale_interval"`
	// IdleTimeout is how long an on-demand environment stays idle before
	// it is reclaimed (1ms..24h). Provisioned ones are never reclaimed.
	IdleTimeout dist.Duration `json:"idle_timeout"`
	// EnvRPS is the most requests one environment starts per second
	// (0: no ceiling, else up to 100000): an environment that started a
	// request at t takes the next at t + 1/EnvRPS at the earliest. Lambda:
	// 10.
	EnvRPS float64 `json:"env_rps"`
	// Async configures asynchronous invokes.
	Async AsyncConfig `json:"async"`
	// Functions are the platform's functions (1..100, unique names). The
	// set of names cannot change while a Platform runs.
	Functions []Function `json:"functions"`
}

// Function is one function: its durations, error rate and concurrency
// controls.
type Function struct {
	// Name is the function's name: 1..64 of a-z, A-Z, 0-9, '-', '_'.
	Name string `json:"name"`
	// Duration is the distribution of one invocation's run time (the app
	// time), mean at most 15m.
	Duration dist.Latency `json:"duration"`
	// Init is the distribution of a new environment's initialisation time,
	// paid by the cold invoke that creates it, mean at most 10s.
	Init dist.Latency `json:"init"`
	// Reserved is the function's reserved concurrency: it both guarantees
	// and caps the function's environments in use (0: none; else
	// 1..account_concurrency, the sum over functions at most
	// account_concurrency).
	Reserved int `json:"reserved"`
	// Provisioned environments are initialised when the platform starts
	// and never reclaimed; invokes use them first (0..reserved when
	// reserved, else 0..account_concurrency). They count against the
	// account's concurrency whether busy or not.
	Provisioned int `json:"provisioned"`
	// ErrorRate is the probability in [0, 1] that an invocation fails
	// (a function error, retried by asynchronous invokes).
	ErrorRate float64 `json:"error_rate,omitempty"`
	// APIRate and APIBurst are the function's own API throttle, like API
	// Gateway's per-API (per-route) throttling: a token bucket of APIRate
	// requests per second (0: off, else up to 1000000) and bursts of
	// APIBurst (1..1000000 when APIRate > 0). The platform does not
	// enforce it: the API in front of it does (package target, after its
	// global API throttle, answers 429 with X-Throttle-Reason: api), so a
	// request it refuses never reaches the platform's limits, and the
	// pollers of asynchronous events do not pass it.
	APIRate  float64 `json:"api_rate,omitempty"`
	APIBurst int     `json:"api_burst,omitempty"`
	// Deps names the dependencies each invocation calls, in order, after
	// its init (cold only) and before its own Duration: 0..16 names, each
	// one of the platform's dependencies ([Options.Deps]; New and
	// SetConfig refuse others), a name may repeat. The invocation holds
	// its environment while it waits for and uses each one, so a slow
	// dependency lengthens the function and, by Little's law (concurrency
	// = arrival rate × duration), raises its concurrency.
	Deps []string `json:"deps,omitempty"`
}

// AsyncConfig configures asynchronous invokes: each function has a queue
// (target/backlog) drained by pollers that invoke the function, retry
// function errors and give up on events older than MaxEventAge.
type AsyncConfig struct {
	// Retries is how many times a failed invocation is retried (0..2,
	// Lambda's range; default 2).
	Retries int `json:"retries"`
	// RetryDelay is the wait before a retry (0..1h; Lambda: 1 then 2
	// minutes).
	RetryDelay dist.Duration `json:"retry_delay"`
	// ThrottleBackoff is the wait before an invoke that was throttled is
	// tried again (1ms..1m); throttled tries are not retries and go on
	// until the event's MaxEventAge.
	ThrottleBackoff dist.Duration `json:"throttle_backoff"`
	// MaxEventAge is the oldest an event may be when it is (re)tried
	// (1ms..6h; Lambda: 60s..6h); an older event goes to the dead-letter
	// queue.
	MaxEventAge dist.Duration `json:"max_event_age"`
	// QueueCapacity bounds each function's queue (1..1000000); a full
	// queue refuses new events.
	QueueCapacity int `json:"queue_capacity"`
	// DeadLetterCapacity bounds each function's dead-letter queue, the
	// on-failure destination of events that failed every retry or
	// expired (0..1000000; 0: such events are dropped).
	DeadLetterCapacity int `json:"dead_letter_capacity"`
	// Pollers is the number of pollers per function (1..1000), fixed
	// while the platform runs.
	Pollers int `json:"pollers"`
}

// DefaultConfig is Lambda's published behaviour at full scale: an account
// of 1000, 1000 new environments per function per 10 s, 10 requests per
// second per environment, environments idle for 5 minutes reclaimed, and
// asynchronous invokes retried twice within an hour. It has no functions.
func DefaultConfig() Config {
	return Config{
		AccountConcurrency: 1000,
		ScaleRate:          1000,
		ScaleInterval:      dist.Duration(10 * time.Second),
		IdleTimeout:        dist.Duration(5 * time.Minute),
		EnvRPS:             10,
		Async: AsyncConfig{
			Retries:            2,
			RetryDelay:         dist.Duration(time.Second),
			ThrottleBackoff:    dist.Duration(100 * time.Millisecond),
			MaxEventAge:        dist.Duration(time.Hour),
			QueueCapacity:      100_000,
			DeadLetterCapacity: 10_000,
			Pollers:            4,
		},
	}
}

// DefaultFunction returns a function called name that runs for duration
// with no init time, no reservation and nothing provisioned.
func DefaultFunction(name string, duration dist.Latency) Function {
	return Function{Name: name, Duration: duration, Init: dist.Latency{Dist: "fixed"}}
}

// Validate reports every field of c that is out of range, by its JSON
// name (a function's fields as functions[NAME].field).
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.AccountConcurrency < 1 || c.AccountConcurrency > MaxAccountConcurrency {
		add("account_concurrency: %d, want 1..%d", c.AccountConcurrency, MaxAccountConcurrency)
	}
	if c.ScaleRate < 1 || c.ScaleRate > MaxScaleRate {
		add("scale_rate: %d, want 1..%d environments per scale_interval", c.ScaleRate, MaxScaleRate)
	}
	durRange(&errs, "scale_interval", c.ScaleInterval, MinScaleInterval, MaxScaleInterval)
	durRange(&errs, "idle_timeout", c.IdleTimeout, MinIdleTimeout, MaxIdleTimeout)
	if !(c.EnvRPS >= 0 && c.EnvRPS <= MaxEnvRPS) {
		add("env_rps: %v, want 0..%d requests per second per environment (0: no ceiling)", c.EnvRPS, MaxEnvRPS)
	}
	a := c.Async
	if a.Retries < 0 || a.Retries > MaxRetries {
		add("async.retries: %d, want 0..%d", a.Retries, MaxRetries)
	}
	durRange(&errs, "async.retry_delay", a.RetryDelay, 0, MaxRetryDelay)
	durRange(&errs, "async.throttle_backoff", a.ThrottleBackoff, MinBackoff, MaxBackoff)
	durRange(&errs, "async.max_event_age", a.MaxEventAge, MinMaxEventAge, MaxMaxEventAge)
	if a.QueueCapacity < 1 || a.QueueCapacity > MaxQueueCapacity {
		add("async.queue_capacity: %d, want 1..%d", a.QueueCapacity, MaxQueueCapacity)
	}
	if a.DeadLetterCapacity < 0 || a.DeadLetterCapacity > MaxQueueCapacity {
		add("async.dead_letter_capacity: %d, want 0..%d (0: drop)", a.DeadLetterCapacity, MaxQueueCapacity)
	}
	if a.Pollers < 1 || a.Pollers > MaxPollers {
		add("async.pollers: %d, want 1..%d", a.Pollers, MaxPollers)
	}

	if len(c.Functions) < 1 || len(c.Functions) > MaxFunctions {
		add("functions: %d functions, want 1..%d", len(c.Functions), MaxFunctions)
	}
	seen := map[string]bool{}
	reserved, unreservedProv := 0, 0
	for _, f := range c.Functions {
		name := "functions[" + f.Name + "]"
		if err := validName(f.Name); err != nil {
			add("functions: name %q: %v", f.Name, err)
		}
		if seen[f.Name] {
			add("functions: name %q: defined twice", f.Name)
		}
		seen[f.Name] = true
		latency(&errs, name+".duration", f.Duration, MaxDuration)
		latency(&errs, name+".init", f.Init, MaxInit)
		if f.Reserved < 0 || f.Reserved > c.AccountConcurrency {
			add("%s.reserved: %d, want 0..%d (account_concurrency; 0: none)", name, f.Reserved, c.AccountConcurrency)
		}
		hi := c.AccountConcurrency
		if f.Reserved > 0 {
			hi = f.Reserved
		}
		if f.Provisioned < 0 || f.Provisioned > hi {
			add("%s.provisioned: %d, want 0..%d (its reserved concurrency, else account_concurrency)", name, f.Provisioned, hi)
		}
		if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) {
			add("%s.error_rate: %v, want 0..1", name, f.ErrorRate)
		}
		if !(f.APIRate >= 0 && f.APIRate <= MaxAPIRate) {
			add("%s.api_rate: %v, want 0..%d requests per second (0: off)", name, f.APIRate, MaxAPIRate)
		}
		if f.APIRate > 0 && (f.APIBurst < 1 || f.APIBurst > MaxAPIRate) {
			add("%s.api_burst: %d, want 1..%d when api_rate > 0", name, f.APIBurst, MaxAPIRate)
		}
		if len(f.Deps) > MaxDeps {
			add("%s.deps: %d dependencies, want 0..%d", name, len(f.Deps), MaxDeps)
		}
		for _, d := range f.Deps {
			if err := validName(d); err != nil {
				add("%s.deps: %q: %v", name, d, err)
			}
		}
		reserved += max(f.Reserved, 0)
		if f.Reserved == 0 {
			unreservedProv += max(f.Provisioned, 0)
		}
	}
	if reserved+unreservedProv > c.AccountConcurrency {
		add("functions: reserved (%d) plus provisioned without reservation (%d) is %d, want at most account_concurrency (%d)",
			reserved, unreservedProv, reserved+unreservedProv, c.AccountConcurrency)
	}
	return errors.Join(errs...)
}

func durRange(errs *[]error, name string, d dist.Duration, lo, hi time.Duration) {
	if v := time.Duration(d); v < lo || v > hi {
		*errs = append(*errs, fmt.Errorf("%s: %v, want %v..%v", name, v, lo, hi))
	}
}

func latency(errs *[]error, name string, l dist.Latency, hi time.Duration) {
	if err := l.Validate(); err != nil {
		*errs = append(*errs, fmt.Errorf("%s.%w", name, err))
		return
	}
	if m := l.Mean(); m > hi {
		*errs = append(*errs, fmt.Errorf("%s: mean %v, want at most %v", name, m, hi))
	}
}

func validName(s string) error {
	if len(s) < 1 || len(s) > MaxFunctionName {
		return fmt.Errorf("want 1..%d characters", MaxFunctionName)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return errors.New("want only a-z, A-Z, 0-9, '-' and '_'")
		}
	}
	return nil
}

// Function returns the function called name and whether there is one.
func (c Config) Function(name string) (Function, bool) {
	for _, f := range c.Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Patch applies a JSON object of Config fields over c: a missing field
// keeps its value, and each element of "functions" is a patch of the
// function of the same name (a new name adds a function, from
// DefaultFunction with a zero duration). Unknown fields are rejected by
// name. The result is normalized but not validated.
func (c Config) Patch(body []byte) (Config, error) {
	type plain Config
	var aux struct {
		plain
		Functions []json.RawMessage `json:"functions"`
	}
	aux.plain = plain(c)
	aux.plain.Functions = nil
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return c, fmt.Errorf("serverless config: %w", err)
	}
	if dec.More() {
		return c, errors.New("serverless config: trailing data after the JSON object")
	}
	out := Config(aux.plain)
	out.Functions = append([]Function(nil), c.Functions...)
	for i, raw := range aux.Functions {
		var head struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return c, fmt.Errorf("serverless config: functions[%d]: %w", i, err)
		}
		at := -1
		for j, f := range out.Functions {
			if f.Name == head.Name {
				at = j
			}
		}
		f := DefaultFunction(head.Name, dist.Latency{Dist: "fixed"})
		if at >= 0 {
			f = out.Functions[at]
		}
		// Decoding an array into a slice reuses its backing array, which
		// c still shares.
		f.Deps = slices.Clone(f.Deps)
		fd := json.NewDecoder(bytes.NewReader(raw))
		fd.DisallowUnknownFields()
		if err := fd.Decode(&f); err != nil {
			return c, fmt.Errorf("serverless config: functions[%s]: %w", head.Name, err)
		}
		if at >= 0 {
			out.Functions[at] = f
		} else {
			out.Functions = append(out.Functions, f)
		}
	}
	return out.Normalized(), nil
}

// Normalized returns c with each latency's unused fields cleared (see
// dist.Latency.Normalized) and new Functions and Deps slices.
func (c Config) Normalized() Config {
	c.Functions = append([]Function(nil), c.Functions...)
	for i := range c.Functions {
		f := &c.Functions[i]
		f.Duration, f.Init = f.Duration.Normalized(), f.Init.Normalized()
		f.Deps = slices.Clone(f.Deps)
	}
	return c
}
