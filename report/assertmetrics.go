package report

import (
	"math"
	"strconv"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// Unit says how a metric's value is read, written and compared.
type Unit uint8

// Units of metrics. Durations are held in Figures as seconds.
const (
	UnitCount    Unit = iota // a plain number of things
	UnitRatio                // a fraction, 0..1 (also written as a percentage)
	UnitRate                 // per second
	UnitDuration             // seconds in Figures; written as a Go duration
	UnitBool                 // 0 or 1 in Figures; written true/false
)

// String names the unit as docs and JSON show it.
func (u Unit) String() string {
	switch u {
	case UnitRatio:
		return "ratio"
	case UnitRate:
		return "rps"
	case UnitDuration:
		return "duration"
	case UnitBool:
		return "bool"
	}
	return "count"
}

// Better says which direction of a metric is an improvement.
type Better int8

// Directions of improvement.
const (
	BetterNeither Better = 0
	BetterLower   Better = -1
	BetterHigher  Better = 1
)

// Metric is a named scalar figure of a run or of one of its phases, as
// assertions and comparisons use it.
type Metric struct {
	Name   string
	Unit   Unit
	Better Better
	// RunOnly is set for metrics of the whole run that a phase does not
	// have (recovery, tipping point).
	RunOnly bool
	Help    string
	// zeroIsNone is set for metrics whose 0 in every run says only that
	// the runs had none of the thing (cold_ratio of runs without a cold
	// start): comparisons leave such a row out.
	zeroIsNone bool
}

// metricList is every metric, in the order comparisons list them. It is
// never modified.
var metricList = []Metric{
	{Name: "goodput_ratio", Unit: UnitRatio, Better: BetterHigher, Help: "requests that succeeded within the SLO ÷ requests offered"},
	{Name: "goodput_rps", Unit: UnitRate, Better: BetterHigher, Help: "requests per second that succeeded within the SLO"},
	{Name: "late_ratio", Unit: UnitRatio, Better: BetterLower, Help: "requests that succeeded after the SLO ÷ requests offered (neither goodput nor failed)"},
	{Name: "late_rps", Unit: UnitRate, Better: BetterLower, Help: "requests per second that succeeded after the SLO"},
	{Name: "offered_rps", Unit: UnitRate, Help: "new requests per second the schedule emitted"},
	{Name: "throughput_rps", Unit: UnitRate, Help: "attempts per second the service answered"},
	{Name: "requests", Unit: UnitCount, Help: "requests offered"},
	{Name: "attempts", Unit: UnitCount, Help: "attempts made (requests + retries + hedges)"},
	{Name: "p50", Unit: UnitDuration, Better: BetterLower, Help: "median latency of successful requests, from intended start"},
	{Name: "p90", Unit: UnitDuration, Better: BetterLower, Help: "90th percentile latency"},
	{Name: "p99", Unit: UnitDuration, Better: BetterLower, Help: "99th percentile latency"},
	{Name: "p999", Unit: UnitDuration, Better: BetterLower, Help: "99.9th percentile latency"},
	{Name: "max", Unit: UnitDuration, Better: BetterLower, Help: "maximum latency"},
	{Name: "mean", Unit: UnitDuration, Better: BetterLower, Help: "mean latency"},
	{Name: "ok_ratio", Unit: UnitRatio, Better: BetterHigher, Help: "requests whose final outcome was ok ÷ requests"},
	{Name: "shed_ratio", Unit: UnitRatio, Help: "attempts shed by the service (429/503) ÷ attempts (shedding is a defence: goodput, not shed, says which run did better)"},
	{Name: "error_ratio", Unit: UnitRatio, Better: BetterLower, Help: "requests that did not end ok ÷ requests"},
	{Name: "timeout_ratio", Unit: UnitRatio, Better: BetterLower, Help: "attempts the client gave up on ÷ attempts"},
	{Name: "retries", Unit: UnitCount, Better: BetterLower, Help: "attempts beyond the first of each request"},
	{Name: "amplification", Unit: UnitRatio, Better: BetterLower, Help: "attempts ÷ requests (1 = no retries)"},
	{Name: "wasted_work", Unit: UnitCount, Better: BetterLower, Help: "work the target finished for clients that had given up (when it reports it)"},
	{Name: "dropped", Unit: UnitCount, Better: BetterLower, Help: "requests the generator could not send on time (generator_dropped: its in-flight cap, or a backlog it could not send)"},
	{Name: "lag_p99", Unit: UnitDuration, Better: BetterLower, Help: "p99 of attempt start − intended start (generator lag)"},
	{Name: "delivery_age_p50", Unit: UnitDuration, Better: BetterLower, Help: "median age of async messages at delivery (delivery − enqueue, by the service's clock)"},
	{Name: "delivery_age_p99", Unit: UnitDuration, Better: BetterLower, Help: "99th percentile age of async messages at delivery"},
	{Name: "delivery_age_max", Unit: UnitDuration, Better: BetterLower, Help: "oldest async message at delivery"},
	{Name: "delivered", Unit: UnitCount, RunOnly: true, Help: "async messages that reached the delivery sink"},
	{Name: "expired", Unit: UnitCount, Better: BetterLower, RunOnly: true, Help: "async messages dropped by the service's TTL"},
	{Name: "dead_lettered", Unit: UnitCount, RunOnly: true, Help: "async messages moved to the dead-letter queue"},
	{Name: "undelivered", Unit: UnitCount, Better: BetterLower, RunOnly: true, Help: "accepted async messages that never arrived before the run and its drain grace ended"},
	{Name: "drain_time", Unit: UnitDuration, Better: BetterLower, RunOnly: true, Help: "from the end of the load to the last async delivery; not measured when messages were left undelivered (the backlog did not drain)"},
	{Name: "cold_ratio", Unit: UnitRatio, Better: BetterLower, Help: "attempts that paid for a cold start (Server-Timing init) ÷ attempts the service ran (answered, not shed)", zeroIsNone: true},
	{Name: "recovered", Unit: UnitBool, Better: BetterHigher, RunOnly: true, Help: "the service recovered from every disturbance"},
	{Name: "recovery_time", Unit: UnitDuration, Better: BetterLower, RunOnly: true, Help: "longest time from a disturbance's end to sustained recovery"},
	{Name: "metastable", Unit: UnitBool, Better: BetterLower, RunOnly: true, Help: "the trigger ended but the service stayed collapsed until the end"},
	{Name: "tipping_point", Unit: UnitRate, Better: BetterHigher, RunOnly: true, Help: "highest offered rate with goodput ≥ 99% of offered and p99 ≤ SLO (ramps)"},
}

// Metrics returns every metric assertions and comparisons know, in
// comparison order. The slice is a copy.
func Metrics() []Metric { return append([]Metric(nil), metricList...) }

// LookupMetric returns the metric called name.
func LookupMetric(name string) (Metric, bool) {
	for _, m := range metricList {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Figures holds the value of each metric measured for one run or phase,
// by metric name. Durations are in seconds, booleans 0 or 1. A metric
// that was not measured (no disturbance, not a ramp, not reported by the
// target) is absent. The zero value (nil) is an empty set, safe to read.
type Figures map[string]float64

// SetDuration records a duration metric.
func (f Figures) SetDuration(name string, d time.Duration) { f[name] = d.Seconds() }

// SetBool records a boolean metric.
func (f Figures) SetBool(name string, b bool) {
	f[name] = 0
	if b {
		f[name] = 1
	}
}

// Format writes value v of metric m for people: durations as Go
// durations rounded to 3 significant digits, ratios as percentages,
// booleans as true/false.
func (m Metric) Format(v float64) string {
	switch m.Unit {
	case UnitDuration:
		return formatSeconds(v)
	case UnitRatio:
		if m.Name == "amplification" {
			return strconv.FormatFloat(v, 'f', 3, 64) + "×"
		}
		return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
	case UnitBool:
		return strconv.FormatBool(v != 0)
	case UnitRate:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatSeconds writes s seconds as a Go duration rounded to 3
// significant digits.
func formatSeconds(s float64) string {
	d := durFromS(s)
	step := time.Duration(1)
	for mag := d.Abs(); mag >= 1000; mag /= 10 {
		step *= 10
	}
	return d.Round(step).String()
}

// FiguresOf returns the metrics of the whole run s: its totals, latency
// percentiles, outcome ratios, and, when analysed, recovery and tipping
// point. recovery_time is left out when the service did not recover;
// cold_ratio when the service sent no Server-Timing (it could not say
// whether an attempt was cold).
// Delivery metrics are present only when the run had async records (a
// delivery sink's): the ages only when a message was delivered, and
// drain_time only when none was left undelivered.
func FiguresOf(s *Summary) Figures {
	f := Figures{
		"goodput_ratio":  s.GoodputRatio,
		"goodput_rps":    s.GoodputRPS,
		"late_ratio":     s.LateRatio,
		"late_rps":       s.LateRPS,
		"offered_rps":    s.OfferedRPS,
		"throughput_rps": s.ThroughputRPS,
		"requests":       float64(s.Requests),
		"attempts":       float64(s.Attempts),
		"shed_ratio":     s.ShedRatio,
		"amplification":  s.Amplification,
		"dropped":        float64(s.Generator.Dropped),
	}
	f.SetDuration("lag_p99", durFromMs(s.Generator.LagP99Ms))
	if s.ServerTiming != nil {
		f["cold_ratio"] = 0
		if c := s.ColdStarts; c != nil {
			f["cold_ratio"] = c.Ratio
		}
	}
	f.setLatency(s.Latency, s.Outcomes[results.OutcomeOK.String()])
	f.setOutcomes(s.Requests, s.Attempts, s.Outcomes, s.AttemptOutcomes)
	if r := s.Recovery; r != nil {
		f.SetBool("recovered", r.Recovered)
		f.SetBool("metastable", r.Metastable)
		if r.Recovered {
			f["recovery_time"] = r.RecoveryTimeS
		}
	}
	if tp := s.TippingPoint; tp != nil && tp.Found {
		f["tipping_point"] = tp.OfferedRPS
	}
	if d := s.Delivery; d != nil {
		f["delivered"] = float64(d.Delivered)
		f["expired"] = float64(d.Expired)
		f["dead_lettered"] = float64(d.DeadLettered)
		f["undelivered"] = float64(d.Undelivered)
		if d.Undelivered == 0 {
			f["drain_time"] = d.DrainS
		}
		if d.Delivered > 0 {
			f.setDeliveryAge(d.AgeMs)
		}
	}
	return f
}

// PhaseFigures returns the metrics of each phase of s, by phase name (the
// first phase of a name wins when names repeat). A phase has the delivery
// ages of its requests' messages when one was delivered; the delivery
// counts and drain_time are of the whole run only.
func PhaseFigures(s *Summary) map[string]Figures {
	out := make(map[string]Figures, len(s.Phases))
	for _, p := range s.Phases {
		if _, dup := out[p.Name]; dup {
			continue
		}
		f := Figures{
			"goodput_ratio":  p.GoodputRatio,
			"goodput_rps":    p.GoodputRPS,
			"late_ratio":     p.LateRatio,
			"late_rps":       p.LateRPS,
			"offered_rps":    p.OfferedRPS,
			"throughput_rps": p.ThroughputRPS,
			"requests":       float64(p.Requests),
			"attempts":       float64(p.Attempts),
			"shed_ratio":     p.ShedRatio,
			"amplification":  p.Amplification,
			"dropped":        float64(p.Generator.Dropped),
		}
		f.SetDuration("lag_p99", durFromMs(p.Generator.LagP99Ms))
		if s.ServerTiming != nil {
			f["cold_ratio"] = p.ColdRatio
		}
		f.setLatency(p.Latency, p.Outcomes[results.OutcomeOK.String()])
		f.setOutcomes(p.Requests, p.Attempts, p.Outcomes, p.AttemptOutcomes)
		if p.DeliveryAgeMs != nil {
			f.setDeliveryAge(*p.DeliveryAgeMs)
		}
		out[p.Name] = f
	}
	return out
}

// RouteFigures returns the metrics of each route of s, by route label:
// its counts, rates, latency percentiles and outcome ratios (the attempt
// outcome ratios, such as timeout_ratio, are of the whole run only).
func RouteFigures(s *Summary) map[string]Figures {
	out := make(map[string]Figures, len(s.ByRoute))
	for name, r := range s.ByRoute {
		out[name] = routeFigures(r.Requests, r.Attempts, r.GoodputRatio, r.GoodputRPS, r.LateRatio, r.LateRPS, r.Latency, r.Outcomes)
	}
	return out
}

// PhaseRouteFigures returns the metrics of each route within each phase
// of s, by phase name (the first phase of a name wins) then route label:
// the metrics RouteFigures has, over the phase's requests of that route.
// Only the first MaxRouteSeries routes of a run are measured per phase,
// the others together as OtherRouteSeries; a route that made no request
// or attempt in a phase is absent from it.
func PhaseRouteFigures(s *Summary) map[string]map[string]Figures {
	out := make(map[string]map[string]Figures, len(s.Phases))
	for _, p := range s.Phases {
		if _, dup := out[p.Name]; dup {
			continue
		}
		routes := make(map[string]Figures, len(p.ByRoute))
		for name, r := range p.ByRoute {
			routes[name] = routeFigures(r.Requests, r.Attempts, r.GoodputRatio, r.GoodputRPS, r.LateRatio, r.LateRPS, r.Latency, r.Outcomes)
		}
		out[p.Name] = routes
	}
	return out
}

// routeFigures are the metrics of one route (in the run or in a phase).
func routeFigures(requests, attempts int64, goodputRatio, goodputRPS, lateRatio, lateRPS float64, l Latency, outcomes map[string]int64) Figures {
	f := Figures{
		"goodput_ratio": goodputRatio,
		"goodput_rps":   goodputRPS,
		"late_ratio":    lateRatio,
		"late_rps":      lateRPS,
		"requests":      float64(requests),
		"attempts":      float64(attempts),
	}
	if requests > 0 {
		f["amplification"] = float64(attempts) / float64(requests)
	}
	f.setLatency(l, outcomes[results.OutcomeOK.String()])
	f.setOutcomes(requests, attempts, outcomes, nil)
	delete(f, "timeout_ratio")
	return f
}

// setLatency sets the latency percentiles of l, measured over ok
// successful requests; with none they are not measured (a p99 of no
// request is no evidence that p99 < 250ms).
func (f Figures) setLatency(l Latency, ok int64) {
	if ok == 0 {
		return
	}
	f.SetDuration("p50", durFromMs(l.P50))
	f.SetDuration("p90", durFromMs(l.P90))
	f.SetDuration("p99", durFromMs(l.P99))
	f.SetDuration("p999", durFromMs(l.P999))
	f.SetDuration("max", durFromMs(l.Max))
	f.SetDuration("mean", durFromMs(l.Mean))
}

// setDeliveryAge records the age percentiles of delivered async messages.
func (f Figures) setDeliveryAge(l Latency) {
	f.SetDuration("delivery_age_p50", durFromMs(l.P50))
	f.SetDuration("delivery_age_p99", durFromMs(l.P99))
	f.SetDuration("delivery_age_max", durFromMs(l.Max))
}

// setOutcomes derives the outcome ratios and the retry count. Requests
// that were never started (dropped, throttled) have no first attempt.
func (f Figures) setOutcomes(requests, attempts int64, outcomes, attemptOutcomes map[string]int64) {
	ok := outcomes[results.OutcomeOK.String()] + outcomes[results.OutcomeDelivered.String()]
	unstarted := outcomes[results.OutcomeGeneratorDropped.String()] + outcomes[results.OutcomeClientThrottled.String()]
	f["ok_ratio"] = safeRatio(float64(ok), float64(requests))
	f["error_ratio"] = 0
	if requests > 0 {
		f["error_ratio"] = 1 - f["ok_ratio"]
	}
	f["timeout_ratio"] = safeRatio(float64(attemptOutcomes[results.OutcomeClientTimeout.String()]), float64(attempts))
	f["retries"] = float64(max(0, attempts-(requests-unstarted)))
}

func safeRatio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
