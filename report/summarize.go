package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// duration returns the schedule's length: the end of the last phase when
// the headers name phases (or the run's early end, when it was
// interrupted or a ramp stopped before it: the earliest such event),
// otherwise the span of intended starts plus one mean interval between
// them.
func (a *Aggregator) duration() time.Duration {
	var d time.Duration
	for _, s := range a.sources {
		for _, p := range s.h.Phases {
			d = max(d, p.Offset+p.Duration)
		}
	}
	if a.interrupted && a.interruptedAt > 0 && a.interruptedAt < d {
		d = a.interruptedAt
	}
	if a.stoppedAt > 0 && a.stoppedAt < d {
		d = a.stoppedAt
	}
	if d > 0 {
		return d
	}
	if n := a.total.requests; n > 1 {
		return a.maxIntended + a.maxIntended/time.Duration(n-1)
	}
	return max(a.maxIntended, a.maxEnd)
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// latencyOf reads the Latency figures from a histogram in µs.
func latencyOf(p interface {
	TotalCount() int64
	ValueAtPercentile(float64) int64
	Max() int64
	Mean() float64
}) Latency {
	if p == nil || p.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		P50: ms(p.ValueAtPercentile(50)), P90: ms(p.ValueAtPercentile(90)),
		P99: ms(p.ValueAtPercentile(99)), P999: ms(p.ValueAtPercentile(99.9)),
		Max: ms(p.Max()), Mean: math.Round(p.Mean()) / 1000,
	}
}

func packedLatency(p *hdr.PackedHistogram) Latency {
	if p == nil {
		return Latency{}
	}
	return latencyOf(p)
}

func packedP99ms(p *hdr.PackedHistogram) float64 {
	if p == nil || p.TotalCount() == 0 {
		return 0
	}
	return float64(p.ValueAtPercentile(99)) / 1000
}

// outcomeMap names the counts; with all set, every known class is present.
func outcomeMap(c *outcomeCounts, all bool) map[string]int64 {
	m := make(map[string]int64)
	for i, n := range c {
		if n == 0 && (!all || i == int(results.NumOutcomes)) {
			continue
		}
		name := "unknown"
		if i < int(results.NumOutcomes) {
			name = results.Outcome(i).String()
		}
		m[name] = n
	}
	return m
}

// Summary computes the summary of everything added so far. More records
// may be added and Summary called again. The histograms a Summary exposes
// (LatencyHistogram) are shared with the Aggregator: read them before
// adding more records, or take a new Summary.
func (a *Aggregator) Summary() *Summary {
	a.coolAll()
	a.byRoute.flush()
	dur := a.duration()
	s := &Summary{
		SLOMs:           float64(a.slo) / float64(time.Millisecond),
		WindowS:         a.width.Seconds(),
		Files:           len(a.sources),
		Records:         a.records,
		Events:          a.events,
		Interrupted:     a.interrupted,
		DurationS:       dur.Seconds(),
		Requests:        a.total.requests,
		Attempts:        a.total.attempts,
		OfferedRPS:      perSecond(a.total.requests, dur),
		ThroughputRPS:   perSecond(a.total.answered, dur),
		GoodputRPS:      perSecond(a.total.good, dur),
		GoodputRatio:    ratio(a.total.good, a.total.requests),
		LateRPS:         perSecond(a.total.late, dur),
		LateRatio:       ratio(a.total.late, a.total.requests),
		Amplification:   ratio(a.total.attempts, a.total.requests),
		ShedRatio:       ratio(a.total.attemptOutcomes[results.OutcomeShed], a.total.attempts),
		Outcomes:        outcomeMap(&a.total.outcomes, true),
		AttemptOutcomes: outcomeMap(&a.total.attemptOutcomes, true),
		StatusCodes:     a.status.strings(),
		Latency:         latencyOf(a.latency),
		Generator:       a.generator(a.lag, a.total.outcomes[results.OutcomeGeneratorDropped]),
		ServerTiming:    a.timing.ms(),
		Windows:         []Window{},
		Phases:          []PhaseStats{},
		Disturbances:    []Disturbance{},
		TopTenants:      TopTenants{ByAttempts: a.byTenant.top(topTenants), ByFailures: a.failing.top(topTenants)},
		Warnings:        []string{},
		Hosts:           []string{},
		latency:         a.latency,
	}
	a.fillHeader(s)
	s.Routes = a.byRoute.names()
	s.ByRoute = a.byRoute.stats(dur)
	s.Windows = a.windowSummaries()
	s.Phases = a.phaseSummaries()
	s.Disturbances = append(s.Disturbances, a.dists...)
	for _, f := range a.faults {
		s.Disturbances = append(s.Disturbances, Disturbance{Name: f.name, Target: f.target, StartS: f.start.Seconds(), EndS: max(dur, a.maxEnd).Seconds()})
	}
	slices.SortStableFunc(s.Disturbances, func(x, y Disturbance) int { return cmp.Compare(x.StartS, y.StartS) })
	s.Delivery = a.deliverySummary(dur)
	s.Slowest = a.slowest.requests()
	a.fn.fill(s)
	s.Errors = a.errs.list()
	s.Warnings = a.warnings(s)
	a.integ.fill(s)
	return s
}

