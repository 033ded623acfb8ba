package target

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/target/paginate"
)

// WorkConfig bounds POST /api/work, which burns CPU in proportion to the
// "size" field of its JSON body.
type WorkConfig struct {
	// MaxBodyBytes is the largest body read, 16..16777216 (16 MiB); a
	// bigger one is refused with 413 before it is read in full.
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// MaxSize is the largest "size" accepted (400 above it), 1..10⁷. One
	// unit of size is one SHA-256 block hashed (about 0.2-0.5 µs of CPU).
	MaxSize int `json:"max_size"`
}

// Validate reports the fields out of range.
func (c WorkConfig) Validate() error {
	var errs []error
	errs = appendErr(errs,
		inRange("max_body_bytes", c.MaxBodyBytes, 16, maxBodyBytes),
		inRange("max_size", c.MaxSize, 1, maxWorkSize))
	return errors.Join(errs...)
}

// ListConfig configures GET /api/items: pagination over a deterministic
// collection with a per-request scan budget (target/paginate).
type ListConfig struct {
	// Items is the size of the collection, 1..10¹² (it is computed, not
	// stored).
	Items uint64 `json:"items"`
	// DefaultPageSize is used when page_size is absent; a page_size above
	// MaxPageSize is capped to it. MaxPageSize is 1..100000 (a page of
	// 10⁵ items is about 25 MB of answer), DefaultPageSize
	// 1..MaxPageSize.
	DefaultPageSize int `json:"default_page_size"`
	MaxPageSize     int `json:"max_page_size"`
	// ScanBudget is the most items one request examines, 1..10⁷; when it
	// runs out the page is returned partial with a continuation token.
	ScanBudget int `json:"scan_budget"`
	// TokenTTL is how long a page token stays valid, (0, 168h].
	TokenTTL dist.Duration `json:"token_ttl"`
	// TokenKey is the hex HMAC-SHA256 key of page tokens (at least 16
	// bytes); empty means a random key per process (tokens do not survive a
	// restart).
	TokenKey string `json:"token_key,omitempty"`
}

// Validate reports the fields out of range.
func (c ListConfig) Validate() error {
	var errs []error
	errs = appendErr(errs,
		inRange("items", c.Items, 1, maxItems),
		inRange("max_page_size", c.MaxPageSize, 1, maxPageSize))
	if c.DefaultPageSize < 1 || c.DefaultPageSize > min(c.MaxPageSize, maxPageSize) {
		errs = append(errs, fmt.Errorf("default_page_size: %d, want 1..max_page_size (%d)", c.DefaultPageSize, c.MaxPageSize))
	}
	errs = appendErr(errs, inRange("scan_budget", c.ScanBudget, 1, maxScanBudget))
	if c.TokenTTL <= 0 || time.Duration(c.TokenTTL) > maxTokenTTL {
		errs = append(errs, fmt.Errorf("token_ttl: %v, want > 0 and ≤ %v", time.Duration(c.TokenTTL), maxTokenTTL))
	}
	if c.TokenKey != "" {
		if k, err := hex.DecodeString(c.TokenKey); err != nil || len(k) < 16 {
			errs = append(errs, errors.New("token_key: want at least 32 hex digits (16 bytes)"))
		}
	}
	return errors.Join(errs...)
}

// key returns the token key: the configured one, or a new random one.
func (c ListConfig) key() ([]byte, error) {
	if c.TokenKey == "" {
		return paginate.NewKey()
	}
	return hex.DecodeString(c.TokenKey)
}

// JobsConfig configures POST /api/jobs: long jobs run in chunks.
type JobsConfig struct {
	// ChunkTime is how long one chunk works, 0..1m.
	ChunkTime dist.Duration `json:"chunk_time"`
	// MaxChunks is the largest job accepted (400 above it), 1..100000.
	MaxChunks int `json:"max_chunks"`
	// MaxJobs bounds the job table, 1..100000; when it is full of running
	// jobs a new job is refused with 503.
	MaxJobs int `json:"max_jobs"`
	// Checkpoint keeps each job's progress after every chunk, so a retry
	// with the same Idempotency-Key resumes where the last attempt
	// stopped. Off, a retry starts the job over.
	Checkpoint bool `json:"checkpoint"`
}

