package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// clientFlags holds the client and schedule flags shared by attack, ramp
// and run: register them with addClientFlags, then build the engine's
// config with workloadConfig after parsing.
type clientFlags struct {
	url      string
	rate     float64
	duration time.Duration
	phases   []string
	arrival  string

	method   string
	headers  []string
	bodyFile string

	timeout     time.Duration
	deadline    time.Duration
	maxAttempts int
	retryOn     string
	retryAfter  bool
	raCap       time.Duration
	backoff     string
	backoffBase time.Duration
	backoffMax  time.Duration
	jitter      string
	budget      string
	throttle    string
	hedge       string

	tenants     int
	tenantDist  string
	maxInflight int
	connections int
	http2       bool
	tls         workload.TLSFiles
	seed        uint64
	wireHeaders []string
	data        []string // --data NAME=FILE

	shard   string
	shards  int
	startAt string

	targets       string // --targets FILE, - for stdin
	targetsFormat string
	targetsOrder  string
	procs         string

	// base is joined to a relative --url: a survey's embedded target
	// sets it (the survey replaces it per cell with the target's URL).
	base string
}

// addClientFlags registers every client and schedule flag on fs.
func addClientFlags(fs *pflag.FlagSet) *clientFlags {
	c := &clientFlags{}
	d := retry.Default()
	fs.StringVar(&c.url, "url", "", "target URL (http:// or https://); this or --targets is required")
	fs.StringVar(&c.targets, "targets", "", "a targets file (- for stdin): many routes, on one or several hosts, played in turn")
	fs.StringVar(&c.targetsFormat, "targets-format", "http", "format of --targets: http (vegeta's: METHOD URL, Header: value lines, @body) or jsonl")
	fs.StringVar(&c.targetsOrder, "targets-order", "roundrobin", "order of --targets: roundrobin (file order) or random (from the seed)")
	fs.Float64Var(&c.rate, "rate", 50, "offered load of the one constant phase, requests/s (ignored with --phase)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of the one constant phase (ignored with --phase)")
	fs.StringArrayVar(&c.phases, "phase", nil, "schedule phase DURATION@RATE or DURATION@FROM-TO (repeatable, in order), e.g. 10s@200, 20s@200-1000")
	fs.StringVar(&c.arrival, "arrival", "uniform", "arrival process: uniform or poisson")
	fs.StringVar(&c.method, "method", "GET", "HTTP method")
	fs.StringArrayVar(&c.headers, "header", nil, "extra request header K:V (repeatable); values may hold {seq}, {rand:LO-HI}, {tenant}, {data:NAME.COLUMN}")
	fs.StringArrayVar(&c.data, "data", nil, "CSV file NAME=FILE (repeatable; first row the header) whose rows {data:NAME.COLUMN} in --url, --header and --body-file read, one row a request, in order, wrapping")
	fs.StringVar(&c.bodyFile, "body-file", "", "file whose content is the request body")
	fs.DurationVar(&c.timeout, "timeout", d.AttemptTimeout, "per-attempt timeout (0: none)")
	fs.DurationVar(&c.deadline, "deadline", 0, "per-request deadline from the intended start, retries included (0: none)")
	fs.IntVar(&c.maxAttempts, "max-attempts", 1, "attempts per request (1 = no retries)")
	fs.StringVar(&c.retryOn, "retry-on", d.RetryOn.String(), "retried outcomes: status codes, 4xx/5xx, timeout, conn, or none")
	fs.BoolVar(&c.retryAfter, "retry-after", d.RetryAfter, "honour Retry-After (wait at least that long before retrying)")
	fs.DurationVar(&c.raCap, "retry-after-max", d.RetryAfterCap, "cap on an honoured Retry-After (0: no cap)")
	fs.StringVar(&c.backoff, "backoff", d.Backoff.Kind.String(), "backoff: none, constant (base) or exponential (min(max, base·2^(n−1)))")
	fs.DurationVar(&c.backoffBase, "backoff-base", d.Backoff.Base, "backoff base delay")
	fs.DurationVar(&c.backoffMax, "backoff-max", d.Backoff.Max, "backoff cap")
	fs.StringVar(&c.jitter, "jitter", d.Jitter.String(), "jitter: none, full U(0,b), equal b/2+U(0,b/2), decorrelated min(max, U(base, 3·prev))")
	fs.StringVar(&c.budget, "retry-budget", "none", "retry budget: none, token:MAX,RATIO (gRPC), aws (SDK quota), ratio:FRACTION[,MINPERSEC]")
	fs.StringVar(&c.throttle, "throttle", "none", "client-side adaptive throttling: none or sre:K")
	fs.StringVar(&c.hedge, "hedge-after", "none", "hedge: send a second attempt after DURATION or the pNN of recent latencies (none: off)")
	fs.IntVar(&c.tenants, "tenants", 0, "number of simulated tenants (0: none)")
	fs.StringVar(&c.tenantDist, "tenant-dist", "uniform", "tenant distribution: uniform or zipf:S")
	fs.IntVar(&c.maxInflight, "max-inflight", workload.DefaultMaxInFlight, "most requests in flight; beyond, requests are recorded as generator_dropped")
	fs.IntVar(&c.connections, "connections", 1000, "connection pool size per host")
	fs.BoolVar(&c.http2, "http2", false, "speak HTTP/2 (h2c for http://, TLS for https://)")
	fs.StringVar(&c.tls.CAFile, "cacert", "", "PEM file of the CA certificates that verify the service (in place of the system's)")
	fs.StringVar(&c.tls.CertFile, "cert", "", "PEM client certificate, for mutual TLS (with --key)")
	fs.StringVar(&c.tls.KeyFile, "key", "", "PEM private key of --cert")
	fs.StringVar(&c.tls.ServerName, "server-name", "", "the name to verify (and send as SNI) in place of each URL's host")
	fs.BoolVar(&c.tls.Insecure, "insecure", false, "skip TLS certificate verification")
	fs.StringArrayVar(&c.wireHeaders, "wire-header", nil, "rename a wire-contract header ROLE=NAME (repeatable); roles: request-id, attempt, timeout-ms, tenant, priority")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of every random choice (default: random, printed and recorded)")
	addShardFlags(fs, c)
	addProcsFlag(fs, c)
	return c
}

