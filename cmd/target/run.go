package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goccy/go-yaml"
	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/target"
)

// subcommand is a helper command run as "target NAME [flags]".
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// subcommands lists the helper commands (one line each, shown by --help);
// anything else runs the service.
func subcommands() []subcommand {
	return []subcommand{
		{"shuffle-shard", "shuffle-sharding overlap: how many tenants share queues with a noisy one", runShuffleShard},
		{"version", "print the version and VCS revision of this build (also --version)", runVersion},
	}
}

const usageHead = `target runs the reference service: HTTP routes over simulated dependencies
of known capacity (pool / latency), either as an honest default Go service
(--preset unprotected) or with every resilience defence on (--preset protected).

Usage:
  target [flags]

Configuration is applied in order: the preset, then --config FILE, then
the flags given on the command line. --print-config shows the result.

Flags:
`

const usageTail = `
Examples:
  # the walking skeleton: db pool 8 x 20ms = 400 requests/s of capacity
  target --listen 127.0.0.1:8080

  # every defence on, and a slower search dependency
  target --preset protected --search-latency lognormal:50ms,400ms

  # the protected preset with one defence off, or the naive one with one on
  target --preset protected --bulkheads=false
  target --limiter gradient --queue codel --queue-size 64 --deadline

  # start from a file, see what it resolves to
  target --config target.yaml --print-config

  # async messages: a LIFO queue with a 5s TTL, delivered to a URL
  target --queue-discipline lifo --message-ttl 5s --deliver-to http://127.0.0.1:9000/deliveries

  # a function platform: 10 concurrent executions, 100ms functions, 1s inits
  target --preset serverless --fn work=100ms,init=1s --account-concurrency 10 --scale-rate 5/1s

  # admin on every interface: a token is then required (from a file or
  # $TARGET_ADMIN_TOKEN, so that it does not show in ps)
  target --admin 0.0.0.0:8081 --admin-token-file /run/secrets/target-admin-token

When ready, target prints one line on stdout:
  target: listening on http://127.0.0.1:8080 (admin http://127.0.0.1:8081)
SIGINT or SIGTERM drains requests in flight (at most --drain-timeout).

Exit codes:
  0  stopped cleanly (or --help, --print-config)
  2  bad flags or configuration file (the message names the flag or field)
  3  the service could not run (cannot listen, drain timed out)
`