// Validate reports the fields out of range.
func (c JobsConfig) Validate() error {
	var errs []error
	errs = appendErr(errs,
		durRange("chunk_time", c.ChunkTime, 0, maxChunkTime),
		inRange("max_chunks", c.MaxChunks, 1, maxChunks),
		inRange("max_jobs", c.MaxJobs, 1, maxJobs))
	return errors.Join(errs...)
}

// ThrottleConfig is the per-tenant token bucket (X-Tenant; 429 with
// Retry-After above the rate), like API Gateway's per-API throttling.
type ThrottleConfig struct {
	Enabled bool `json:"enabled"`
	// Rate is each tenant's sustained rate (requests per second),
	// (0, 10⁹], and Burst its bucket size, 1..10⁹.
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
	// MaxTenants bounds the tenants tracked at once, 1..100000.
	MaxTenants int `json:"max_tenants"`
}

// Validate reports the fields out of range (only when enabled).
func (c ThrottleConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if !(c.Rate > 0 && c.Rate <= maxRate) {
		errs = append(errs, fmt.Errorf("rate: %v, want > 0 and ≤ %d", c.Rate, maxRate))
	}
	errs = appendErr(errs,
		inRange("burst", c.Burst, 1, maxBurst),
		inRange("max_tenants", c.MaxTenants, 1, maxTenants))
	return errors.Join(errs...)
}

// PoolConfig is one bulkhead: at most MaxConcurrent calls at once, at most
// MaxWaiters waiting up to MaxWait each; the rest get 503 at once.
// MaxConcurrent 0 means no bulkhead there. Ranges: MaxConcurrent
// 0..10000, MaxWaiters 0..100000, MaxWait 0..1m (> 0 when MaxWaiters > 0).
type PoolConfig struct {
	MaxConcurrent int           `json:"max_concurrent"`
	MaxWaiters    int           `json:"max_waiters"`
	MaxWait       dist.Duration `json:"max_wait"`
}

// Validate reports the fields out of range.
func (c PoolConfig) Validate() error {
	var errs []error
	if c.MaxConcurrent < 0 || c.MaxConcurrent > maxConcurrent {
		errs = append(errs, fmt.Errorf("max_concurrent: %d, want 0..%d (0: no bulkhead)", c.MaxConcurrent, maxConcurrent))
	}
	errs = appendErr(errs, inRange("max_waiters", c.MaxWaiters, 0, maxWaiters))
	if c.MaxWait < 0 || time.Duration(c.MaxWait) > maxWait || (c.MaxWaiters > 0 && c.MaxWait == 0) {
		errs = append(errs, fmt.Errorf("max_wait: %v, want 0..%v, > 0 when max_waiters > 0", time.Duration(c.MaxWait), maxWait))
	}
	return errors.Join(errs...)
}

// BulkheadsConfig isolates dependencies and routes from each other: one
// pool per dependency around its calls, one per route around the handler.
type BulkheadsConfig struct {
	Enabled bool       `json:"enabled"`
	DB      PoolConfig `json:"db"`
	Search  PoolConfig `json:"search"`
	Routes  RoutePools `json:"routes"`
}

// RoutePools is one bulkhead per route.
type RoutePools struct {
	Items  PoolConfig `json:"items"`
	Search PoolConfig `json:"search"`
	Work   PoolConfig `json:"work"`
	List   PoolConfig `json:"list"`
	Jobs   PoolConfig `json:"jobs"`
}

func (r RoutePools) byRoute() map[string]PoolConfig {
	return map[string]PoolConfig{
		routeItem: r.Items, routeSearch: r.Search, routeWork: r.Work, routeList: r.List, routeJobs: r.Jobs,
	}
}

// Validate reports the fields out of range.
func (c BulkheadsConfig) Validate() error {
	var errs []error
	for _, p := range []struct {
		name string
		c    PoolConfig
	}{
		{"db", c.DB}, {"search", c.Search},
		{"routes.items", c.Routes.Items}, {"routes.search", c.Routes.Search}, {"routes.work", c.Routes.Work},
		{"routes.list", c.Routes.List}, {"routes.jobs", c.Routes.Jobs},
	} {
		if err := p.c.Validate(); err != nil {
			errs = append(errs, prefix(p.name, err))
		}
	}
	return errors.Join(errs...)
}

