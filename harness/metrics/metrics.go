package metrics

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
)

// prefix starts every series name of loadgen.
const prefix = "loadgen_"

// maxRoutes bounds the route label's cardinality: records of further
// routes are counted under otherRoute (taking a lock each: a mix of more
// routes than this is not what the hot path is made for).
const (
	maxRoutes  = 64
	otherRoute = "(other)"
)

// Registry gathers the series of the runs of one loadgen process, and the
// Go runtime's and the process's, on a prometheus.Registry of its own.
// Safe for concurrent use; build with NewRegistry.
type Registry struct {
	reg *prometheus.Registry
}

// NewRegistry returns a registry holding the Go and process collectors
// and no run.
func NewRegistry() *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: reg}
}

// Gatherer returns the registry as a prometheus.Gatherer (tests, and
// other handlers).
func (g *Registry) Gatherer() prometheus.Gatherer { return g.reg }

// Source is what a run's gauges are read from at scrape time;
// *workload.Runner is one.
type Source interface {
	Stats() workload.Stats
	Elapsed() time.Duration
	RateMultiplier() float64
}

var _ Source = (*workload.Runner)(nil)

// RunConfig describes a run whose records a Run counts.
type RunConfig struct {
	// Label is the run label of every series (the results header's Label).
	Label string
	// Shard labels every series with the shard's index when the run is
	// sharded (Count > 1).
	Shard workload.Shard
	// Schedule gives the phases (their names label the series) and the
	// offered rate; required.
	Schedule *workload.Schedule
	// SLO is the objective of goodput: a request counts when it is ok
	// within SLO from its intended start; 0 counts every success.
	SLO time.Duration
	// Source gives the gauges (in flight, offered rate, phase); nil: none,
	// and every phase's series appear from the start.
	Source Source
}

// Run counts one run's records into its series. Observe is safe for
// concurrent use and does not lock or allocate once a route has been seen.
// Build with Registry.Run.
type Run struct {
	cfg    RunConfig
	phases []string
	labels prometheus.Labels // run, and shard when sharded

	routes  atomic.Pointer[map[string]*route] // copied on write
	routeMu sync.Mutex                        // serialises the writes
	lag     prometheus.Histogram

	descs descs
}

// route is one route's counters, one cell per phase.
type route struct {
	name  string
	cells []cell
}

// cell is the counters of one route in one phase.
type cell struct {
	outcomes       [results.NumOutcomes]atomic.Uint64 // final records
	attempts       [results.NumOutcomes]atomic.Uint64 // records of attempts (Attempt ≥ 1)
	good           atomic.Uint64
	latency        prometheus.Histogram
	attemptLatency prometheus.Histogram
}

// descs are the descriptions of a run's series, with its constant labels.
type descs struct {
	requests, outcomes, attempts, goodput, dropped, inFlight, rate, phase *prometheus.Desc
}

// Latency buckets: classic ones from 1 ms to about 33 s, and native ones
// (about 10% wide) beside them.
var (
	latencyBuckets = prometheus.ExponentialBuckets(0.001, 2, 16)
	lagBuckets     = prometheus.ExponentialBuckets(0.0001, 2, 16)
)

const nativeFactor = 1.1

// Run adds the series of a run described by cfg to the registry; they
// stay there (with their last values) for the registry's life.
func (g *Registry) Run(cfg RunConfig) (*Run, error) {
	if cfg.Schedule == nil || len(cfg.Schedule.Phases()) == 0 {
		return nil, fmt.Errorf("metrics: a run needs a schedule with phases")
	}
	r := &Run{cfg: cfg, labels: prometheus.Labels{"run": cfg.Label}}
	if cfg.Shard.N() > 1 {
		r.labels["shard"] = strconv.Itoa(cfg.Shard.Index)
	}
	for _, p := range cfg.Schedule.Phases() {
		r.phases = append(r.phases, p.Name)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+name, help, labels, r.labels)
	}
	r.descs = descs{
		requests: desc("requests_total", "Requests offered, counted once when their outcome is decided, under the phase of their intended start.", "route", "phase"),
		outcomes: desc("outcomes_total", "Requests by final outcome (ok, shed, server_error, client_timeout, generator_dropped, …).", "route", "phase", "outcome"),
		attempts: desc("attempts_total", "Attempts sent (retries included), by outcome.", "route", "phase", "outcome"),
		goodput:  desc("goodput_total", "Requests that succeeded within the SLO, measured from intended start, retries included.", "route", "phase"),
		dropped:  desc("generator_dropped_total", "Requests the generator could not send on time (its in-flight cap, or a backlog it could not send): the generator, not the service, was the limit.", "route", "phase"),
		inFlight: desc("in_flight", "Requests started and not finished (attempts and waits between them)."),
		rate:     desc("offered_rate", "Requests per second the schedule offers now (this shard's share, rate multiplier applied)."),
		phase:    desc("phase", "1 for the schedule phase the run is in, 0 for the phases before it.", "phase"),
	}
	r.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: prefix + "schedule_lag_seconds", Help: "How late the generator started first attempts: attempt start − intended start.",
		ConstLabels: r.labels, Buckets: lagBuckets, NativeHistogramBucketFactor: nativeFactor,
	})
	empty := map[string]*route{}
	r.routes.Store(&empty)
	if err := g.reg.Register(r); err != nil {
		return nil, fmt.Errorf("metrics: register run %q: %w", cfg.Label, err)
	}
	return r, nil
}

