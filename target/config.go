package target

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/internal/serve"

	"github.com/goodput-dev/goodput/target/dep"
)

// Config is the whole configuration of the reference target: its
// dependencies, routes and defences. It reads from YAML (--config) and JSON
// (GET/PUT /admin/config) with the same field names. Durations are Go
// duration strings ("250ms").
//
// A Config is a value: copy it, change the copy, Validate it, apply it.
// The zero value is not valid; start from Preset.
type Config struct {
	// Preset names the preset this configuration started from
	// (informational: "unprotected" or "protected").
	Preset string `json:"preset,omitempty"`
	// Seed seeds the dependencies' latency and error sampling.
	Seed uint64 `json:"seed"`

	// Listen and Admin are the API and admin listen addresses (used by
	// cmd/target; an embedded Server is given its listeners). The admin
	// listener must be on a loopback address unless AdminToken is set. An
	// empty Admin means 127.0.0.1 on the API port + 1, or a free port when
	// the API port is 0 (see AdminAddress).
	Listen string `json:"listen"`
	Admin  string `json:"admin,omitempty"`
	// AdminToken, when set, is required on every admin call as
	// "Authorization: Bearer <token>". It is never printed.
	AdminToken string `json:"admin_token,omitempty"`

	// DB and Search are the two simulated dependencies: GET /api/items/{id}
	// reads db, GET /api/search reads search.
	DB     dep.Config `json:"db"`
	Search dep.Config `json:"search"`

	// Work, List and Jobs configure the bounded-work routes POST /api/work,
	// GET /api/items and POST /api/jobs.
	Work WorkConfig `json:"work"`
	List ListConfig `json:"list"`
	Jobs JobsConfig `json:"jobs"`
	// Messages configures the asynchronous route POST /api/messages: its
	// queues, consumers and delivery URL.
	Messages MessagesConfig `json:"messages"`
	// Serverless is the function platform behind POST /fn/{name}.
	Serverless ServerlessConfig `json:"serverless"`

	// The defences, each switchable on its own. In the order a request
	// meets them: the per-tenant throttle, the route's bulkhead, admission
	// control (concurrency limit, wait queue, deadline and priority
	// shedding), the fixed workers, the route's timeout, and the
	// dependency's bulkhead around each dependency call.
	Throttle  ThrottleConfig  `json:"throttle"`
	Bulkheads BulkheadsConfig `json:"bulkheads"`
	Admission AdmissionConfig `json:"admission"`
	Workers   WorkersConfig   `json:"workers"`
	Timeouts  RouteTimeouts   `json:"timeouts"`

	// DrainTimeout bounds graceful shutdown, 0..10m: requests still in
	// flight after it are cut off.
	DrainTimeout dist.Duration `json:"drain_timeout"`
	// LogRequests logs one line per request (log/slog, debug level).
	LogRequests bool `json:"log_requests"`
}

// Preset names.
const (
	PresetUnprotected = "unprotected"
	PresetProtected   = "protected"
)

// Presets lists the preset names Preset accepts.
func Presets() []string { return []string{PresetUnprotected, PresetProtected, PresetServerless} }