// AdmissionConfig is admission control in front of every API route
// (target/shed): a concurrency limit, a bounded wait queue, and shedding by
// deadline and priority. A refusal is a 503 with Retry-After; the body of
// a route that has one has been read already (timeouts.body bounds how
// long that takes), so that a slow sender never holds a slot.
type AdmissionConfig struct {
	// Limiter is the concurrency limit: "none" (unbounded, the default Go
	// server), "static" (Limit), "aimd" or "gradient" (adaptive, starting
	// at Limit and kept within MinLimit..MaxLimit). Each limit is
	// 1..10000.
	Limiter  string `json:"limiter"`
	Limit    int    `json:"limit,omitempty"`
	MinLimit int    `json:"min_limit,omitempty"`
	MaxLimit int    `json:"max_limit,omitempty"`
	// LatencyThreshold makes the aimd limiter back off when a request
	// takes longer (0: only deadline misses count), 0..1m.
	LatencyThreshold dist.Duration `json:"latency_threshold,omitempty"`
	// Queue is the wait queue's discipline: "fifo", "lifo" or "codel"
	// (adaptive LIFO with CoDel, target CoDelTarget, interval
	// CoDelInterval: 5ms and 100ms when zero, each 0..1m). QueueSize
	// (0..100000) requests wait at most MaxWait (0..1m) each; QueueSize 0
	// means no queue.
	Queue         string        `json:"queue,omitempty"`
	QueueSize     int           `json:"queue_size,omitempty"`
	MaxWait       dist.Duration `json:"max_wait,omitempty"`
	CoDelTarget   dist.Duration `json:"codel_target,omitempty"`
	CoDelInterval dist.Duration `json:"codel_interval,omitempty"`
	// Deadline honours X-Timeout-Ms: a request whose client has given up,
	// or will before the expected service time, is dropped on arrival and
	// at dequeue; an admitted request runs under its client's deadline, so
	// dependency waits and CPU work stop when nobody waits any more.
	Deadline bool `json:"deadline"`
	// Priority sheds X-Priority: sheddable requests first: they are
	// admitted only while fewer than SheddableFraction × limit requests
	// are in flight (0.8 when zero). Needs a limiter.
	Priority          bool    `json:"priority"`
	SheddableFraction float64 `json:"sheddable_fraction,omitempty"`
	// RetryAfter is sent with a refusal (1s when zero), 0..1h.
	RetryAfter dist.Duration `json:"retry_after,omitempty"`
	// RetryAware prefers first attempts under overload: a retry
	// (X-Attempt > 1) is refused (reason "retry") while requests wait or
	// the limit is reached, and for OverloadWindow (0..1m, 100ms when
	// zero) after any refusal for overload, including a 503 from a
	// bulkhead; it never queues. Works without a limiter too (then only
	// the bulkheads' 503s say the service is overloaded).
	RetryAware     bool          `json:"retry_aware"`
	OverloadWindow dist.Duration `json:"overload_window,omitempty"`
}