// addProcsFlag registers --procs (read with procsOf), shared by attack,
// ramp and run.
func addProcsFlag(fs *pflag.FlagSet, c *clientFlags) {
	fs.StringVar(&c.procs, "procs", "auto", "cores the generator runs Go code on (GOMAXPROCS): auto follows the load, adding a core as soon as it needs one; or N")
}

// procsOf returns --procs as workload.Config.Procs.
func (c *clientFlags) procsOf() (int, error) {
	if c.procs == "auto" {
		return workload.ProcsAuto, nil
	}
	n, err := strconv.Atoi(c.procs)
	if err != nil || n < 1 {
		return 0, flagErr("procs", fmt.Errorf("%q: want auto or a number of cores ≥ 1", c.procs))
	}
	return n, nil
}

// addShardFlags registers --shard, --shards and --start-at (read with
// shardOf and startInstant), shared by attack and run.
func addShardFlags(fs *pflag.FlagSet, c *clientFlags) {
	fs.StringVar(&c.shard, "shard", "", "this generator's shard I/N of a sharded run (default: JOB_COMPLETION_INDEX with --shards)")
	fs.IntVar(&c.shards, "shards", 0, "shard count when the index comes from JOB_COMPLETION_INDEX")
	fs.StringVar(&c.startAt, "start-at", "", "start the schedule at this instant: RFC 3339, or +DURATION from now")
}

