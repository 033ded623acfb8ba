package results

import (
	"fmt"
	"time"
)

// FormatVersion is the version of the results stream written by this
// package. Readers refuse streams with a newer major version.
const FormatVersion = 2

// Outcome is the class of an attempt's (or a request's) result. The zero
// value is OutcomeOK.
type Outcome uint8

// Outcome classes. The order is part of the stream format: append only.
const (
	OutcomeOK               Outcome = iota // 2xx/3xx answer
	OutcomeShed                            // 429 or 503: rejected cheaply by the service
	OutcomeClientError                     // other 4xx
	OutcomeServerError                     // other 5xx
	OutcomeClientTimeout                   // the client gave up (attempt timeout or request deadline)
	OutcomeConnError                       // dial, reset, refused, EOF before an answer
	OutcomeGeneratorDropped                // not sent: the generator could not send it on time (in-flight cap, backlog)
	OutcomeBudgetExhausted                 // a retry was wanted but the retry budget refused it
	OutcomeClientThrottled                 // rejected locally by client-side adaptive throttling
	OutcomeCanceled                        // the run was interrupted while the attempt was in flight
	OutcomeDelivered                       // an async message reached the delivery sink
	OutcomeExpired                         // an async message was dropped by its TTL
	OutcomeDeadLettered                    // an async message went to the dead-letter queue
	OutcomeUndelivered                     // an async message never arrived before the run ended
	NumOutcomes                            // the number of outcome classes this version knows
)

var outcomeNames = [NumOutcomes]string{
	OutcomeOK:               "ok",
	OutcomeShed:             "shed",
	OutcomeClientError:      "client_error",
	OutcomeServerError:      "server_error",
	OutcomeClientTimeout:    "client_timeout",
	OutcomeConnError:        "conn_error",
	OutcomeGeneratorDropped: "generator_dropped",
	OutcomeBudgetExhausted:  "budget_exhausted",
	OutcomeClientThrottled:  "client_throttled",
	OutcomeCanceled:         "canceled",
	OutcomeDelivered:        "delivered",
	OutcomeExpired:          "expired",
	OutcomeDeadLettered:     "dead_lettered",
	OutcomeUndelivered:      "undelivered",
}