// options are the command-line flags that are not configuration fields.
type options struct {
	preset      string
	configFile  string
	printConfig bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "--version" {
		return runVersion(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 {
		for _, c := range subcommands() {
			if c.name == args[0] {
				return c.run(ctx, args[1:], stdout, stderr)
			}
		}
	}
	cfg, opts, err := parseArgs(args, stdout)
	if err != nil {
		return err
	}
	if opts.printConfig {
		shown := cfg
		shown.AdminToken = "" // never printed
		b, err := yaml.Marshal(shown)
		if err != nil {
			return cli.Runf("print config: %w", err)
		}
		if cfg.AdminToken != "" {
			b = append([]byte("# admin_token is set (not shown)\n"), b...)
		}
		if _, err := stdout.Write(b); err != nil {
			return cli.Runf("write stdout: %w", err)
		}
		return nil
	}

	level := slog.LevelInfo
	if cfg.LogRequests {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := target.New(cfg, target.WithLogger(logger))
	if err != nil {
		return cli.Usagef("%w", err)
	}
	var lc net.ListenConfig
	apiLn, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return cli.Runf("--listen %s: %w", cfg.Listen, err)
	}
	adminLn, err := lc.Listen(ctx, "tcp", cfg.AdminAddress())
	if err != nil {
		_ = apiLn.Close()
		return cli.Runf("--admin %s: %w", cfg.AdminAddress(), err)
	}
	if _, err := fmt.Fprintf(stdout, "target: listening on http://%s (admin http://%s)\n", apiLn.Addr(), adminLn.Addr()); err != nil {
		_ = apiLn.Close()
		_ = adminLn.Close()
		return cli.Runf("write stdout: %w", err)
	}
	if err := srv.Serve(ctx, apiLn, adminLn); err != nil {
		return cli.Runf("%w", err)
	}
	return nil
}

// parseArgs resolves the configuration: preset, then --config, then the
// flags that were given.
func parseArgs(args []string, stdout io.Writer) (target.Config, options, error) {
	var (
		opts           options
		seed           uint64
		listen, admin  string
		adminToken     string
		adminTokenFile string
		dbPool         int
		searchPool     int
		dbLatency      string
		searchLatency  string
		drain          time.Duration
		logRequests    bool
		dbURL          string
		searchURL      string
		dbStop         bool
		searchStop     bool
		limiter        string
		limit          int
		queue          string
		queueSize      int
		maxWait        time.Duration
		deadline       bool
		priority       bool
		retryAware     bool
		overloadWindow time.Duration
		throttle       bool
		throttleRate   float64
		throttleBurst  int
		bulkheads      bool
		workers        int
		checkpoint     bool
		timeouts       bool
	)
	fs := pflag.NewFlagSet("target", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.preset, "preset", target.PresetUnprotected, "starting configuration: unprotected, protected or serverless")
	fs.StringVar(&opts.configFile, "config", "", "YAML configuration FILE applied over the preset (strict: unknown fields are errors)")
	fs.BoolVar(&opts.printConfig, "print-config", false, "print the resolved configuration as YAML and exit")
	fs.StringVar(&listen, "listen", "", "API listen address (default 127.0.0.1:8080; port 0 picks a free port)")
	fs.StringVar(&admin, "admin", "", "admin listen address (default 127.0.0.1 on the API port + 1, a free port when that is 0); a non-loopback address needs --admin-token")
	fs.StringVar(&adminToken, "admin-token", "", "bearer token every admin call must carry (visible in ps: prefer --admin-token-file or $"+adminTokenEnv+")")
	fs.StringVar(&adminTokenFile, "admin-token-file", "", "read the admin token from FILE (one trailing newline trimmed). Precedence: --admin-token or --admin-token-file (not both), then $"+adminTokenEnv+", then --config's admin_token")
	fs.Uint64Var(&seed, "seed", 0, "seed of the dependencies' latency and error sampling")
	fs.IntVar(&dbPool, "db-pool", 0, "db dependency pool size (slots served at once)")
	fs.StringVar(&dbLatency, "db-latency", "", "db latency: 20ms, uniform:10ms-30ms or lognormal:P50,P99")
	fs.IntVar(&searchPool, "search-pool", 0, "search dependency pool size")
	fs.StringVar(&searchLatency, "search-latency", "", "search latency, as --db-latency")
	fs.StringVar(&dbURL, "db-url", "", "make db a real HTTP service: each call is a GET to this URL (a fault proxy may sit in front)")
	fs.StringVar(&searchURL, "search-url", "", "make search a real HTTP service at this URL")
	fs.BoolVar(&dbStop, "db-stop-on-cancel", false, "db calls stop when their caller leaves (false: the work goes on, wasted)")
	fs.BoolVar(&searchStop, "search-stop-on-cancel", false, "search calls stop when their caller leaves")
	fs.StringVar(&limiter, "limiter", "", "admission concurrency limiter: none, static, aimd or gradient")
	fs.IntVar(&limit, "limit", 0, "admission limit (static) or initial limit (aimd, gradient)")
	fs.StringVar(&queue, "queue", "", "admission wait queue discipline: fifo, lifo or codel")
	fs.IntVar(&queueSize, "queue-size", 0, "admission wait queue size (0: no queue)")
	fs.DurationVar(&maxWait, "max-wait", 0, "longest wait in the admission queue")
	fs.BoolVar(&deadline, "deadline", false, "honour X-Timeout-Ms: drop work whose client has given up")
	fs.BoolVar(&priority, "priority", false, "shed X-Priority: sheddable requests before critical ones (needs --limiter)")
	fs.BoolVar(&retryAware, "retry-aware", false, "prefer first attempts under overload: refuse retries (X-Attempt > 1) while the service sheds")
	fs.DurationVar(&overloadWindow, "overload-window", 0, "with --retry-aware, how long after a refusal for overload retries are still refused (0..1m; default 100ms)")
	fs.BoolVar(&throttle, "throttle", false, "per-tenant token bucket on X-Tenant (429)")
	fs.Float64Var(&throttleRate, "throttle-rate", 0, "per-tenant rate, requests per second")
	fs.IntVar(&throttleBurst, "throttle-burst", 0, "per-tenant burst")
	fs.BoolVar(&bulkheads, "bulkheads", false, "isolated pools per dependency and per route")
	fs.IntVar(&workers, "workers", 0, "fixed resources per unit of work: run each request on one of N workers (0: shared goroutines)")
	fs.BoolVar(&checkpoint, "checkpoint", false, "jobs keep a checkpoint after each chunk, so a retry resumes")
	fs.BoolVar(&timeouts, "timeouts", false, "per-route handler deadlines (false: none; true: the protected preset's)")
	fs.DurationVar(&drain, "drain-timeout", 0, "on SIGINT/SIGTERM, how long requests in flight may finish")
	fs.BoolVar(&logRequests, "log-requests", false, "log one line per request (slog, debug level) on stderr")
	msgFlags := addMessageFlags(fs)
	fnFlags := addServerlessFlags(fs)

	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, usageHead)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		if subs := subcommands(); len(subs) > 0 {
			fmt.Fprint(stdout, "\nHelper commands (target NAME --help for theirs):\n")
			for _, c := range subs {
				fmt.Fprintf(stdout, "  %-14s %s\n", c.name, c.summary)
			}
		}
		fmt.Fprint(stdout, usageTail)
		return target.Config{}, opts, cli.ErrHelp
	}
	if err != nil {
		return target.Config{}, opts, cli.Usagef("%v (see target --help)", err)
	}
	if fs.NArg() > 0 {
		return target.Config{}, opts, cli.Usagef("unexpected argument %q (see target --help)", fs.Arg(0))
	}

	cfg, err := target.Preset(opts.preset)
	if err != nil {
		return cfg, opts, cli.Usagef("--preset: %w", err)
	}
	if opts.configFile != "" {
		data, err := os.ReadFile(opts.configFile)
		if err != nil {
			return cfg, opts, cli.Usagef("--config: %w", err)
		}
		if cfg, err = target.DecodeYAML(cfg, fs.Changed("preset"), opts.configFile, data); err != nil {
			return cfg, opts, cli.Usagef("--config: %w", err)
		}
	}

	set := func(name string, apply func() error) {
		if err == nil && fs.Changed(name) {
			if aerr := apply(); aerr != nil {
				err = cli.Usagef("--%s: %w", name, aerr)
			}
		}
	}
	set("listen", func() error { cfg.Listen = listen; return nil })
	set("admin", func() error { cfg.Admin = admin; return nil })
	if err == nil {
		err = resolveAdminToken(&cfg, fs.Changed("admin-token"), adminToken, fs.Changed("admin-token-file"), adminTokenFile)
	}
	set("seed", func() error { cfg.Seed = seed; return nil })
	set("db-pool", func() error { cfg.DB.Pool = dbPool; return positive(dbPool) })
	set("search-pool", func() error { cfg.Search.Pool = searchPool; return positive(searchPool) })
	set("db-latency", func() (err error) { cfg.DB.Latency, err = dist.ParseLatency(dbLatency); return err })
	set("search-latency", func() (err error) { cfg.Search.Latency, err = dist.ParseLatency(searchLatency); return err })
	set("drain-timeout", func() error { cfg.DrainTimeout = dist.Duration(drain); return positive(drain) })
	set("log-requests", func() error { cfg.LogRequests = logRequests; return nil })
	set("db-url", func() error { cfg.DB.URL = dbURL; return checkURL(dbURL) })
	set("search-url", func() error { cfg.Search.URL = searchURL; return checkURL(searchURL) })
	set("db-stop-on-cancel", func() error { cfg.DB.StopOnCancel = dbStop; return nil })
	set("search-stop-on-cancel", func() error { cfg.Search.StopOnCancel = searchStop; return nil })
	set("limiter", func() error {
		if limiter != "none" && cfg.Admission.Limiter == "none" {
			// Switching a limiter on over the unprotected preset: take the
			// protected preset's admission settings as the starting point.
			p, _ := target.Preset(target.PresetProtected)
			cfg.Admission.Limit, cfg.Admission.MinLimit, cfg.Admission.MaxLimit = p.Admission.Limit, p.Admission.MinLimit, p.Admission.MaxLimit
		}
		cfg.Admission.Limiter = limiter
		return nil
	})
	set("limit", func() error {
		cfg.Admission.Limit = limit
		cfg.Admission.MinLimit = min(cfg.Admission.MinLimit, limit)
		cfg.Admission.MaxLimit = max(cfg.Admission.MaxLimit, limit)
		return positive(limit)
	})
	set("queue", func() error { cfg.Admission.Queue = queue; return nil })
	set("queue-size", func() error {
		cfg.Admission.QueueSize = queueSize
		if queueSize > 0 && cfg.Admission.MaxWait == 0 {
			cfg.Admission.MaxWait = dist.Duration(200 * time.Millisecond)
		}
		return nil
	})
	set("max-wait", func() error { cfg.Admission.MaxWait = dist.Duration(maxWait); return positive(maxWait) })
	set("deadline", func() error { cfg.Admission.Deadline = deadline; return nil })
	set("priority", func() error { cfg.Admission.Priority = priority; return nil })
	set("retry-aware", func() error { cfg.Admission.RetryAware = retryAware; return nil })
	set("overload-window", func() error { cfg.Admission.OverloadWindow = dist.Duration(overloadWindow); return nil })
	protected, _ := target.Preset(target.PresetProtected)
	set("throttle", func() error {
		if throttle && !cfg.Throttle.Enabled {
			cfg.Throttle = protected.Throttle
		}
		cfg.Throttle.Enabled = throttle
		return nil
	})
	set("throttle-rate", func() error { cfg.Throttle.Rate = throttleRate; return positive(throttleRate) })
	set("throttle-burst", func() error { cfg.Throttle.Burst = throttleBurst; return positive(throttleBurst) })
	set("bulkheads", func() error {
		if bulkheads && !cfg.Bulkheads.Enabled {
			cfg.Bulkheads = protected.Bulkheads
		}
		cfg.Bulkheads.Enabled = bulkheads
		return nil
	})
	set("workers", func() error {
		// Up to 4 waiters per worker, within the range of max_waiters (so
		// that a huge --workers is reported once, as itself).
		cfg.Workers = target.WorkersConfig{Enabled: workers > 0, Workers: workers, MaxWaiters: min(4*max(workers, 0), 100_000),
			MaxWait: dist.Duration(100 * time.Millisecond)}
		if workers < 0 {
			return fmt.Errorf("%d, want ≥ 0", workers)
		}
		return nil
	})
	set("checkpoint", func() error { cfg.Jobs.Checkpoint = checkpoint; return nil })
	set("timeouts", func() error {
		cfg.Timeouts = target.RouteTimeouts{}
		if timeouts {
			cfg.Timeouts = protected.Timeouts
		}
		return nil
	})
	if err == nil {
		err = msgFlags.apply(fs, &cfg)
	}
	if err == nil {
		err = fnFlags.apply(fs, &cfg)
	}
	if err != nil {
		return cfg, opts, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, opts, cli.Usagef("%s", nameFlags(err, fs.Changed))
	}
	return cfg, opts, nil
}