// parseWireHeaders reads --wire-header ROLE=NAME values into the header
// names the runner sends; roles not named keep their defaults.
func parseWireHeaders(specs []string) (workload.WireHeaders, error) {
	var w workload.WireHeaders
	for _, spec := range specs {
		role, name, ok := strings.Cut(spec, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return w, fmt.Errorf("%q: want ROLE=NAME, e.g. request-id=X-Correlation-Id", spec)
		}
		switch strings.TrimSpace(role) {
		case "request-id":
			w.RequestID = name
		case "attempt":
			w.Attempt = name
		case "timeout-ms":
			w.TimeoutMs = name
		case "tenant":
			w.Tenant = name
		case "priority":
			w.Priority = name
		default:
			return w, fmt.Errorf("%q: unknown role %q (valid: request-id, attempt, timeout-ms, tenant, priority)", spec, role)
		}
	}
	return w, nil
}

// flagErr is a usage error naming the flag.
func flagErr(name string, err error) error { return cli.Usagef("--%s: %v", name, err) }

// retryPolicy builds the client policy from the flags.
func (c *clientFlags) retryPolicy() (retry.Policy, error) {
	p := retry.Policy{AttemptTimeout: c.timeout, Deadline: c.deadline, MaxAttempts: c.maxAttempts, RetryAfter: c.retryAfter, RetryAfterCap: c.raCap}
	var err error
	if c.timeout < 0 {
		return p, flagErr("timeout", fmt.Errorf("%v: must be ≥ 0", c.timeout))
	}
	if c.deadline < 0 {
		return p, flagErr("deadline", fmt.Errorf("%v: must be ≥ 0", c.deadline))
	}
	if c.maxAttempts < 1 || c.maxAttempts > 1000 {
		return p, flagErr("max-attempts", fmt.Errorf("%d: must be in [1, 1000]", c.maxAttempts))
	}
	if p.RetryOn, err = retry.ParseRetryOn(c.retryOn); err != nil {
		return p, flagErr("retry-on", err)
	}
	kind, err := retry.ParseBackoffKind(c.backoff)
	if err != nil {
		return p, flagErr("backoff", err)
	}
	p.Backoff = retry.Backoff{Kind: kind, Base: c.backoffBase, Max: c.backoffMax, Multiplier: 2}
	if err := p.Backoff.Validate(); err != nil {
		return p, flagErr("backoff-base", err)
	}
	if p.Jitter, err = retry.ParseJitter(c.jitter); err != nil {
		return p, flagErr("jitter", err)
	}
	if p.Budget, err = retry.ParseBudget(c.budget); err != nil {
		return p, flagErr("retry-budget", err)
	}
	if p.Throttle, err = retry.ParseThrottle(c.throttle); err != nil {
		return p, flagErr("throttle", err)
	}
	if p.Hedge, err = retry.ParseHedge(c.hedge); err != nil {
		return p, flagErr("hedge-after", err)
	}
	if err := p.Validate(); err != nil {
		return p, cli.Usagef("client flags: %v", err)
	}
	return p, nil
}

// parsePhase parses DURATION@RATE or DURATION@FROM-TO.
func parsePhase(s string) (workload.Phase, error) {
	bad := fmt.Errorf("phase %q: want DURATION@RATE or DURATION@FROM-TO with a positive duration and rates ≥ 0 (e.g. 10s@200, 20s@200-1000)", s)
	ds, rs, ok := strings.Cut(s, "@")
	d, err := time.ParseDuration(ds)
	if !ok || err != nil || d <= 0 {
		return workload.Phase{}, bad
	}
	num := func(v string) (float64, bool) {
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && f >= 0 && !math.IsInf(f, 0)
	}
	from, to, ramp := strings.Cut(rs, "-")
	f, ok1 := num(from)
	t, ok2 := f, true
	if ramp {
		t, ok2 = num(to)
	}
	if !ok1 || !ok2 {
		return workload.Phase{}, bad
	}
	return workload.Ramp(d, f, t), nil
}