// String returns the outcome's name as used in reports, flags and JSON.
func (o Outcome) String() string {
	if o < NumOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Valid reports whether o is a known outcome class.
func (o Outcome) Valid() bool { return o < NumOutcomes }

// Outcomes returns every outcome class in stream order.
func Outcomes() []Outcome {
	out := make([]Outcome, NumOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// ParseOutcome returns the outcome named s (as printed by String).
func ParseOutcome(s string) (Outcome, error) {
	for i, name := range outcomeNames {
		if name == s {
			return Outcome(i), nil
		}
	}
	return 0, fmt.Errorf("unknown outcome %q (valid: %v)", s, outcomeNames)
}

// Result is one attempt: one HTTP exchange of a request, or, for async
// routes, one delivery observed by the sink. All instants are offsets from
// the run's start (Header.Start), so records from shards that started
// together merge by plain addition.
//
// A request's outcome is the outcome of its record with Final set: the
// generator sets Final on exactly one record per request (the last attempt,
// or the winning one when hedging). Requests that were never started
// (generator_dropped, client_throttled) have one Final record with
// Attempt 0 and Start == End == Intended.
type Result struct {
	RequestID uint64        // the request's id, the same on every attempt; unique within a run (and across shards)
	Attempt   uint16        // 1 for the first try, 2 for the first retry, …; 0 when no attempt was made
	Phase     uint16        // index of the schedule phase the request's intended start falls in
	Final     bool          // this record decides the request's outcome
	Route     string        // route or endpoint label (request template name)
	Tenant    string        // simulated customer; empty when tenants are not used
	Intended  time.Duration // when the schedule said the request starts
	Start     time.Duration // when this attempt was sent (after any wait for a busy pooled connection: that wait is lag)
	End       time.Duration // when this attempt's answer (or failure) was known
	Status    uint16        // HTTP status; 0 when there was no answer
	Outcome   Outcome
	BytesOut  uint32        // request bytes sent (body)
	BytesIn   uint32        // response bytes received (body)
	Timing    ServerTiming  // the service's own breakdown, from Server-Timing; zero when absent
	Age       time.Duration // async deliveries only: delivery time − enqueue time at the service
	// Throttle is why the service throttled this attempt, from its
	// X-Throttle-Reason header (e.g. "api", "account", "reserved",
	// "scaling" from the reference target's function platform); empty when
	// absent. Writers keep it short (see MaxThrottleLen).
	Throttle string
	// Error is why a failed attempt failed, normalized to a message
	// without per-request detail (e.g. "connection refused", "timeout",
	// "x509: certificate signed by unknown authority"); empty when the
	// attempt got an answer. A stream stores each distinct message once
	// (at most MaxErrors of them, then OtherError) and each record an
	// index into them; a Reader returns one shared string per message.
	Error string
}

// MaxErrors bounds the distinct error messages of one stream: a Writer
// records later new messages as OtherError.
const MaxErrors = 1000

// OtherError stands for every error message past the first MaxErrors of
// a stream (and, in reports, past the ones listed).
const OtherError = "other"

// MaxErrorLen bounds an error message in bytes: a Writer cuts longer ones.
const MaxErrorLen = 200

// MaxThrottleLen bounds Result.Throttle in bytes: a longer reason is cut
// by whoever records it, so that one odd service cannot bloat a stream.
const MaxThrottleLen = 32

// Cold reports whether the service said this attempt paid for a cold
// start: its Server-Timing carried an init duration.
func (r *Result) Cold() bool { return r.Timing.Init > 0 }

// Latency is the time from the request's intended start to the end of
// this attempt: what the user felt, including any generator lag and the
// attempts before it.
func (r *Result) Latency() time.Duration { return r.End - r.Intended }

// AttemptLatency is the time from this attempt's start to its end.
func (r *Result) AttemptLatency() time.Duration { return r.End - r.Start }

// Lag is how late the generator started this attempt relative to the
// schedule (meaningful for attempt 1 only).
func (r *Result) Lag() time.Duration { return r.Start - r.Intended }

// ServerTiming is the service's timing breakdown of one attempt, parsed
// from its Server-Timing header: queue wait, its own work, time spent in
// dependencies (the sum of all other entries) and, for a cold start on a
// function platform, the environment's initialisation.
type ServerTiming struct {
	Queue time.Duration
	App   time.Duration
	Dep   time.Duration
	// Init is the cold start's initialisation ("init" entry); 0 for a
	// warm attempt.
	Init time.Duration
}

// EventKind classifies an Event.
type EventKind uint8

// Event kinds. The order is part of the stream format: append only.
const (
	EventFaultApplied EventKind = iota // a fault took effect
	EventFaultRemoved                  // a fault was removed (on schedule or by rollback)
	EventFaultFailed                   // applying or removing a fault failed
	EventPhaseStarted                  // a schedule phase began
	EventInterrupted                   // the run was interrupted (SIGINT/SIGTERM, error)
	EventNote                          // free-form annotation
	numEventKinds
)

var eventKindNames = [numEventKinds]string{
	EventFaultApplied: "fault_applied",
	EventFaultRemoved: "fault_removed",
	EventFaultFailed:  "fault_failed",
	EventPhaseStarted: "phase_started",
	EventInterrupted:  "interrupted",
	EventNote:         "note",
}

// String returns the kind's name as used in reports and JSON.
func (k EventKind) String() string {
	if k < numEventKinds {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// NoteRampStopped names the EventNote a stepped ramp records when it stops
// early, past the knee: the run ends there, and reports compute the
// run's rates over the schedule up to it, not over the steps never run.
const NoteRampStopped = "ramp-stopped"

// Event is something that happened to the run rather than to one request:
// a fault applied or removed, a phase boundary, an interruption. Reports use
// fault and surge events to shade disturbance windows and to measure
// recovery from the real end of each disturbance.
type Event struct {
	Kind      EventKind
	At        time.Duration // when it actually happened, from the run's start
	Scheduled time.Duration // when it was meant to happen (At − Scheduled is the lateness)
	Name      string        // fault or phase name
	Target    string        // what it acted on: a dependency, a proxy, "load"
	Detail    string        // human-readable description or error text
}

// Header opens a results stream: what was run, when, where and by whom.
type Header struct {
	Version  int       // FormatVersion of the writer
	Tool     string    // tool name and version, e.g. "goodput/loadgen v0.1.0"
	Host     string    // hostname of the generator
	Start    time.Time // wall-clock instant of the run's start (offset 0 of every record)
	Seed     uint64    // the seed of every random choice of the run
	Label    string    // the run's (or variant's) name, used as a column in comparisons
	Scenario []byte    // the resolved scenario, as JSON; reports show it, merge compares it
	// SLO is the latency objective goodput is measured against, and the
	// default for reports; typically the client's request deadline.
	SLO time.Duration
	// Phases names the schedule's phases in order (Result.Phase indexes it).
	Phases []PhaseInfo
	// Shard identifies this generator among the shards of one run:
	// Index in [0, Count). Count is 1 for an unsharded run.
	Shard ShardInfo
	// Merged lists the shard indexes a merged stream holds (written by
	// loadgen merge, sorted); nil for one generator's stream.
	Merged []int
}

// PhaseInfo describes one schedule phase for reports.
type PhaseInfo struct {
	Name     string
	Offset   time.Duration // start, from the run's start
	Duration time.Duration
	FromRPS  float64 // offered rate at the phase's start
	ToRPS    float64 // offered rate at the phase's end (== FromRPS when constant)
}

// ShardInfo places one generator within a sharded run.
type ShardInfo struct {
	Index       int
	Count       int
	ClockOffset time.Duration // estimated offset of this shard's clock from the agreed start, when known
}