// Validate reports the fields out of range.
func (c AdmissionConfig) Validate() error {
	var errs []error
	switch c.Limiter {
	case "none":
		if c.Priority {
			errs = append(errs, errors.New("priority: needs a limiter (limiter: static, aimd or gradient)"))
		}
	case "static", "aimd", "gradient":
		errs = appendErr(errs, inRange("limit", c.Limit, 1, maxConcurrent))
		if c.Limiter != "static" && (c.MinLimit < 1 || c.MinLimit > c.Limit || c.MaxLimit < c.Limit || c.MaxLimit > maxConcurrent) {
			errs = append(errs, fmt.Errorf("min_limit/max_limit: %d/%d, want 1 ≤ min_limit ≤ limit (%d) ≤ max_limit ≤ %d",
				c.MinLimit, c.MaxLimit, c.Limit, maxConcurrent))
		}
	default:
		errs = append(errs, fmt.Errorf("limiter: %q, want none, static, aimd or gradient", c.Limiter))
	}
	switch c.Queue {
	case "", "fifo", "lifo", "codel":
	default:
		errs = append(errs, fmt.Errorf("queue: %q, want fifo, lifo or codel", c.Queue))
	}
	errs = appendErr(errs, inRange("queue_size", c.QueueSize, 0, maxWaiters))
	if c.QueueSize > 0 && c.Limiter == "none" {
		errs = append(errs, errors.New("queue_size: a queue needs a limiter"))
	}
	if c.MaxWait < 0 || time.Duration(c.MaxWait) > maxWait || (c.QueueSize > 0 && c.MaxWait == 0) {
		errs = append(errs, fmt.Errorf("max_wait: %v, want 0..%v, > 0 when queue_size > 0", time.Duration(c.MaxWait), maxWait))
	}
	errs = appendErr(errs,
		durRange("latency_threshold", c.LatencyThreshold, 0, maxWait),
		durRange("codel_target", c.CoDelTarget, 0, maxWait),
		durRange("codel_interval", c.CoDelInterval, 0, maxWait),
		durRange("retry_after", c.RetryAfter, 0, maxRetryAfter),
		durRange("overload_window", c.OverloadWindow, 0, maxWait))
	if !(c.SheddableFraction >= 0 && c.SheddableFraction <= 1) {
		errs = append(errs, fmt.Errorf("sheddable_fraction: %v, want 0..1", c.SheddableFraction))
	}
	return errors.Join(errs...)
}

// WorkersConfig is "fixed resources per unit of work": every API request
// runs on one of Workers workers and never shares it (the execution
// environment model), instead of on shared goroutines. A request waits at
// most MaxWait for a worker (MaxWaiters at most), else 503. Ranges:
// Workers 1..10000, MaxWaiters 0..100000, MaxWait 0..1m (> 0 when
// MaxWaiters > 0).
type WorkersConfig struct {
	Enabled    bool          `json:"enabled"`
	Workers    int           `json:"workers"`
	MaxWaiters int           `json:"max_waiters"`
	MaxWait    dist.Duration `json:"max_wait"`
}

// Validate reports the fields out of range (only when enabled).
func (c WorkersConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	errs = appendErr(errs,
		inRange("workers", c.Workers, 1, maxConcurrent),
		inRange("max_waiters", c.MaxWaiters, 0, maxWaiters))
	if c.MaxWait < 0 || time.Duration(c.MaxWait) > maxWait || (c.MaxWaiters > 0 && c.MaxWait == 0) {
		errs = append(errs, fmt.Errorf("max_wait: %v, want 0..%v, > 0 when max_waiters > 0", time.Duration(c.MaxWait), maxWait))
	}
	return errors.Join(errs...)
}

// RouteTimeouts are per-route handler deadlines, each 0..10m; 0 means
// none. The handler
// and its dependency calls see the context end at the deadline (or at the
// client's deadline, if that is earlier).
type RouteTimeouts struct {
	Items  dist.Duration `json:"items"`
	Search dist.Duration `json:"search"`
	Work   dist.Duration `json:"work"`
	List   dist.Duration `json:"list"`
	Jobs   dist.Duration `json:"jobs"`
	// Body bounds the time a client takes to send a request body, 0..1m
	// (0: none). The body of POST /api/work, /api/jobs and /api/messages
	// is read in full before the route's bulkhead and admission control
	// take a slot, so a slow sender holds a connection, not capacity; a
	// body not received within Body is answered 408.
	Body dist.Duration `json:"body,omitempty"`
}

func (t RouteTimeouts) byRoute() map[string]time.Duration {
	return map[string]time.Duration{
		routeItem: time.Duration(t.Items), routeSearch: time.Duration(t.Search), routeWork: time.Duration(t.Work),
		routeList: time.Duration(t.List), routeJobs: time.Duration(t.Jobs),
	}
}

// Validate reports the fields out of range.
func (t RouteTimeouts) Validate() error {
	var errs []error
	byRoute := t.byRoute()
	for _, name := range routeNames {
		if d := byRoute[name]; d < 0 || d > maxTimeout {
			errs = append(errs, fmt.Errorf("%s: %v, want 0..%v (0: none)", name, d, maxTimeout))
		}
	}
	if t.Body < 0 || time.Duration(t.Body) > maxWait {
		errs = append(errs, fmt.Errorf("body: %v, want 0..%v (0: none)", time.Duration(t.Body), maxWait))
	}
	return errors.Join(errs...)
}