// Preset returns the named configuration:
//
//   - "unprotected": an honest default Go service. Unbounded concurrency,
//     FIFO waiting on the dependency pools, no deadline checks, work
//     finished for clients who left, one unbounded-age FIFO message queue.
//   - "protected": every defence on: per-tenant throttle, bulkheads per
//     route and per dependency, a gradient concurrency limit with an
//     adaptive-LIFO/CoDel queue, deadline and priority shedding,
//     retry-aware admission (first attempts before retries while it sheds), per-route
//     timeouts (and a 5 s limit on receiving a request body, read before
//     a slot is taken), checkpointed jobs, and for async messages shuffle-sharded
//     queues with age priority, TTL and backpressure. Fixed workers stay off: they are an
//     execution model to compare (--workers N), not a defence to stack.
//   - "serverless": unprotected, plus the function platform behind
//     POST /fn/{name} (see defaultServerless).
//
// Both have the same dependencies (db: pool 8, 20ms; search: pool 4,
// 50ms), so their capacity is the same.
func Preset(name string) (Config, error) {
	c := Config{
		Preset: name,
		Seed:   1,
		Listen: "127.0.0.1:8080",
		DB: dep.Config{
			Pool:    8,
			Latency: dist.Latency{Dist: "fixed", P50: dist.Duration(20 * time.Millisecond)},
		},
		Search: dep.Config{
			Pool:    4,
			Latency: dist.Latency{Dist: "fixed", P50: dist.Duration(50 * time.Millisecond)},
		},
		Work: WorkConfig{MaxBodyBytes: 64 << 10, MaxSize: 1_000_000},
		List: ListConfig{Items: 1_000_000, DefaultPageSize: 20, MaxPageSize: 100, ScanBudget: 10_000,
			TokenTTL: dist.Duration(10 * time.Minute)},
		Jobs:         JobsConfig{ChunkTime: dist.Duration(50 * time.Millisecond), MaxChunks: 1000, MaxJobs: 10_000, Checkpoint: false},
		Messages:     defaultMessages(name),
		Admission:    AdmissionConfig{Limiter: "none"},
		DrainTimeout: dist.Duration(10 * time.Second),
	}
	switch name {
	case PresetUnprotected:
	case PresetServerless:
		c.Serverless = defaultServerless()
	case PresetProtected:
		c.Jobs.Checkpoint = true
		c.Throttle = ThrottleConfig{Enabled: true, Rate: 1000, Burst: 1000, MaxTenants: 1000}
		c.Bulkheads = BulkheadsConfig{
			Enabled: true,
			DB:      PoolConfig{MaxConcurrent: 8, MaxWaiters: 16, MaxWait: dist.Duration(50 * time.Millisecond)},
			Search:  PoolConfig{MaxConcurrent: 4, MaxWaiters: 4, MaxWait: dist.Duration(100 * time.Millisecond)},
			// Route pools bound each route's share of the admission limit
			// (their sum may exceed it; each alone leaves room for the
			// others at the minimum limit).
			Routes: RoutePools{
				Items:  PoolConfig{MaxConcurrent: 64},
				Search: PoolConfig{MaxConcurrent: 8},
				Work:   PoolConfig{MaxConcurrent: 4, MaxWaiters: 8, MaxWait: dist.Duration(100 * time.Millisecond)},
				List:   PoolConfig{MaxConcurrent: 8, MaxWaiters: 8, MaxWait: dist.Duration(100 * time.Millisecond)},
				Jobs:   PoolConfig{MaxConcurrent: 16},
			},
		}
		c.Admission = AdmissionConfig{
			Limiter: "gradient", Limit: 64, MinLimit: 32, MaxLimit: 512,
			Queue: "codel", QueueSize: 128, MaxWait: dist.Duration(200 * time.Millisecond),
			Deadline: true, Priority: true, RetryAware: true,
		}
		c.Timeouts = RouteTimeouts{
			Items: dist.Duration(500 * time.Millisecond), Search: dist.Duration(time.Second),
			Work: dist.Duration(time.Second), List: dist.Duration(time.Second), Jobs: dist.Duration(30 * time.Second),
			Body: dist.Duration(5 * time.Second),
		}
	default:
		return Config{}, fmt.Errorf("preset %q: want one of %v", name, Presets())
	}
	return c, nil
}

// Validate reports every field of c that is out of range, by its name and
// with the valid range. It is the one check of a configuration, whatever
// its source: flags, the YAML file and the admin API all end here (and the
// dependencies' and message queues' own Validate, which it calls).
func (c Config) Validate() error {
	var errs []error
	if err := c.DB.Validate(); err != nil {
		errs = append(errs, prefix("db", err))
	}
	if err := c.Search.Validate(); err != nil {
		errs = append(errs, prefix("search", err))
	}
	if c.AdminToken == "" && c.Admin != "" && !serve.IsLoopback(c.Admin) {
		errs = append(errs, fmt.Errorf("admin: %q is not a loopback address; set admin_token (--admin-token) to bind it", c.Admin))
	}
	for _, sec := range []struct {
		name string
		err  error
	}{
		{"work", c.Work.Validate()},
		{"list", c.List.Validate()},
		{"jobs", c.Jobs.Validate()},
		{"messages", c.Messages.Validate()},
		{"throttle", c.Throttle.Validate()},
		{"bulkheads", c.Bulkheads.Validate()},
		{"admission", c.Admission.Validate()},
		{"workers", c.Workers.Validate()},
		{"timeouts", c.Timeouts.Validate()},
		{"serverless", c.Serverless.Validate()},
	} {
		if sec.err != nil {
			errs = append(errs, prefix(sec.name, sec.err))
		}
	}
	errs = appendErr(errs, durRange("drain_timeout", c.DrainTimeout, 0, maxTimeout))
	return errors.Join(errs...)
}

// AdminAddress returns the admin listen address: Admin when set, else
// 127.0.0.1 on the API port + 1 (port 0, a free port, when the API port is
// 0 or unknown).
func (c Config) AdminAddress() string {
	if c.Admin != "" {
		return c.Admin
	}
	port := 0
	if _, p, err := net.SplitHostPort(c.Listen); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65535 {
			port = n + 1
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// prefix names the section an error of a nested Validate came from: each
// line of err becomes "name.line".
func prefix(name string, err error) error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, prefix(name, e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s.%w", name, err)
}