// schedule builds the schedule from --phase, or --rate and --duration.
func (c *clientFlags) schedule() (*workload.Schedule, error) {
	var phases []workload.Phase
	for _, s := range c.phases {
		p, err := parsePhase(s)
		if err != nil {
			return nil, flagErr("phase", err)
		}
		phases = append(phases, p)
	}
	if len(phases) == 0 {
		if !(c.rate > 0) || math.IsInf(c.rate, 0) {
			return nil, flagErr("rate", fmt.Errorf("%v: must be a number > 0 (requests/s)", c.rate))
		}
		if c.duration <= 0 {
			return nil, flagErr("duration", fmt.Errorf("%v: must be > 0", c.duration))
		}
		phases = []workload.Phase{workload.Constant(c.duration, c.rate)}
	}
	s, err := workload.NewSchedule(phases...)
	if err != nil {
		if len(c.phases) == 0 {
			return nil, flagErr("rate", err)
		}
		return nil, flagErr("phase", err)
	}
	return s, nil
}

// shardOf resolves --shard, or JOB_COMPLETION_INDEX with --shards.
func (c *clientFlags) shardOf(fs *pflag.FlagSet) (workload.Shard, error) {
	if c.shard != "" {
		is, ns, ok := strings.Cut(c.shard, "/")
		i, err1 := strconv.Atoi(is)
		n, err2 := strconv.Atoi(ns)
		s := workload.Shard{Index: i, Count: n}
		if !ok || err1 != nil || err2 != nil || n < 1 || s.Validate() != nil {
			return s, flagErr("shard", fmt.Errorf("%q: want I/N with 0 ≤ I < N (e.g. 0/4)", c.shard))
		}
		return s, nil
	}
	env, set := os.LookupEnv("JOB_COMPLETION_INDEX")
	if !set {
		if fs.Changed("shards") && c.shards != 1 {
			return workload.Shard{}, flagErr("shards", fmt.Errorf("%d without --shard or JOB_COMPLETION_INDEX: give the shard index", c.shards))
		}
		return workload.Shard{}, nil
	}
	i, err := strconv.Atoi(env)
	if err != nil {
		return workload.Shard{}, cli.Usagef("JOB_COMPLETION_INDEX=%q: want an integer", env)
	}
	if c.shards < 1 {
		return workload.Shard{}, flagErr("shards", fmt.Errorf("JOB_COMPLETION_INDEX=%d is set: give the shard count with --shards N", i))
	}
	s := workload.Shard{Index: i, Count: c.shards}
	if err := s.Validate(); err != nil {
		return s, cli.Usagef("JOB_COMPLETION_INDEX=%d with --shards %d: %v", i, c.shards, err)
	}
	return s, nil
}

