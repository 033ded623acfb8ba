package report

import (
	"encoding/json"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Summary is what a run's results amount to: the JSON document of
// "loadgen report --format json" and the input of every renderer. Every key
// and its unit is documented in docs/results-json.md; keys are only ever
// added, never renamed.
//
// Rates are per second over DurationS; latencies are milliseconds measured
// from each request's intended start. A Summary is built by
// Aggregator.Summary and is not safe for concurrent mutation; once built,
// concurrent reads are safe.
type Summary struct {
	Label   string    `json:"label"`            // the run's (or variant's) name from the header
	Title   string    `json:"title,omitempty"`  // the report's title (loadgen report --title); absent when none
	Tool    string    `json:"tool"`             // the tool that wrote the results
	Hosts   []string  `json:"hosts"`            // generator hosts, one per shard, sorted and deduplicated
	Start   time.Time `json:"start"`            // wall-clock start of the run (RFC 3339)
	Seed    uint64    `json:"seed"`             // seed of every random choice of the run
	Shards  int       `json:"shards"`           // number of generator shards merged
	Files   int       `json:"files"`            // number of results streams read
	SLOMs   float64   `json:"slo_ms"`           // latency objective goodput is measured against; 0 = none
	WindowS float64   `json:"window_s"`         // width of each entry of Windows
	Records int64     `json:"records"`          // records read (attempts, drops and events)
	Events  int64     `json:"events"`           // event records read
	Routes  []string  `json:"routes,omitempty"` // route labels seen, sorted (at most 100)
	// ByRoute holds each route's figures, keyed by route label (the
	// routes past the first 100 together as "(other)"); absent when the
	// records carry no route.
	ByRoute map[string]RouteStats `json:"by_route,omitempty"`
	// Interrupted is set when the run was interrupted (an interrupted
	// event was recorded).
	Interrupted bool `json:"interrupted"`
	// Complete is false when a results stream read was incomplete (no
	// end-of-run trailer: the writer was killed; a version 1 file; cut;
	// counts that disagree; a merge of such a stream) or damaged; the
	// warnings say which and where.
	Complete bool `json:"complete"`
	// DamagedBlocks counts the blocks of the streams read that failed their
	// checksum or were missing: their records are not in these figures.
	DamagedBlocks int `json:"damaged_blocks"`
	// Scenario is the resolved scenario from the header, when it is JSON.
	Scenario json.RawMessage `json:"scenario,omitempty"`

	DurationS     float64 `json:"duration_s"`     // length of the schedule (see docs)
	Requests      int64   `json:"requests"`       // requests (one final record each), including dropped ones
	Attempts      int64   `json:"attempts"`       // HTTP attempts made (retries included; drops excluded)
	OfferedRPS    float64 `json:"offered_rps"`    // Requests ÷ DurationS
	ThroughputRPS float64 `json:"throughput_rps"` // attempts answered with an HTTP status ÷ DurationS
	GoodputRPS    float64 `json:"goodput_rps"`    // requests ok within the SLO ÷ DurationS
	GoodputRatio  float64 `json:"goodput_ratio"`  // GoodputRPS ÷ OfferedRPS; 0 when nothing was offered
	LateRPS       float64 `json:"late_rps"`       // requests ok after the SLO ÷ DurationS
	LateRatio     float64 `json:"late_ratio"`     // LateRPS ÷ OfferedRPS; 0 when nothing was offered
	Amplification float64 `json:"amplification"`  // Attempts ÷ Requests; 0 when there were no requests
	ShedRatio     float64 `json:"shed_ratio"`     // shed attempts ÷ Attempts

	Outcomes        map[string]int64 `json:"outcomes"`         // requests by final outcome (every class present)
	AttemptOutcomes map[string]int64 `json:"attempt_outcomes"` // attempts by outcome (every class present)
	StatusCodes     map[string]int64 `json:"status_codes"`     // attempts by HTTP status (answered attempts only)

	Latency      Latency         `json:"latency_ms"`                 // successful requests, from intended start
	Generator    Generator       `json:"generator"`                  // how well the generator kept its schedule
	ServerTiming *ServerTimingMs `json:"server_timing_ms,omitempty"` // mean Server-Timing breakdown, when the service sent one
	// Delivery summarises async messages, from a delivery sink's records;
	// nil when the run had none.
	Delivery *Delivery `json:"delivery,omitempty"`
	// ColdStarts counts the attempts that paid for a cold start (the
	// service's Server-Timing had an init entry); nil when none did.
	ColdStarts *ColdStarts `json:"cold_starts,omitempty"`
	// LatencyWarm and LatencyCold are the attempt latencies (attempt start
	// to end) of warm and of cold attempts the service ran; only when
	// ColdStarts is set (LatencyWarm also needs a warm attempt).
	LatencyWarm *AttemptLatency `json:"latency_warm_ms,omitempty"`
	LatencyCold *AttemptLatency `json:"latency_cold_ms,omitempty"`
	// Throttles counts throttled attempts by the service's reason
	// (X-Throttle-Reason: api, account, reserved, scaling, …; beyond 16
	// reasons, "other"); nil when no attempt carried one.
	Throttles map[string]int64 `json:"throttles,omitempty"`
	// Errors counts failed attempts by error message (results.Result.Error)
	// and outcome class, most frequent first: at most 20 entries, then one
	// "other" entry for the rest. Absent when no attempt recorded an error
	// (and for results files written before error text).
	Errors []ErrorCount `json:"errors,omitempty"`

	Windows      []Window      `json:"windows"`      // the run in windows of WindowS seconds
	Phases       []PhaseStats  `json:"phases"`       // one entry per schedule phase in the header
	Disturbances []Disturbance `json:"disturbances"` // fault windows, from fault_applied/fault_removed events
	TopTenants   TopTenants    `json:"top_tenants"`  // the heaviest and the most failing tenants
	Warnings     []string      `json:"warnings"`     // what makes these figures less trustworthy

	// Slowest traces the run's slowest requests (by latency from intended
	// start, any outcome), slowest first: each with its attempts on one
	// timeline. Options.Slowest sets how many (default 10).
	Slowest []SlowRequest `json:"slowest"`

	// Recovery is set by AnalyzeRecovery when the run had disturbances.
	Recovery *Recovery `json:"recovery,omitempty"`
	// TippingPoint is set by AnalyzeTippingPoint for stepped ramps.
	TippingPoint *TippingPoint `json:"tipping_point,omitempty"`
	// Assertions are the verdicts of the run's assertions, when it had any.
	Assertions []Verdict `json:"assertions,omitempty"`

	latency *hdr.Histogram // successful requests' latency from intended start, µs
}

// LatencyHistogram returns the HdrHistogram (microseconds, 3 significant
// digits) of the run's successful requests' latency from intended start,
// or nil for a Summary that was not built by an Aggregator. Callers must
// not modify it.
func (s *Summary) LatencyHistogram() *hdr.Histogram { return s.latency }

// Latency is a latency distribution in milliseconds: percentiles from an
// HdrHistogram with 3 significant digits (values are accurate to 0.1%).
// All fields are 0 when there was no sample.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Generator says how well the generator kept to its schedule.
type Generator struct {
	// LagP99Ms is the p99 of first attempts' start − intended start, ms.
	LagP99Ms float64 `json:"lag_p99_ms"`
	// LagMaxMs is the largest such lag, ms.
	LagMaxMs float64 `json:"lag_max_ms"`
	// Dropped counts requests the generator could not send on time
	// (outcome generator_dropped): its in-flight cap was reached, or its
	// backlog of requests not yet sent stayed too deep.
	Dropped int64 `json:"dropped"`
}

// ServerTimingMs is the mean of the service's Server-Timing breakdown over
// the attempts that carried one, in milliseconds.
type ServerTimingMs struct {
	Attempts int64   `json:"attempts"`       // attempts with a Server-Timing header
	Queue    float64 `json:"queue"`          // mean queue wait
	App      float64 `json:"app"`            // mean time in the service's own work
	Dep      float64 `json:"dep"`            // mean time in dependencies
	Init     float64 `json:"init,omitempty"` // mean cold-start initialisation (0 for warm attempts); absent when no attempt was cold
}

// Window is one slice of the run, Summary.WindowS wide. A request counts in
// the window of its intended start (offered, goodput, request outcomes,
// latency, amplification); an attempt counts as started in the window of
// its start and as answered (throughput, attempt outcomes, status) in the
// window of its end. Rates are per second.
type Window struct {
	StartS          float64          `json:"start_s"`          // window start, seconds from the run's start
	Requests        int64            `json:"requests"`         // requests whose intended start falls here
	Attempts        int64            `json:"attempts"`         // attempts started here
	OfferedRPS      float64          `json:"offered_rps"`      // Requests ÷ window width
	ThroughputRPS   float64          `json:"throughput_rps"`   // attempts answered (HTTP status) here ÷ width
	GoodputRPS      float64          `json:"goodput_rps"`      // requests of this window ok within the SLO ÷ width
	GoodputRatio    float64          `json:"goodput_ratio"`    // GoodputRPS ÷ OfferedRPS; 1 when nothing was offered
	LateRPS         float64          `json:"late_rps"`         // requests of this window ok after the SLO ÷ width
	LateRatio       float64          `json:"late_ratio"`       // LateRPS ÷ OfferedRPS; 0 when nothing was offered
	Outcomes        map[string]int64 `json:"outcomes"`         // requests of this window by final outcome (non-zero classes only)
	AttemptOutcomes map[string]int64 `json:"attempt_outcomes"` // attempts that ended here by outcome (non-zero classes only)
	Latency         Latency          `json:"latency_ms"`       // this window's own histogram
	InFlightMean    float64          `json:"inflight_mean"`    // time-averaged attempts in flight
	Amplification   float64          `json:"amplification"`    // Attempts ÷ Requests; 0 when no requests
	LagP99Ms        float64          `json:"lag_p99_ms"`       // generator lag p99 of first attempts started here
	// GeneratorLimited is true when LagP99Ms exceeds the larger of 5 ms
	// and 10% of the SLO (GeneratorLimitedLag): the generator, not the
	// service, set this window's pace, so its latencies include the
	// generator's own lag. Nothing is dropped; the flag is information.
	GeneratorLimited bool            `json:"generator_limited,omitempty"`
	ServerTiming     *ServerTimingMs `json:"server_timing_ms,omitempty"` // over attempts that ended here
	// TopTenants lists the window's three heaviest tenants by attempts
	// started in it and by failed attempts that ended in it; nil when no
	// attempt carried a tenant. Counts come from an 8-entry Space-Saving
	// sketch: exact for windows with at most 8 tenants.
	TopTenants *TopTenants `json:"top_tenants,omitempty"`
	// LittleRatio is InFlightMean ÷ (completed attempts per second × mean
	// attempt duration in seconds), over attempts that ended in this
	// window; ≈ 1 for an honest measurement, 0 when nothing completed.
	LittleRatio float64 `json:"little_ratio"`
	// Concurrency is the CloudWatch estimate of concurrent executions:
	// the mean duration of the attempts that ended in this window × how
	// many ended per second (Σ their durations ÷ window width).
	Concurrency float64 `json:"concurrency"`
	// ColdRatio is cold attempts ÷ attempts the service ran (answered,
	// not shed), of the attempts started here; absent when none was cold.
	ColdRatio float64 `json:"cold_ratio,omitempty"`
	// Delivered counts the async messages of this window's requests that
	// were delivered, and DeliveryAgeP99Ms is the p99 of their age at
	// delivery; both 0 (absent) when none.
	Delivered        int64   `json:"delivered,omitempty"`
	DeliveryAgeP99Ms float64 `json:"delivery_age_p99_ms,omitempty"`
	// ByRoute holds each route's requests of this window, keyed by route
	// label, for the routes with a request here: the first MaxRouteSeries
	// routes of the run apart, later ones together as OtherRouteSeries.
	// Absent when the run had fewer than two routes.
	ByRoute map[string]RouteWindow `json:"by_route,omitempty"`

	latency *hdr.PackedHistogram
}

// LatencyHistogram returns the window's HdrHistogram of successful
// requests' latency (microseconds, 3 significant digits), nil when the
// window has none. Callers must not modify it.
func (w *Window) LatencyHistogram() *hdr.PackedHistogram { return w.latency }

// Start returns the window's start from the run's start.
func (w *Window) Start() time.Duration { return time.Duration(w.StartS * float64(time.Second)) }

// PhaseStats summarises one schedule phase. Requests (and their attempts)
// count in the phase their results.Result.Phase names.
type PhaseStats struct {
	Name            string           `json:"name"`
	StartS          float64          `json:"start_s"`
	DurationS       float64          `json:"duration_s"`
	FromRPS         float64          `json:"from_rps"` // configured offered rate at the phase's start
	ToRPS           float64          `json:"to_rps"`   // configured offered rate at its end
	Requests        int64            `json:"requests"`
	Attempts        int64            `json:"attempts"`
	OfferedRPS      float64          `json:"offered_rps"`
	ThroughputRPS   float64          `json:"throughput_rps"`
	GoodputRPS      float64          `json:"goodput_rps"`
	GoodputRatio    float64          `json:"goodput_ratio"`
	LateRPS         float64          `json:"late_rps"`   // requests ok after the SLO ÷ DurationS
	LateRatio       float64          `json:"late_ratio"` // LateRPS ÷ OfferedRPS
	Amplification   float64          `json:"amplification"`
	ShedRatio       float64          `json:"shed_ratio"`
	Outcomes        map[string]int64 `json:"outcomes"`
	AttemptOutcomes map[string]int64 `json:"attempt_outcomes"`
	Latency         Latency          `json:"latency_ms"`
	Generator       Generator        `json:"generator"`
	// DeliveryAgeMs is the age at delivery of the async messages of this
	// phase's requests; nil when none was delivered.
	DeliveryAgeMs *Latency `json:"delivery_age_ms,omitempty"`
	// ColdRatio is cold attempts ÷ attempts the service ran (answered, not
	// shed) of this phase; absent when none was cold.
	ColdRatio float64 `json:"cold_ratio,omitempty"`
	// ByRoute holds each route's share of this phase, keyed by route
	// label, for the routes with a request or attempt in it: the first
	// MaxRouteSeries routes of the run apart, later ones together as
	// OtherRouteSeries. Absent when the records carry no route.
	ByRoute map[string]RoutePhase `json:"by_route,omitempty"`
}

// Disturbance is a fault window of the run, from a fault_applied event to
// the matching fault_removed event (same name and target).
type Disturbance struct {
	Name   string  `json:"name"`
	Target string  `json:"target"`
	StartS float64 `json:"start_s"`
	// EndS is when the fault was removed; the run's end when it never was
	// (then Removed is false).
	EndS    float64 `json:"end_s"`
	Removed bool    `json:"removed"`
}

// TopTenants lists the tenants with the most attempts and with the most
// failed attempts (any outcome but ok), at most ten each, heaviest first.
// Counts come from a bounded Space-Saving sketch: exact when the run has
// fewer tenants than the sketch's capacity, otherwise an upper bound.
type TopTenants struct {
	ByAttempts []TenantCount `json:"by_attempts"`
	ByFailures []TenantCount `json:"by_failures"`
}

// TenantCount is one tenant and its count.
type TenantCount struct {
	Tenant string `json:"tenant"`
	Count  int64  `json:"count"`
}