// adminTokenEnv is the environment variable the admin token may come from
// (like loadgen's LOADGEN_PROXY_TOKEN: the binary's name, then the flag's).
const adminTokenEnv = "TARGET_ADMIN_TOKEN"

// resolveAdminToken sets cfg's admin token from, first to last: the
// --admin-token flag or the --admin-token-file file (one of them at most),
// the environment variable adminTokenEnv when set and not empty, and else
// leaves what the preset and --config gave. A token file's trailing
// newline ("\n" or "\r\n") is trimmed; an empty token is refused.
func resolveAdminToken(cfg *target.Config, flagSet bool, flagToken string, fileSet bool, file string) error {
	switch {
	case flagSet && fileSet:
		return cli.Usagef("--admin-token and --admin-token-file: give one of them, not both")
	case flagSet:
		cfg.AdminToken = flagToken
	case fileSet:
		b, err := os.ReadFile(file)
		if err != nil {
			return cli.Usagef("--admin-token-file: %w", err)
		}
		tok := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if tok == "" {
			return cli.Usagef("--admin-token-file: %s is empty, want the token on its first line", file)
		}
		if strings.ContainsAny(tok, "\r\n") {
			return cli.Usagef("--admin-token-file: %s has more than one line, want the token alone", file)
		}
		cfg.AdminToken = tok
	default:
		if tok := os.Getenv(adminTokenEnv); tok != "" {
			cfg.AdminToken = tok
		}
	}
	return nil
}

