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
	// MaxBodyBytes is the largest body read; a bigger one is refused with
	// 413 before it is read in full.
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// MaxSize is the largest "size" accepted (400 above it). One unit of
	// size is one SHA-256 block hashed (about 0.2-0.5 µs of CPU).
	MaxSize int `json:"max_size"`
}

// Validate reports the fields out of range.
func (c WorkConfig) Validate() error {
	var errs []error
	if c.MaxBodyBytes < 16 {
		errs = append(errs, fmt.Errorf("max_body_bytes: %d, want ≥ 16", c.MaxBodyBytes))
	}
	if c.MaxSize < 1 {
		errs = append(errs, fmt.Errorf("max_size: %d, want ≥ 1", c.MaxSize))
	}
	return errors.Join(errs...)
}

// ListConfig configures GET /api/items: pagination over a deterministic
// collection with a per-request scan budget (target/paginate).
type ListConfig struct {
	// Items is the size of the collection.
	Items uint64 `json:"items"`
	// DefaultPageSize is used when page_size is absent; a page_size above
	// MaxPageSize is capped to it.
	DefaultPageSize int `json:"default_page_size"`
	MaxPageSize     int `json:"max_page_size"`
	// ScanBudget is the most items one request examines; when it runs out
	// the page is returned partial with a continuation token.
	ScanBudget int `json:"scan_budget"`
	// TokenTTL is how long a page token stays valid.
	TokenTTL dist.Duration `json:"token_ttl"`
	// TokenKey is the hex HMAC-SHA256 key of page tokens (at least 16
	// bytes); empty means a random key per process (tokens do not survive a
	// restart).
	TokenKey string `json:"token_key,omitempty"`
}