// route returns the counters of the route named name, adding them on its
// first record.
func (r *Run) route(name string) *route {
	if rt := (*r.routes.Load())[name]; rt != nil {
		return rt
	}
	r.routeMu.Lock()
	defer r.routeMu.Unlock()
	old := *r.routes.Load()
	if rt := old[name]; rt != nil {
		return rt
	}
	if len(old) >= maxRoutes {
		if rt := old[otherRoute]; rt != nil {
			return rt
		}
		name = otherRoute
	}
	rt := &route{name: name, cells: make([]cell, len(r.phases))}
	for i := range rt.cells {
		labels := prometheus.Labels{"route": name, "phase": r.phases[i]}
		for k, v := range r.labels {
			labels[k] = v
		}
		rt.cells[i].latency = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: prefix + "request_latency_seconds", Help: "Latency of successful requests from their intended start (what the user felt, retries and generator lag included).",
			ConstLabels: labels, Buckets: latencyBuckets, NativeHistogramBucketFactor: nativeFactor,
		})
		rt.cells[i].attemptLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: prefix + "attempt_latency_seconds", Help: "Latency of attempts, from the attempt's start to its end.",
			ConstLabels: labels, Buckets: latencyBuckets, NativeHistogramBucketFactor: nativeFactor,
		})
	}
	next := make(map[string]*route, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = rt
	r.routes.Store(&next)
	return rt
}

// Observe counts record res. It sits on the hot path: it takes no lock and
// allocates nothing once res's route has been seen.
func (r *Run) Observe(res *results.Result) {
	rt := r.route(res.Route)
	c := &rt.cells[min(int(res.Phase), len(rt.cells)-1)]
	o := res.Outcome
	if !o.Valid() {
		return
	}
	if res.Attempt > 0 {
		c.attempts[o].Add(1)
		c.attemptLatency.Observe(res.AttemptLatency().Seconds())
		if res.Attempt == 1 {
			r.lag.Observe(res.Lag().Seconds())
		}
	}
	if !res.Final {
		return
	}
	c.outcomes[o].Add(1)
	if o != results.OutcomeOK {
		return
	}
	lat := res.Latency()
	c.latency.Observe(lat.Seconds())
	if r.cfg.SLO == 0 || lat <= r.cfg.SLO {
		c.good.Add(1)
	}
}

// begun returns how many phases have begun: all of them without a
// source.
func (r *Run) begun() int {
	if r.cfg.Source == nil {
		return len(r.phases)
	}
	return r.cfg.Schedule.PhaseAt(r.cfg.Source.Elapsed()) + 1
}

// Describe sends nothing: the collector is unchecked, because its routes
// appear with the traffic.
func (r *Run) Describe(chan<- *prometheus.Desc) {}

// Collect sends the run's series, read now.
func (r *Run) Collect(ch chan<- prometheus.Metric) {
	n := min(r.begun(), len(r.phases))
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, rt := range *r.routes.Load() {
		for i := range n {
			c, phase := &rt.cells[i], r.phases[i]
			var requests uint64
			for o := range results.NumOutcomes {
				v := c.outcomes[o].Load()
				requests += v
				counter(r.descs.outcomes, v, rt.name, phase, o.String())
				counter(r.descs.attempts, c.attempts[o].Load(), rt.name, phase, o.String())
			}
			counter(r.descs.requests, requests, rt.name, phase)
			counter(r.descs.goodput, c.good.Load(), rt.name, phase)
			counter(r.descs.dropped, c.outcomes[results.OutcomeGeneratorDropped].Load(), rt.name, phase)
			c.latency.Collect(ch)
			c.attemptLatency.Collect(ch)
		}
	}
	r.lag.Collect(ch)
	if r.cfg.Source == nil {
		return
	}
	st := r.cfg.Source.Stats()
	ch <- prometheus.MustNewConstMetric(r.descs.inFlight, prometheus.GaugeValue, float64(st.InFlight))
	elapsed := r.cfg.Source.Elapsed()
	rate := r.cfg.Schedule.Rate(elapsed) * r.cfg.Source.RateMultiplier() / float64(r.cfg.Shard.N())
	ch <- prometheus.MustNewConstMetric(r.descs.rate, prometheus.GaugeValue, rate)
	for i := range n {
		v := 0.0
		if i == n-1 {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(r.descs.phase, prometheus.GaugeValue, v, r.phases[i])
	}
}