// flagFields maps each numeric flag to the configuration fields it sets,
// so that a value Config.Validate refuses is reported by the flag given.
var flagFields = []struct {
	flag   string
	fields []string
}{
	{"db-pool", []string{"db.pool"}},
	{"search-pool", []string{"search.pool"}},
	{"db-latency", []string{"db.latency"}},
	{"search-latency", []string{"search.latency"}},
	{"limit", []string{"admission.limit", "admission.min_limit"}},
	{"queue-size", []string{"admission.queue_size"}},
	{"max-wait", []string{"admission.max_wait"}},
	{"overload-window", []string{"admission.overload_window"}},
	{"throttle-rate", []string{"throttle.rate"}},
	{"throttle-burst", []string{"throttle.burst"}},
	{"workers", []string{"workers."}},
	{"drain-timeout", []string{"drain_timeout"}},
	{"consumers", []string{"messages.consumers"}},
	{"queue-capacity", []string{"messages.queue.capacity"}},
	{"age-threshold", []string{"messages.queue.age_threshold"}},
	{"message-ttl", []string{"messages.queue.ttl"}},
	{"backpressure-depth", []string{"messages.queue.backpressure_depth"}},
	{"backpressure-age", []string{"messages.queue.backpressure_age"}},
	{"surge-queue", []string{"messages.queue.surge_capacity"}},
	{"queues", []string{"messages.queue.queues"}},
	{"shard-size", []string{"messages.queue.shard_size"}},
	{"fn", []string{"serverless.functions"}},
}