func (a *Aggregator) generator(lag interface {
	TotalCount() int64
	ValueAtPercentile(float64) int64
	Max() int64
}, dropped int64) Generator {
	g := Generator{Dropped: dropped}
	if lag != nil && lag.TotalCount() > 0 {
		g.LagP99Ms = float64(lag.ValueAtPercentile(99)) / 1000
		g.LagMaxMs = float64(lag.Max()) / 1000
	}
	return g
}

// fillHeader copies what the headers say about the run.
func (a *Aggregator) fillHeader(s *Summary) {
	shards := map[int]bool{}
	hosts := map[string]bool{}
	for i, src := range a.sources {
		h := src.h
		if i == 0 {
			s.Label, s.Tool, s.Seed, s.Start = h.Label, h.Tool, h.Seed, h.Start
			if len(h.Scenario) > 0 && json.Valid(h.Scenario) {
				s.Scenario = json.RawMessage(h.Scenario)
			}
		}
		if !h.Start.IsZero() && (s.Start.IsZero() || h.Start.Before(s.Start)) {
			s.Start = h.Start
		}
		for _, sh := range src.shards {
			shards[sh] = true
		}
		for _, host := range h.Hosts() {
			hosts[host] = true
		}
	}
	s.Shards = len(shards)
	for h := range hosts {
		s.Hosts = append(s.Hosts, h)
	}
	slices.Sort(s.Hosts)
}

func (a *Aggregator) windowSummaries() []Window {
	n := len(a.windows)
	if d := a.duration(); d > 0 {
		n = max(n, int(min((d+a.width-1)/a.width, time.Duration(a.maxWin))))
	}
	out := make([]Window, n)
	var empty winAcc
	for i := range out {
		w := &empty
		if i < len(a.windows) && a.windows[i] != nil {
			w = a.windows[i]
		}
		width := a.width
		o := &out[i]
		o.StartS = (time.Duration(i) * width).Seconds()
		o.Requests = w.requests
		o.Attempts = w.attempts
		o.OfferedRPS = perSecond(w.requests, width)
		o.ThroughputRPS = perSecond(w.answered, width)
		o.GoodputRPS = perSecond(w.good, width)
		o.GoodputRatio = 1
		if w.requests > 0 {
			o.GoodputRatio = ratio(w.good, w.requests)
		}
		o.LateRPS = perSecond(w.late, width)
		o.LateRatio = ratio(w.late, w.requests)
		o.Outcomes = outcomeMap(&w.outcomes, false)
		o.AttemptOutcomes = outcomeMap(&w.attemptOutcomes, false)
		o.Latency = packedLatency(w.lat)
		o.latency = w.lat
		o.InFlightMean = float64(w.busy) / float64(width)
		o.Amplification = ratio(w.attempts, w.requests)
		o.LagP99Ms = packedP99ms(w.lag)
		o.GeneratorLimited = w.requests > 0 && o.LagP99Ms > float64(GeneratorLimitedLag(a.slo))/float64(time.Millisecond)
		o.Delivered = w.delivered
		o.DeliveryAgeP99Ms = packedP99ms(w.age)
		o.ServerTiming = w.timing.ms()
		o.Concurrency = float64(w.attemptDur) / float64(width)
		o.ColdRatio = w.cold.ratio()
		o.ByRoute = a.byRoute.window(i, width)
		if w.tenants.n > 0 || w.failing.n > 0 {
			o.TopTenants = &TopTenants{ByAttempts: w.tenants.top(windowTopTenants), ByFailures: w.failing.top(windowTopTenants)}
		}
		if w.completed > 0 && w.attemptDur > 0 {
			rate := perSecond(w.completed, width)
			meanS := float64(w.attemptDur) / float64(w.completed) / float64(time.Second)
			o.LittleRatio = o.InFlightMean / (rate * meanS)
		}
	}
	return out
}