// startInstant resolves --start-at (zero when unset).
func (c *clientFlags) startInstant(now time.Time) (time.Time, error) {
	if c.startAt == "" {
		return time.Time{}, nil
	}
	if rel, ok := strings.CutPrefix(c.startAt, "+"); ok {
		d, err := time.ParseDuration(rel)
		if err != nil || d < 0 {
			return time.Time{}, flagErr("start-at", fmt.Errorf("%q: want RFC 3339 (2026-01-02T15:04:05Z) or +DURATION (+10s)", c.startAt))
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, c.startAt)
	if err != nil {
		return time.Time{}, flagErr("start-at", fmt.Errorf("%q: want RFC 3339 (2026-01-02T15:04:05Z) or +DURATION (+10s)", c.startAt))
	}
	if late := now.Sub(t); late > maxStartLateness {
		return time.Time{}, flagErr("start-at", fmt.Errorf("%s is %v in the past: every request up to now would be generator_dropped; agree on a later instant", c.startAt, late.Round(time.Millisecond)))
	}
	return t, nil
}

// maxStartLateness is how far in the past --start-at may lie: a shard
// scheduled a little late still joins its run (and records how late it
// was), but one that would begin seconds behind its schedule measures
// nothing but its own lag.
const maxStartLateness = time.Second

// workloadConfig builds the engine's config from the parsed flags; errors
// are usage errors naming the flag. The seed is random when --seed was not
// given.
func (c *clientFlags) workloadConfig(fs *pflag.FlagSet) (workload.Config, error) {
	var cfg workload.Config
	if c.url == "" && c.targets == "" {
		return cfg, cli.Usagef("--url or --targets is required (e.g. --url http://127.0.0.1:8080/)")
	}
	sched, err := c.schedule()
	if err != nil {
		return cfg, err
	}
	arrival, err := workload.ParseArrival(c.arrival)
	if err != nil {
		return cfg, flagErr("arrival", err)
	}
	policy, err := c.retryPolicy()
	if err != nil {
		return cfg, err
	}
	mix, order, err := c.mix(fs)
	if err != nil {
		return cfg, err
	}
	var data []*workload.Data
	for _, s := range c.data {
		d, err := workload.ParseDataFlag(s)
		if err != nil {
			return cfg, flagErr("data", err)
		}
		data = append(data, d)
	}
	if c.tenants < 0 {
		return cfg, flagErr("tenants", fmt.Errorf("%d: must be ≥ 0", c.tenants))
	}
	zipf, err := workload.ParseTenantDist(c.tenantDist)
	if err != nil {
		return cfg, flagErr("tenant-dist", err)
	}
	if c.maxInflight < 1 {
		return cfg, flagErr("max-inflight", fmt.Errorf("%d: must be ≥ 1", c.maxInflight))
	}
	if c.connections < 1 {
		return cfg, flagErr("connections", fmt.Errorf("%d: must be ≥ 1", c.connections))
	}
	shard, err := c.shardOf(fs)
	if err != nil {
		return cfg, err
	}
	start, err := c.startInstant(time.Now())
	if err != nil {
		return cfg, err
	}
	procs, err := c.procsOf()
	if err != nil {
		return cfg, err
	}
	tlsConf, err := c.tls.Config()
	if err != nil {
		return cfg, cli.Usagef("--cacert/--cert/--key: %v", err)
	}
	if !fs.Changed("seed") {
		c.seed = rand.Uint64()
	}
	cfg = workload.Config{
		Schedule:    sched,
		Arrival:     arrival,
		Seed:        c.seed,
		Shard:       shard,
		BaseURL:     c.base,
		Mix:         mix,
		Order:       order,
		Data:        data,
		Tenants:     workload.Tenants{Count: c.tenants, Zipf: zipf},
		Retry:       policy,
		MaxInFlight: c.maxInflight,
		HTTP:        workload.ClientOptions{Connections: c.connections, HTTP2: c.http2, TLS: tlsConf},
		Start:       start,
		Procs:       procs,
	}
	if cfg.Headers, err = parseWireHeaders(c.wireHeaders); err != nil {
		return cfg, flagErr("wire-header", err)
	}
	if _, err := workload.New(cfg); err != nil {
		return cfg, cli.Usagef("%v", err)
	}
	return cfg, nil
}

// mix returns the request templates: the targets of --targets, each with
// the --header headers added (as vegeta's -header does), or the one
// request of --url, --method, --header and --body-file.
func (c *clientFlags) mix(fs *pflag.FlagSet) ([]workload.Template, workload.Order, error) {
	header := http.Header{}
	for _, h := range c.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, 0, flagErr("header", fmt.Errorf("%q: want K:V", h))
		}
		header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if c.targets == "" {
		tmpl := workload.Template{Method: c.method, URL: c.url, Header: header}
		if c.bodyFile != "" {
			b, err := os.ReadFile(c.bodyFile)
			if err != nil {
				return nil, 0, flagErr("body-file", err)
			}
			tmpl.Body = b
		}
		return []workload.Template{tmpl}, workload.OrderWeighted, nil
	}
	for _, other := range []string{"url", "method", "body-file"} {
		if fs.Changed(other) {
			return nil, 0, cli.Usagef("--targets and --%s: the targets file names each request's URL, method and body", other)
		}
	}
	format, err := workload.ParseTargetsFormat(c.targetsFormat)
	if err != nil {
		return nil, 0, flagErr("targets-format", err)
	}
	order, err := workload.ParseOrder(c.targetsOrder)
	if err != nil {
		return nil, 0, flagErr("targets-order", err)
	}
	in, name := io.Reader(os.Stdin), "stdin"
	if c.targets != "-" {
		f, err := os.Open(c.targets)
		if err != nil {
			return nil, 0, flagErr("targets", err)
		}
		defer f.Close()
		in, name = f, c.targets
	}
	ts, err := workload.ReadTargets(in, name, format)
	if err != nil {
		return nil, 0, flagErr("targets", err)
	}
	for i := range ts {
		for k, vs := range header {
			if ts[i].Header == nil {
				ts[i].Header = http.Header{}
			}
			ts[i].Header[k] = append(ts[i].Header[k], vs...)
		}
	}
	return ts, order, nil
}