// nameFlags returns the lines of a Config.Validate error, each line about
// a field that a flag given on the command line set prefixed with that
// flag ("--workers: workers.workers: …"), so the message names what the
// user typed. changed reports whether a flag was given.
func nameFlags(err error, changed func(string) bool) string {
	lines := strings.Split(err.Error(), "\n")
	for i, line := range lines {
	flags:
		for _, f := range flagFields {
			if !changed(f.flag) {
				continue
			}
			for _, field := range f.fields {
				if strings.HasPrefix(line, field) {
					lines[i] = "--" + f.flag + ": " + line
					break flags
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}

// positive checks a flag value that must be at least 1 (or above 0).
func positive[T int | float64 | time.Duration](v T) error {
	if v <= 0 {
		return fmt.Errorf("%v, want > 0", v)
	}
	return nil
}

// checkURL accepts an absolute http(s) URL, or "" (simulated).
func checkURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q, want an absolute http:// or https:// URL", s)
	}
	return nil
}

// runVersion prints the build's version: target version (go version).
func runVersion(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return cli.Usagef("version takes no arguments, got %q", args)
	}
	if _, err := fmt.Fprintf(stdout, "target %s (%s)\n", cli.Version(), runtime.Version()); err != nil {
		return cli.Runf("write stdout: %w", err)
	}
	return nil
}
