package profiles

import (
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// Scenario is a whole profile: the service under test, the traffic, the
// clients' behaviour, the phases, the faults, the SLO, the assertions and
// the reports. Document.Resolve returns it validated, with defaults filled
// in.
//
// A Scenario is a plain value, not safe for concurrent mutation; the
// harness only reads it. The zero value is not a valid scenario.
type Scenario struct {
	// One line saying what the scenario shows; `loadgen profiles` lists it.
	Description string `yaml:"description"`
	// Seed of every random choice of the run (arrivals, request mix,
	// tenants, jitter, fault probabilities). 0 picks one from the clock;
	// the seed used is printed and recorded in the results so a run can be
	// replayed.
	Seed uint64 `yaml:"seed"`
	// The service under test: a URL, or the reference target started
	// in-process.
	Target Target `yaml:"target"`
	// The request mix: a weighted list of request templates. At least one.
	Requests []Request `yaml:"requests"`
	// CSV files whose rows requests' `{data:NAME.COLUMN}` placeholders
	// read, e.g. `[{name: users, file: users.csv}]`: each request takes
	// the next row of each file it uses, in order, wrapping after the
	// last, one row for all its placeholders. Read once into memory: at
	// most 1,000,000 rows and 64 MiB a file.
	Data []DataFile `yaml:"data"`
	// Simulated customers, sent as X-Tenant.
	Tenants Tenants `yaml:"tenants"`
	// How the simulated clients behave: timeouts, retries, budgets,
	// throttling, hedging, connections.
	Client Client `yaml:"client"`
	// Arrival process of new requests within a phase: `uniform` (even
	// spacing) or `poisson` (exponential inter-arrival times).
	Arrival Arrival `yaml:"arrival"`
	// The schedule: phases played one after another. At least one.
	Phases []Phase `yaml:"phases"`
	// Faults applied at their time and removed at their end (and for
	// certain when the run ends, fails or is interrupted).
	Faults []Fault `yaml:"faults"`
	// Named client settings that `retry` faults switch to: each is a set of
	// client fields that change from `client` (e.g. `retrying:
	// {max_attempts: 3}`); the others keep their values.
	Policies map[string]Raw `yaml:"policies"`
	// The service level objective goodput and recovery are measured
	// against.
	SLO SLO `yaml:"slo"`
	// Assertions checked after the run, one a line, in the grammar
	// `[phase(NAME).]METRIC OP VALUE` with OP one of < <= > >= == !=, e.g.
	// `p99 < 250ms`, `goodput_ratio >= 0.99`, `recovery_time < 15s`,
	// `phase(surge).shed_ratio < 0.5`, `metastable == false`. With
	// variants, prefix one with `variant(NAME).` to check it on that
	// variant only; otherwise it is checked on every variant. A failed
	// assertion makes the run exit 1.
	Assert []Assertion `yaml:"assert"`
	// Which reports to write, and where.
	Report Report `yaml:"report"`
	// The delivery sink for async messages (the backlog lesson).
	Sink Sink `yaml:"sink"`
	// A surge survey in place of the phases (docs/survey.md): for each
	// variant, how large and how long a surge the service takes and still
	// recovers. With it, phases, faults and assert are not used.
	Survey *Survey `yaml:"survey"`
	// Named sets of overrides: the scenario runs once per variant, in this
	// order, each on a fresh target, and ends with a comparison. Empty: one
	// run of the scenario as written.
	Variants []Variant `yaml:"variants"`
	// Overrides applied for `loadgen run --short`: the shortened form of
	// the scenario that tests and quick checks play. Same form as a
	// variant's `set`.
	Short Overrides `yaml:"short"`

	policies map[string]Client // Policies resolved onto Client, at load
	// shown maps the field paths of values expanded from the environment
	// to their text as written, which YAML and JSON display instead.
	shown map[string]string
}

// Policy returns the named client policy of `policies`: the client
// section with that policy's changes.
func (s *Scenario) Policy(name string) (Client, bool) {
	c, ok := s.policies[name]
	return c, ok
}

// Target is the service under test. Exactly one of URL and Embedded is
// set.
type Target struct {
	// Base URL of a running service, e.g. `http://127.0.0.1:8080`. loadgen
	// checks that it answers before the run starts.
	URL string `yaml:"url"`
	// Admin API base URL of a reference target running at `url` (e.g.
	// `http://127.0.0.1:9090`), needed for dependency and capacity faults.
	// Not used with `embedded`.
	Admin string `yaml:"admin"`
	// File holding the bearer token of `admin` when the target requires
	// one (its `--admin-token-file`): the token alone, one trailing
	// newline allowed. Relative to the profile's directory. loadgen's
	// `--target-admin-token-file` and `$LOADGEN_TARGET_ADMIN_TOKEN` take
	// precedence. Only with `admin`.
	AdminTokenFile string `yaml:"admin_token_file"`
	// The reference target, started in-process on 127.0.0.1 on a free
	// port, fresh for each variant.
	Embedded *Embedded `yaml:"embedded"`
}

// Embedded configures the in-process reference target.
type Embedded struct {
	// Starting configuration: `unprotected` (an honest default Go service:
	// unbounded concurrency, FIFO waits, no deadline checks), `protected`
	// (every defence on) or `serverless` (unprotected plus the function
	// platform, POST /fn/{name}: docs/serverless.md).
	Preset Preset `yaml:"preset"`
	// Reference target configuration fields set on top of the preset, in
	// the form `target --print-config` prints (e.g. `db: {pool: 8}`).
	// Checked against the target's own schema when the run starts.
	Overrides Raw `yaml:"overrides"`
}

// Request is one template of the request mix.
type Request struct {
	// Label of the route in results and reports; unique within the mix.
	Name string `yaml:"name"`
	// Relative weight in the mix (> 0). Default 1.
	Weight float64 `yaml:"weight"`
	// HTTP method. Default GET.
	Method string `yaml:"method"`
	// Path (and query) appended to the target's URL; starts with /. May
	// hold placeholders, as header values and the body may:
	// `{seq}` (the request's sequence number), `{rand:LO-HI}` (a random
	// integer in [LO, HI]), `{tenant}` and `{data:NAME.COLUMN}` (a column
	// of the request's row of `data` NAME).
	Path string `yaml:"path"`
	// Extra request headers (the wire headers X-Request-Id, X-Attempt,
	// X-Timeout-Ms, X-Tenant and X-Priority are always sent).
	Headers map[string]string `yaml:"headers"`
	// Request body, literally. At most one of body, body_file, body_size.
	Body string `yaml:"body"`
	// File whose content is the body, relative to the profile's directory.
	BodyFile string `yaml:"body_file"`
	// Size of a generated body (e.g. `64KiB`).
	BodySize Size `yaml:"body_size"`
	// Sent as X-Priority: `critical` or `sheddable`. Empty: not sent.
	Priority Priority `yaml:"priority"`
}

// DataFile is a CSV file of request data.
type DataFile struct {
	// Name that placeholders call it by: letters, digits, _ and -.
	Name string `yaml:"name"`
	// The CSV file, relative to the profile's directory. Its first row
	// names the columns; every row has as many fields.
	File string `yaml:"file"`
}

// Tenants configures the simulated customers.
type Tenants struct {
	// Number of tenants; 0 sends no X-Tenant header.
	Count int `yaml:"count"`
	// How requests spread over tenants: `uniform`, or `zipf:S` (a few hot
	// tenants; S > 1, larger is more skewed). Default uniform.
	Distribution Distribution `yaml:"distribution"`
}

// Client is the behaviour of the simulated clients; each field matches a
// `loadgen attack` flag of the same name (with - for _).
type Client struct {
	// Per-attempt timeout. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// Overall deadline of a request, retries included, from its intended
	// start. 0: none (each attempt still has its timeout).
	Deadline time.Duration `yaml:"deadline"`
	// Attempts per request, the first included (1 = no retries). Default 1.
	MaxAttempts int `yaml:"max_attempts"`
	// Outcomes that are retried: status codes (`503`), classes (`4xx`,
	// `5xx`), `timeout` and `conn`. Default [429, 5xx, timeout, conn].
	RetryOn []RetryClass `yaml:"retry_on"`
	// Whether a Retry-After answer is honoured (the retry waits at least
	// that long, at most retry_after_max). Default true.
	RetryAfter *bool `yaml:"retry_after"`
	// Cap on a Retry-After wait. Default 10s.
	RetryAfterMax time.Duration `yaml:"retry_after_max"`
	// Backoff between attempts: `none`, `constant` (backoff_base) or
	// `exponential` (min(backoff_max, backoff_base × 2^(attempt−1))).
	// Default exponential.
	Backoff Backoff `yaml:"backoff"`
	// Base backoff delay. Default 50ms.
	BackoffBase time.Duration `yaml:"backoff_base"`
	// Cap on the backoff delay. Default 1s.
	BackoffMax time.Duration `yaml:"backoff_max"`
	// Jitter applied to the backoff b: `none`, `full` (U(0, b)), `equal`
	// (b/2 + U(0, b/2)) or `decorrelated` (min(backoff_max,
	// U(backoff_base, 3 × previous))). Default full.
	Jitter Jitter `yaml:"jitter"`
	// Retry budget: `none`, `token:MAX,RATIO` (gRPC retry throttling: a
	// failure costs 1 token, a success adds RATIO, no retries while tokens
	// ≤ MAX/2), `aws` (the AWS SDK standard retry quota: 500 tokens, retry
	// cost 5, timeout cost 10, refund on success) or
	// `ratio:FRACTION[,MINPERSEC]` (retries ≤ FRACTION of requests plus
	// MINPERSEC per second over a 10 s sliding window). Default none.
	RetryBudget Budget `yaml:"retry_budget"`
	// Client-side adaptive throttling: `none` or `sre:K` (reject locally
	// with probability max(0, (requests − K·accepts)/(requests + 1)), K ≥
	// 1). Default none.
	Throttle Throttle `yaml:"throttle"`
	// Hedging: send a second attempt after this delay (`100ms`) or after
	// the given percentile of recent latencies (`p95`); the first answer
	// wins. Empty: no hedging.
	HedgeAfter Hedge `yaml:"hedge_after"`
	// HTTP connections kept open to the target, at most one request on
	// each (HTTP/1.1); a request finding them all busy waits in the client
	// (the wait is the generator's lag), and while more than 10 ms of the
	// offered rate (and 128 requests) have waited for 100 ms, new requests
	// are recorded as generator_dropped. Default 1000, as `loadgen attack`:
	// enough that requests queue in the service, where its defences see
	// them; a collapsed service holds each for a whole timeout.
	Connections int `yaml:"connections"`
	// Cap on requests in flight; a request due when the cap is reached is
	// recorded as generator_dropped, not delayed. Default 10000.
	MaxInflight int `yaml:"max_inflight"`
	// Use HTTP/2 (h2c for http:// URLs).
	HTTP2 bool `yaml:"http2"`
	// How to speak TLS to https:// targets; by default the system's roots
	// verify each URL's host.
	TLS ClientTLS `yaml:"tls"`
}

// ClientTLS says whom the client trusts, what it presents and which name it
// verifies, as loadgen attack's --cacert, --cert, --key, --server-name and
// --insecure do. Paths are relative to the profile's directory.
type ClientTLS struct {
	// PEM file of the CA certificates that verify the service, in place of
	// the system's roots.
	CAFile string `yaml:"ca_file"`
	// PEM client certificate, for mutual TLS (with key_file).
	CertFile string `yaml:"cert_file"`
	// PEM private key of cert_file.
	KeyFile string `yaml:"key_file"`
	// The name to verify (and send as SNI) in place of each URL's host.
	ServerName string `yaml:"server_name"`
	// Verify nothing: for a test server's self-signed certificate only.
	Insecure bool `yaml:"insecure"`
}

// Phase is one part of the schedule. Exactly one of rate, from/to and
// steps gives its offered load.
type Phase struct {
	// Name of the phase in reports and in `phase(NAME)` assertions; unique.
	Name string `yaml:"name"`
	// How long the phase lasts. Required unless steps is set (then it is
	// computed).
	Duration time.Duration `yaml:"duration"`
	// Constant offered load, new requests per second (`200`, `200/s` or
	// `12000/min`).
	Rate Rate `yaml:"rate"`
	// Start of a linear ramp, requests per second.
	From Rate `yaml:"from"`
	// End of a linear ramp, requests per second.
	To Rate `yaml:"to"`
	// A staircase of constant rates, for finding a tipping point. Each
	// step is a phase of its own in reports, named NAME/1, NAME/2, ….
	Steps *Steps `yaml:"steps"`
}

// Steps is a staircase: rates from, from+by, …, to, each held for every.
type Steps struct {
	// First step's rate, requests per second.
	From Rate `yaml:"from"`
	// Last step's rate, requests per second (≥ from).
	To Rate `yaml:"to"`
	// Increment between steps (> 0).
	By Rate `yaml:"by"`
	// How long each step is held (> 0).
	Every time.Duration `yaml:"every"`
}

// Fault is one disturbance on the timeline, in the form of the fault
// proxy's JSON (package faults' Spec): the same kind names and fields.
// Which fields each kind takes, and where it acts, is in the table of
// fault kinds below.
type Fault struct {
	// Name of the fault in events and reports; unique.
	Name string `yaml:"name"`
	// Fault kind (see the table of fault kinds).
	Kind FaultKind `yaml:"kind"`
	// What it acts on: a dependency of the reference target (`db`,
	// `search`), `target` (the target's own concurrency), `proxy` (a fault
	// proxy that loadgen puts in front of the target and sends the load
	// through), or `load`. Default `load` for surge, burst and retry.
	Target string `yaml:"target"`
	// When the fault is applied, from the run's start.
	At time.Duration `yaml:"at"`
	// How long it lasts. 0: until the run ends (a burst is instant).
	For time.Duration `yaml:"for"`
	// Per-request (or per-call) probability in (0, 1] that the fault acts.
	// Default 1. Below 1 only for abort and reset on a dependency.
	Probability float64 `yaml:"probability"`
	// Only requests whose path starts with this prefix (proxy only).
	Route string `yaml:"route"`
	// Only requests with this method (proxy only).
	Method string `yaml:"method"`
	// Only requests with this header: `Name: value` or `Name` (proxy
	// only).
	Header string `yaml:"header"`
	// Added latency (delay).
	Delay time.Duration `yaml:"delay"`
	// Added random latency U(0, jitter) on top of delay (delay).
	Jitter time.Duration `yaml:"jitter"`
	// Delay the response instead of the request (delay, proxy only).
	Response bool `yaml:"response"`
	// New latency distribution of the dependency (latency).
	Distribution *dist.Latency `yaml:"distribution"`
	// Latency factor (latency) or offered-rate factor (surge), > 0.
	Multiplier float64 `yaml:"multiplier"`
	// Status code answered (abort), 400..599.
	Status int `yaml:"status"`
	// Bandwidth limit of the response (bandwidth), e.g. `16KiB`.
	BytesPerSecond Size `yaml:"bytes_per_second"`
	// The dependency's pool size during a capacity drop (capacity on a
	// dependency).
	Pool int `yaml:"pool"`
	// The target's concurrency limit during a capacity drop (capacity on
	// `target`).
	Concurrency int `yaml:"concurrency"`
	// Extra requests fired at once (burst).
	Requests int `yaml:"requests"`
	// Name of the client policy switched to (retry), from `policies`.
	Policy string `yaml:"policy"`
}

// Survey searches, per surge multiplier, the longest surge after which
// the service recovers: each cell is the baseline for warmup, the baseline
// times a multiplier for a duration, then the baseline for judge, with the
// scenario's clients and requests, classified recovered, slow or
// metastable by the recovery of slo.recovery. Each cell starts from a
// recovered service: a fresh embedded target, or a wait (at most settle)
// until a running one holds its baseline.
type Survey struct {
	// Baseline offered load before and after each surge (required).
	Rate Rate `yaml:"rate"`
	// Surge sizes, multiples of the baseline, each surveyed on its own.
	// Default [3].
	Multipliers []float64 `yaml:"multipliers"`
	// Surge durations searched: MIN and MAX are played first, then the
	// boundary is bisected. Default 1s..30s.
	Durations SurveyDurations `yaml:"durations"`
	// How close the bisection brings the longest surviving and the
	// shortest failed duration. Default 1s.
	Resolution time.Duration `yaml:"resolution"`
	// Baseline before each surge. Default 5s; at least 2s.
	Warmup time.Duration `yaml:"warmup"`
	// Baseline after each surge, over which recovery is judged. Default
	// 15s; at least twice slo.recovery.window.
	Judge time.Duration `yaml:"judge"`
	// A cell recovered later than this after its surge is slow. Default
	// 5s.
	SlowAfter time.Duration `yaml:"slow_after"`
	// With target.url: the longest wait for the baseline to hold before a
	// cell. Default 2m.
	Settle time.Duration `yaml:"settle"`
	// Checks of the boundaries, one a line, e.g. `survive(3x) >= 10s`;
	// prefix one with `variant(NAME).` to check it on that variant only.
	// A failed one makes the run exit 1.
	Assert []SurveyAssertion `yaml:"assert"`
}

// SLO is the service level objective.
type SLO struct {
	// Latency objective: a request succeeded in time when it ended within
	// this of its intended start (goodput). Default: the client's
	// deadline, or its timeout when there is no deadline.
	Latency time.Duration `yaml:"latency"`
	// When a disturbed service counts as recovered.
	Recovery Recovery `yaml:"recovery"`
}

// Recovery says when a disturbed service counts as recovered: from the
// first window where, for `window` in a row, goodput ≥ `goodput` × offered
// and p99 ≤ max(`p99_factor` × baseline p99, slo.latency).
type Recovery struct {
	// How long the service must stay within tolerance. Default 5s.
	Window time.Duration `yaml:"window"`
	// Goodput threshold, a fraction of offered load in (0, 1]. Default
	// 0.95.
	Goodput float64 `yaml:"goodput"`
	// p99 threshold, a factor of the baseline p99 (≥ 1). Default 1.5.
	P99Factor float64 `yaml:"p99_factor"`
}

// Report says which reports are written, and where.
type Report struct {
	// Aggregation window of the time series. Default 1s.
	Window time.Duration `yaml:"window"`
	// Directory for results files (one per variant, `NAME.mpk`) and
	// reports. Default `out`.
	Dir string `yaml:"dir"`
	// Reports written, package report's formats: `text` (on stdout),
	// `json`, `html`, `junit` (one for the play), `csv`, `hgrm`, `hlog`
	// (one per variant, in `dir`). Default [text, html].
	Formats []Format `yaml:"formats"`
	// Path of the HTML report. Default `DIR/report.html`.
	HTML string `yaml:"html"`
	// Path of the JSON report. Default `DIR/report.json`.
	JSON string `yaml:"json"`
	// Path of the JUnit XML file (one test case per assertion). Default
	// `DIR/junit.xml`.
	JUnit string `yaml:"junit"`
}

// Sink configures loadgen's delivery sink, for the async messages route of
// the embedded target (POST /api/messages): its consumers deliver each
// message to the sink, which records how old it was on arrival.
type Sink struct {
	// Start the sink and point the embedded target's deliveries
	// (messages.queue.deliver_to) at it.
	Enabled bool `yaml:"enabled"`
	// How long to wait after the last phase for messages still queued;
	// the ones that have not arrived by then are recorded as undelivered.
	// Default 5s.
	Drain time.Duration `yaml:"drain"`
}

// Variant is a named set of overrides of the scenario.
type Variant struct {
	// Name of the variant: the column in the comparison and the results
	// file's name; unique.
	Name string `yaml:"name"`
	// One line saying what this variant changes.
	Description string `yaml:"description"`
	// Overrides, as `path: value` pairs with paths as for `--set` (e.g.
	// `target.embedded.preset: protected`, `client.retry_budget:
	// token:10,0.1`, `phases.surge.rate: 600`).
	Set Overrides `yaml:"set"`
}