// scenarioJSON is the resolved scenario of an attack, recorded in the
// header (identical on every shard of one run).
type scenarioJSON struct {
	Command     string   `json:"command"`
	URL         string   `json:"url,omitempty"`
	Targets     string   `json:"targets,omitempty"`
	Requests    int      `json:"requests,omitempty"`
	Method      string   `json:"method"`
	Phases      []string `json:"phases"`
	Arrival     string   `json:"arrival"`
	Timeout     string   `json:"timeout"`
	Deadline    string   `json:"deadline"`
	MaxAttempts int      `json:"max_attempts"`
	RetryOn     string   `json:"retry_on"`
	RetryAfter  bool     `json:"retry_after"`
	Backoff     string   `json:"backoff"`
	Jitter      string   `json:"jitter"`
	Budget      string   `json:"retry_budget"`
	Throttle    string   `json:"throttle"`
	Hedge       string   `json:"hedge_after"`
	Tenants     int      `json:"tenants"`
	TenantDist  string   `json:"tenant_dist"`
	MaxInflight int      `json:"max_inflight"`
	Connections int      `json:"connections"`
	HTTP2       bool     `json:"http2"`
	Shards      int      `json:"shards"`
}

// resultsHeader returns the results stream header of a run of cfg started
// at start.
func (c *clientFlags) resultsHeader(command string, cfg workload.Config, start time.Time) results.Header {
	p := cfg.Retry
	sc := scenarioJSON{
		Command: command, URL: c.url, Targets: c.targets, Arrival: cfg.Arrival.String(),
		Timeout: p.AttemptTimeout.String(), Deadline: p.Deadline.String(), MaxAttempts: p.Attempts(),
		RetryOn: p.RetryOn.String(), RetryAfter: p.RetryAfter, Backoff: fmt.Sprintf("%s base %v max %v", p.Backoff.Kind, p.Backoff.Base, p.Backoff.Max),
		Jitter: p.Jitter.String(), Budget: p.Budget.String(), Throttle: p.Throttle.String(), Hedge: p.Hedge.String(),
		Tenants: cfg.Tenants.Count, TenantDist: c.tenantDist, MaxInflight: c.maxInflight, Connections: c.connections, HTTP2: c.http2,
		Shards: cfg.Shard.N(),
	}
	if c.targets == "" {
		sc.Method = c.method
	} else {
		sc.Requests = len(cfg.Mix)
	}
	h := results.Header{
		Tool:  "goodput/loadgen",
		Start: start,
		Seed:  cfg.Seed,
		SLO:   p.SLO(),
		Shard: results.ShardInfo{Index: cfg.Shard.Index, Count: cfg.Shard.N()},
	}
	h.Host, _ = os.Hostname()
	for i, ph := range cfg.Schedule.Phases() {
		sc.Phases = append(sc.Phases, fmt.Sprintf("%v@%g-%g", ph.Duration, ph.From, ph.To))
		h.Phases = append(h.Phases, results.PhaseInfo{Name: ph.Name, Offset: cfg.Schedule.PhaseStart(i), Duration: ph.Duration, FromRPS: ph.From, ToRPS: ph.To})
	}
	h.Scenario, _ = json.Marshal(sc)
	return h
}