// Validate reports the fields out of range.
func (c ListConfig) Validate() error {
	var errs []error
	if c.Items < 1 {
		errs = append(errs, fmt.Errorf("items: %d, want ≥ 1", c.Items))
	}
	if c.MaxPageSize < 1 {
		errs = append(errs, fmt.Errorf("max_page_size: %d, want ≥ 1", c.MaxPageSize))
	}
	if c.DefaultPageSize < 1 || c.DefaultPageSize > c.MaxPageSize {
		errs = append(errs, fmt.Errorf("default_page_size: %d, want 1..max_page_size (%d)", c.DefaultPageSize, c.MaxPageSize))
	}
	if c.ScanBudget < 1 {
		errs = append(errs, fmt.Errorf("scan_budget: %d, want ≥ 1", c.ScanBudget))
	}
	if c.TokenTTL <= 0 {
		errs = append(errs, fmt.Errorf("token_ttl: %v, want > 0", time.Duration(c.TokenTTL)))
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
	// ChunkTime is how long one chunk works.
	ChunkTime dist.Duration `json:"chunk_time"`
	// MaxChunks is the largest job accepted (400 above it).
	MaxChunks int `json:"max_chunks"`
	// MaxJobs bounds the job table; when it is full of running jobs a new
	// job is refused with 503.
	MaxJobs int `json:"max_jobs"`
	// Checkpoint keeps each job's progress after every chunk, so a retry
	// with the same Idempotency-Key resumes where the last attempt
	// stopped. Off, a retry starts the job over.
	Checkpoint bool `json:"checkpoint"`
}

// Validate reports the fields out of range.
func (c JobsConfig) Validate() error {
	var errs []error
	if c.ChunkTime < 0 {
		errs = append(errs, fmt.Errorf("chunk_time: %v, want ≥ 0", time.Duration(c.ChunkTime)))
	}
	if c.MaxChunks < 1 {
		errs = append(errs, fmt.Errorf("max_chunks: %d, want ≥ 1", c.MaxChunks))
	}
	if c.MaxJobs < 1 {
		errs = append(errs, fmt.Errorf("max_jobs: %d, want ≥ 1", c.MaxJobs))
	}
	return errors.Join(errs...)
}

// ThrottleConfig is the per-tenant token bucket (X-Tenant; 429 with
// Retry-After above the rate), like API Gateway's per-API throttling.
type ThrottleConfig struct {
	Enabled bool `json:"enabled"`
	// Rate is each tenant's sustained rate (requests per second) and
	// Burst its bucket size.
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
	// MaxTenants bounds the tenants tracked at once.
	MaxTenants int `json:"max_tenants"`
}

// Validate reports the fields out of range (only when enabled).
func (c ThrottleConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if !(c.Rate > 0) {
		errs = append(errs, fmt.Errorf("rate: %v, want > 0", c.Rate))
	}
	if c.Burst < 1 {
		errs = append(errs, fmt.Errorf("burst: %d, want ≥ 1", c.Burst))
	}
	if c.MaxTenants < 1 {
		errs = append(errs, fmt.Errorf("max_tenants: %d, want ≥ 1", c.MaxTenants))
	}
	return errors.Join(errs...)
}

// PoolConfig is one bulkhead: at most MaxConcurrent calls at once, at most
// MaxWaiters waiting up to MaxWait each; the rest get 503 at once.
// MaxConcurrent 0 means no bulkhead there.
type PoolConfig struct {
	MaxConcurrent int           `json:"max_concurrent"`
	MaxWaiters    int           `json:"max_waiters"`
	MaxWait       dist.Duration `json:"max_wait"`
}

// Validate reports the fields out of range.
func (c PoolConfig) Validate() error {
	var errs []error
	if c.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent: %d, want ≥ 0 (0: no bulkhead)", c.MaxConcurrent))
	}
	if c.MaxWaiters < 0 {
		errs = append(errs, fmt.Errorf("max_waiters: %d, want ≥ 0", c.MaxWaiters))
	}
	if c.MaxWait < 0 || (c.MaxWaiters > 0 && c.MaxWait == 0) {
		errs = append(errs, fmt.Errorf("max_wait: %v, want > 0 when max_waiters > 0", time.Duration(c.MaxWait)))
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
// deadline and priority. A refusal is a 503 with Retry-After before the
// request body is read.
type AdmissionConfig struct {
	// Limiter is the concurrency limit: "none" (unbounded, the default Go
	// server), "static" (Limit), "aimd" or "gradient" (adaptive, starting
	// at Limit and kept within MinLimit..MaxLimit).
	Limiter  string `json:"limiter"`
	Limit    int    `json:"limit,omitempty"`
	MinLimit int    `json:"min_limit,omitempty"`
	MaxLimit int    `json:"max_limit,omitempty"`
	// LatencyThreshold makes the aimd limiter back off when a request
	// takes longer (0: only deadline misses count).
	LatencyThreshold dist.Duration `json:"latency_threshold,omitempty"`
	// Queue is the wait queue's discipline: "fifo", "lifo" or "codel"
	// (adaptive LIFO with CoDel, target CoDelTarget, interval
	// CoDelInterval: 5ms and 100ms when zero). QueueSize requests wait at
	// most MaxWait each; QueueSize 0 means no queue.
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
	// RetryAfter is sent with a refusal (1s when zero).
	RetryAfter dist.Duration `json:"retry_after,omitempty"`
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
		if c.Limit < 1 {
			errs = append(errs, fmt.Errorf("limit: %d, want ≥ 1", c.Limit))
		}
		if c.Limiter != "static" && (c.MinLimit < 1 || c.MinLimit > c.Limit || c.MaxLimit < c.Limit) {
			errs = append(errs, fmt.Errorf("min_limit/max_limit: %d/%d, want 1 ≤ min_limit ≤ limit (%d) ≤ max_limit", c.MinLimit, c.MaxLimit, c.Limit))
		}
	default:
		errs = append(errs, fmt.Errorf("limiter: %q, want none, static, aimd or gradient", c.Limiter))
	}
	switch c.Queue {
	case "", "fifo", "lifo", "codel":
	default:
		errs = append(errs, fmt.Errorf("queue: %q, want fifo, lifo or codel", c.Queue))
	}
	if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("queue_size: %d, want ≥ 0", c.QueueSize))
	}
	if c.QueueSize > 0 && c.Limiter == "none" {
		errs = append(errs, errors.New("queue_size: a queue needs a limiter"))
	}
	if c.MaxWait < 0 || (c.QueueSize > 0 && c.MaxWait == 0) {
		errs = append(errs, fmt.Errorf("max_wait: %v, want > 0 when queue_size > 0", time.Duration(c.MaxWait)))
	}
	for _, d := range []struct {
		name string
		d    dist.Duration
	}{{"latency_threshold", c.LatencyThreshold}, {"codel_target", c.CoDelTarget},
		{"codel_interval", c.CoDelInterval}, {"retry_after", c.RetryAfter}} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s: %v, want ≥ 0", d.name, time.Duration(d.d)))
		}
	}
	if c.SheddableFraction < 0 || c.SheddableFraction > 1 {
		errs = append(errs, fmt.Errorf("sheddable_fraction: %v, want 0..1", c.SheddableFraction))
	}
	return errors.Join(errs...)
}

// WorkersConfig is "fixed resources per unit of work": every API request
// runs on one of Workers workers and never shares it (the execution
// environment model), instead of on shared goroutines. A request waits at
// most MaxWait for a worker (MaxWaiters at most), else 503.
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
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers: %d, want ≥ 1", c.Workers))
	}
	if c.MaxWaiters < 0 {
		errs = append(errs, fmt.Errorf("max_waiters: %d, want ≥ 0", c.MaxWaiters))
	}
	if c.MaxWait < 0 || (c.MaxWaiters > 0 && c.MaxWait == 0) {
		errs = append(errs, fmt.Errorf("max_wait: %v, want > 0 when max_waiters > 0", time.Duration(c.MaxWait)))
	}
	return errors.Join(errs...)
}

// RouteTimeouts are per-route handler deadlines; 0 means none. The handler
// and its dependency calls see the context end at the deadline (or at the
// client's deadline, if that is earlier).
type RouteTimeouts struct {
	Items  dist.Duration `json:"items"`
	Search dist.Duration `json:"search"`
	Work   dist.Duration `json:"work"`
	List   dist.Duration `json:"list"`
	Jobs   dist.Duration `json:"jobs"`
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
		if d := byRoute[name]; d < 0 {
			errs = append(errs, fmt.Errorf("%s: %v, want ≥ 0 (0: none)", name, d))
		}
	}
	return errors.Join(errs...)
}