func (a *Aggregator) phaseSummaries() []PhaseStats {
	var infos []results.PhaseInfo
	if len(a.sources) > 0 {
		infos = a.sources[0].h.Phases
	}
	out := []PhaseStats{}
	empty := phaseAcc{lat: newHist(), lag: newHist()}
	for i, info := range infos {
		p := &empty
		if i < len(a.phases) && a.phases[i] != nil {
			p = a.phases[i]
		}
		var age *Latency
		if p.age != nil {
			l := latencyOf(p.age)
			age = &l
		}
		out = append(out, PhaseStats{
			Name:            info.Name,
			StartS:          info.Offset.Seconds(),
			DurationS:       info.Duration.Seconds(),
			FromRPS:         info.FromRPS,
			ToRPS:           info.ToRPS,
			Requests:        p.requests,
			Attempts:        p.attempts,
			OfferedRPS:      perSecond(p.requests, info.Duration),
			ThroughputRPS:   perSecond(p.answered, info.Duration),
			GoodputRPS:      perSecond(p.good, info.Duration),
			GoodputRatio:    ratio(p.good, p.requests),
			LateRPS:         perSecond(p.late, info.Duration),
			LateRatio:       ratio(p.late, p.requests),
			Amplification:   ratio(p.attempts, p.requests),
			ShedRatio:       ratio(p.attemptOutcomes[results.OutcomeShed], p.attempts),
			Outcomes:        outcomeMap(&p.outcomes, true),
			AttemptOutcomes: outcomeMap(&p.attemptOutcomes, true),
			Latency:         latencyOf(p.lat),
			Generator:       a.generator(p.lag, p.outcomes[results.OutcomeGeneratorDropped]),
			DeliveryAgeMs:   age,
			ColdRatio:       p.cold.ratio(),
			ByRoute:         a.byRoute.phase(i, info.Duration),
		})
	}
	return out
}

func (a *Aggregator) warnings(s *Summary) []string {
	w := append([]string{}, a.warns...)
	if d := s.Generator.Dropped; d > 0 {
		w = append(w, fmt.Sprintf("the generator dropped %d requests (%.1f%%) it could not send on time (its in-flight cap was reached, or its backlog of requests to send stayed too deep): the generator, not the service, was the limit (lower the rate per generator, raise --connections or --max-inflight, or add shards)",
			d, 100*ratio(d, s.Requests)))
	}
	if lag := s.Generator.LagP99Ms; lag > float64(lagWarning)/float64(time.Millisecond) {
		w = append(w, fmt.Sprintf("generator lag p99 is %.1fms (over %v): the generator could not keep its schedule, latencies include that lag", lag, lagWarning))
	}
	if msg := generatorLimitedWarning(s); msg != "" {
		w = append(w, msg)
	}
	if a.clamped > 0 {
		w = append(w, fmt.Sprintf("%d records fell after the last of %d windows and were counted in it (a broken clock?)", a.clamped, a.maxWin))
	}
	if len(a.sources) > 0 {
		if want := max(a.sources[0].h.Shard.Count, 1); s.Shards < want {
			w = append(w, fmt.Sprintf("only %d of %d shards were read: rates are those of the shards read", s.Shards, want))
		}
	}
	w = append(w, a.failed...)
	if a.interrupted {
		w = append(w, "the run was interrupted before its schedule ended")
	}
	return w
}

// GeneratorLimitedLag is the window lag p99 above which a window is
// generator-limited: max(5 ms, slo ÷ 10). A zero slo gives 5 ms.
func GeneratorLimitedLag(slo time.Duration) time.Duration {
	return max(generatorLimitedFloor, slo/10)
}

// generatorLimitedWarning names the generator-limited windows of s (by
// start, in seconds) and the share of requests whose intended start fell
// in them; "" when none is.
func generatorLimitedWarning(s *Summary) string {
	var starts []string
	var n int64
	for i := range s.Windows {
		if w := &s.Windows[i]; w.GeneratorLimited {
			starts = append(starts, strconv.FormatFloat(w.StartS, 'f', -1, 64)+"s")
			n += w.Requests
		}
	}
	if len(starts) == 0 {
		return ""
	}
	const most = 10
	names := strings.Join(starts[:min(len(starts), most)], ", ")
	if len(starts) > most {
		names += fmt.Sprintf(" and %d more", len(starts)-most)
	}
	return fmt.Sprintf("%d windows were generator-limited (lag p99 over %v), starting at %s: %.1f%% of requests fell in them, and their latencies include the generator's lag, not only the service's",
		len(starts), GeneratorLimitedLag(time.Duration(s.SLOMs*float64(time.Millisecond))), names, 100*ratio(n, s.Requests))
}
