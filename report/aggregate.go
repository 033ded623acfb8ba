package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microseconds from 1 µs to one hour, 3 significant
// digits. Longer values are recorded as one hour.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// DefaultWindow is the width of report windows when Options.Window is 0.
const DefaultWindow = time.Second

const (
	// maxWindows bounds the windows of one report: records later than
	// maxWindows × width count in the last window (with a warning).
	maxWindows = 100_000
	// hotWindows is how many of the latest windows may record into dense
	// histograms (an index increment) rather than packed ones (a binary
	// search); hotThreshold is how many values a window's packed histogram
	// takes before it gets a dense one.
	hotWindows   = 4
	hotThreshold = 512
	// maxRoutes bounds the route labels listed in the summary.
	maxRoutes = 100
	// tenantSketch is the capacity of the top-tenant sketches.
	tenantSketch = 128
	// topTenants is how many tenants each top list shows; windowTopTenants
	// the same for each window, from a sketch of miniTopSize entries.
	topTenants       = 10
	windowTopTenants = 3
	miniTopSize      = 8
	// lagWarning is the generator lag p99 above which a report warns.
	lagWarning = 10 * time.Millisecond
)

// Options configures an Aggregator. The zero value uses the defaults named
// on each field. It is a plain value, safe to copy.
type Options struct {
	// Window is the width of each report window (default DefaultWindow, 1 s).
	Window time.Duration
	// SLO is the latency objective goodput is measured against, from a
	// request's intended start. Zero means the first header's SLO; when
	// that is zero too, every successful request counts as goodput.
	SLO time.Duration

	// maxWindows overrides the package's bound on windows (tests only).
	maxWindows int
}

// outcomeSlots is the size of per-outcome count arrays: every known class
// plus one slot for classes this version does not know.
const outcomeSlots = int(results.NumOutcomes) + 1

type outcomeCounts [outcomeSlots]int64

func outcomeSlot(o results.Outcome) int {
	if o.Valid() {
		return int(o)
	}
	return int(results.NumOutcomes)
}

// tally is the counts shared by the run, each phase and each window.
type tally struct {
	requests, attempts, answered, good int64
	outcomes, attemptOutcomes          outcomeCounts
}

// winAcc accumulates one window. While the window is hot, dlat and dlag
// hold the values not yet moved into lat and lag.
type winAcc struct {
	tally
	lat        *hdr.PackedHistogram // successful requests' latency, µs
	lag        *hdr.PackedHistogram // first attempts' lag, µs
	dlat, dlag *hdr.Histogram
	busy       int64 // Σ attempt time inside the window, ns
	completed  int64 // attempts that ended in the window
	attemptDur int64 // Σ their durations, ns
	timing     timingSum
	tenants    miniTop              // attempts started here, by tenant
	failing    miniTop              // failed attempts that ended here, by tenant
	age        *hdr.PackedHistogram // delivered messages' age, µs
	delivered  int64                // messages delivered, of requests of this window
}

// phaseAcc accumulates one phase.
type phaseAcc struct {
	tally
	lat *hdr.Histogram
	lag *hdr.Histogram
	age *hdr.Histogram // delivered messages' age, µs; nil until one
}

type timingSum struct {
	n, queue, app, dep int64
}

func (t *timingSum) add(st results.ServerTiming) {
	if st == (results.ServerTiming{}) {
		return
	}
	t.n++
	t.queue += int64(st.Queue)
	t.app += int64(st.App)
	t.dep += int64(st.Dep)
}

func (t *timingSum) ms() *ServerTimingMs {
	if t.n == 0 {
		return nil
	}
	n := float64(t.n) * float64(time.Millisecond)
	return &ServerTimingMs{Attempts: t.n, Queue: float64(t.queue) / n, App: float64(t.app) / n, Dep: float64(t.dep) / n}
}

// source is one results stream added with AddHeader.
type source struct {
	h      results.Header
	shards []int
}

// openFault is a fault_applied event waiting for its fault_removed.
type openFault struct {
	name, target string
	start        time.Duration
}

// Aggregator folds results streams into a Summary: counts, rates and
// HdrHistograms for the run, each phase and each window. Its memory
// depends on the number of windows, phases and distinct labels, not on the
// number of records.
//
// Add every stream's header with AddHeader before its records. Several
// streams (shards of one run, or parts of one stream) can be added: their
// records merge exactly, histograms included.
//
// An Aggregator is not safe for concurrent use; use one per goroutine. The
// zero value is not usable; create one with NewAggregator.
type Aggregator struct {
	opts    Options
	width   time.Duration
	maxWin  int
	slo     time.Duration
	sources []source
	warns   []string
	integ   integrity

	total    tally
	latency  *hdr.Histogram
	lag      *hdr.Histogram
	timing   timingSum
	windows  []*winAcc
	hotMax   int   // the latest window index seen
	hot      []int // windows with dense histograms attached
	pool     []*hdr.Histogram
	phases   []*phaseAcc
	nPhases  int // phases named by the headers: only they are tracked
	status   [600]int64
	statusX  map[int]int64
	routes   map[string]struct{}
	byTenant *spaceSaving
	failing  *spaceSaving
	faults   []openFault
	dists    []Disturbance
	failed   []string
	delivery deliveryAcc

	records, events     int64
	clamped             int64
	maxIntended, maxEnd time.Duration
	interrupted         bool
	interruptedAt       time.Duration
	stoppedAt           time.Duration // the earliest NoteRampStopped; 0 when none
}

// NewAggregator returns an empty Aggregator.
func NewAggregator(opts Options) *Aggregator {
	w := opts.Window
	if w <= 0 {
		w = DefaultWindow
	}
	return &Aggregator{
		opts:     opts,
		width:    w,
		maxWin:   cmp.Or(opts.maxWindows, maxWindows),
		slo:      opts.SLO,
		latency:  hdr.New(histLowest, histHighest, histDigits),
		lag:      hdr.New(histLowest, histHighest, histDigits),
		statusX:  make(map[int]int64),
		routes:   make(map[string]struct{}),
		byTenant: newSpaceSaving(tenantSketch),
		failing:  newSpaceSaving(tenantSketch),
	}
}

// AddHeader registers a results stream. It refuses a stream of another run
// than the ones already added (see results.SameRun).
func (a *Aggregator) AddHeader(h results.Header) error {
	for _, s := range a.sources {
		if err := results.SameRun(s.h, h); err != nil {
			return err
		}
	}
	shards := h.Shards()
	for _, s := range a.sources {
		for _, i := range shards {
			if slices.Contains(s.shards, i) {
				a.Warn(fmt.Sprintf("shard %d appears in two streams (%s and %s): its records are counted twice", i, s.h.Describe(), h.Describe()))
			}
		}
	}
	// One warning per stream: against the first stream that started more
	// than a window apart from it.
	for _, s := range a.sources {
		if d := h.Start.Sub(s.h.Start); d > a.width || d < -a.width {
			a.Warn(fmt.Sprintf("shards started %v apart (%s and %s), more than one window: windows mix different moments", d.Round(time.Millisecond), s.h.Describe(), h.Describe()))
			break
		}
	}
	if len(a.sources) == 0 && a.slo == 0 {
		a.slo = h.SLO
	} else if len(a.sources) > 0 && a.opts.SLO == 0 && h.SLO != a.sources[0].h.SLO {
		a.Warn(fmt.Sprintf("streams have different SLOs (%v and %v): goodput uses %v", a.sources[0].h.SLO, h.SLO, a.slo))
	}
	a.sources = append(a.sources, source{h: h, shards: shards})
	a.nPhases = max(a.nPhases, len(h.Phases))
	return nil
}

// Warn adds a warning to the summary, e.g. that an input was truncated.
func (a *Aggregator) Warn(msg string) { a.warns = append(a.warns, msg) }

func (a *Aggregator) windowIndex(t time.Duration) int {
	if t < 0 {
		return 0
	}
	i := int64(t / a.width)
	if i >= int64(a.maxWin) {
		a.clamped++
		return a.maxWin - 1
	}
	return int(i)
}

func (a *Aggregator) window(i int) *winAcc {
	if i > a.hotMax {
		a.advance(i)
	}
	if i >= len(a.windows) {
		a.windows = slices.Grow(a.windows, i+1-len(a.windows))[:i+1]
	}
	w := a.windows[i]
	if w == nil {
		w = &winAcc{}
		a.windows[i] = w
	}
	return w
}

// advance makes i the latest window and moves the histograms of windows
// that are no longer hot into their packed form.
func (a *Aggregator) advance(i int) {
	a.hotMax = i
	kept := a.hot[:0]
	for _, h := range a.hot {
		if h > i-hotWindows {
			kept = append(kept, h)
			continue
		}
		a.cool(a.windows[h])
	}
	a.hot = kept
}

// cool moves a window's dense histograms into its packed ones.
func (a *Aggregator) cool(w *winAcc) {
	for _, pair := range [2]struct {
		d **hdr.Histogram
		p *hdr.PackedHistogram
	}{{&w.dlat, w.lat}, {&w.dlag, w.lag}} {
		if *pair.d == nil {
			continue
		}
		pair.p.MergeFrom(*pair.d)
		pair.p.Compact() // the window is done growing: drop spare capacity
		(*pair.d).Reset()
		a.pool = append(a.pool, *pair.d)
		*pair.d = nil
	}
}

// coolAll moves every hot window's histograms into their packed form.
func (a *Aggregator) coolAll() {
	for _, h := range a.hot {
		a.cool(a.windows[h])
	}
	a.hot = a.hot[:0]
}

// record adds v (µs) to a window's latency (lat) or lag histogram.
func (a *Aggregator) record(w *winAcc, i int, lat bool, v int64) {
	d, p := &w.dlag, &w.lag
	if lat {
		d, p = &w.dlat, &w.lat
	}
	if *d != nil {
		// v is within the histogram's range, so RecordValue cannot fail.
		_ = (*d).RecordValue(v)
		return
	}
	recordPacked(p, v)
	if (*p).TotalCount() < hotThreshold || i <= a.hotMax-hotWindows {
		return
	}
	if w.dlat == nil && w.dlag == nil {
		a.hot = append(a.hot, i)
	}
	if n := len(a.pool); n > 0 {
		*d = a.pool[n-1]
		a.pool = a.pool[:n-1]
	} else {
		*d = newHist()
	}
}

func newHist() *hdr.Histogram { return hdr.New(histLowest, histHighest, histDigits) }

func (a *Aggregator) phase(i uint16) *phaseAcc {
	if int(i) >= a.nPhases {
		return nil
	}
	if int(i) >= len(a.phases) {
		a.phases = slices.Grow(a.phases, int(i)+1-len(a.phases))[:i+1]
	}
	p := a.phases[i]
	if p == nil {
		p = &phaseAcc{lat: newHist(), lag: newHist()}
		a.phases[i] = p
	}
	return p
}

// micros converts d to histogram units, clamped to the histogram's range.
func micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	return min(max(us, 0), histHighest)
}

func recordPacked(h **hdr.PackedHistogram, v int64) {
	if *h == nil {
		*h = hdr.NewPacked(histLowest, histHighest, histDigits)
	}
	// v is within the histogram's range, so RecordValue cannot fail.
	_ = (*h).RecordValue(v)
}

// AddResult folds one record in.
func (a *Aggregator) AddResult(r *results.Result) {
	a.records++
	slot := outcomeSlot(r.Outcome)
	ph := a.phase(r.Phase)
	if isDelivery(r) {
		a.addDelivery(r, ph)
	}
	if r.Attempt > 0 {
		a.addAttempt(r, slot, ph)
	}
	if r.Final {
		a.total.requests++
		a.total.outcomes[slot]++
		wi := a.windowIndex(r.Intended)
		w := a.window(wi)
		w.requests++
		w.outcomes[slot]++
		if ph != nil {
			ph.requests++
			ph.outcomes[slot]++
		}
		if r.Outcome == results.OutcomeOK {
			lat := r.Latency()
			us := micros(lat)
			_ = a.latency.RecordValue(us)
			a.record(w, wi, true, us)
			good := a.slo <= 0 || lat <= a.slo
			if good {
				a.total.good++
				w.good++
			}
			if ph != nil {
				_ = ph.lat.RecordValue(us)
				if good {
					ph.good++
				}
			}
		}
		a.maxIntended = max(a.maxIntended, r.Intended)
	}
	a.maxEnd = max(a.maxEnd, r.End)
	if r.Route != "" && len(a.routes) < maxRoutes {
		a.routes[r.Route] = struct{}{}
	}
}

func (a *Aggregator) addAttempt(r *results.Result, slot int, ph *phaseAcc) {
	a.total.attempts++
	a.total.attemptOutcomes[slot]++
	answered := r.Status != 0
	if answered {
		a.total.answered++
		if int(r.Status) < len(a.status) {
			a.status[r.Status]++
		} else {
			a.statusX[int(r.Status)]++
		}
	}
	a.timing.add(r.Timing)
	if ph != nil {
		ph.attempts++
		ph.attemptOutcomes[slot]++
		if answered {
			ph.answered++
		}
	}

	si, ei := a.windowIndex(r.Start), a.windowIndex(r.End)
	ws := a.window(si)
	ws.attempts++
	if r.Attempt == 1 {
		us := micros(r.Lag())
		_ = a.lag.RecordValue(us)
		a.record(ws, si, false, us)
		if ph != nil {
			_ = ph.lag.RecordValue(us)
		}
	}
	we := ws
	if ei != si {
		we = a.window(ei)
	}
	we.attemptOutcomes[slot]++
	if answered {
		we.answered++
	}
	we.timing.add(r.Timing)
	if r.End >= r.Start {
		we.completed++
		we.attemptDur += int64(r.End - r.Start)
		if si == ei {
			ws.busy += int64(r.End - r.Start)
		} else {
			a.spread(r.Start, r.End, si, ei)
		}
	}
	if r.Tenant != "" {
		a.byTenant.add(r.Tenant)
		ws.tenants.add(r.Tenant)
		if r.Outcome != results.OutcomeOK {
			a.failing.add(r.Tenant)
			we.failing.add(r.Tenant)
		}
	}
}

// spread adds the in-flight time of an attempt spanning windows si..ei.
func (a *Aggregator) spread(start, end time.Duration, si, ei int) {
	for i := si; i <= ei; i++ {
		lo := max(start, time.Duration(i)*a.width)
		hi := end
		if i < ei {
			hi = time.Duration(i+1) * a.width
		}
		if hi > lo {
			a.window(i).busy += int64(hi - lo)
		}
	}
}

// AddEvent folds one event in: faults become disturbances, failures and
// interruptions become warnings.
func (a *Aggregator) AddEvent(e *results.Event) {
	a.records++
	a.events++
	a.maxEnd = max(a.maxEnd, e.At)
	switch e.Kind {
	case results.EventFaultApplied:
		a.faults = append(a.faults, openFault{name: e.Name, target: e.Target, start: e.At})
	case results.EventFaultRemoved:
		for i, f := range a.faults {
			if f.name == e.Name && f.target == e.Target {
				a.dists = append(a.dists, Disturbance{Name: f.name, Target: f.target, StartS: f.start.Seconds(), EndS: e.At.Seconds(), Removed: true})
				a.faults = slices.Delete(a.faults, i, i+1)
				break
			}
		}
	case results.EventFaultFailed:
		a.failed = append(a.failed, fmt.Sprintf("fault %q on %q failed at %.1fs: %s", e.Name, e.Target, e.At.Seconds(), e.Detail))
	case results.EventInterrupted:
		if !a.interrupted || e.At < a.interruptedAt {
			a.interruptedAt = e.At
		}
		a.interrupted = true
	case results.EventNote:
		if e.Name == results.NoteRampStopped && e.At > 0 && (a.stoppedAt == 0 || e.At < a.stoppedAt) {
			a.stoppedAt = e.At
		}
	}
}

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
		Amplification:   ratio(a.total.attempts, a.total.requests),
		ShedRatio:       ratio(a.total.attemptOutcomes[results.OutcomeShed], a.total.attempts),
		Outcomes:        outcomeMap(&a.total.outcomes, true),
		AttemptOutcomes: outcomeMap(&a.total.attemptOutcomes, true),
		StatusCodes:     make(map[string]int64),
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
	for code, n := range a.status {
		if n > 0 {
			s.StatusCodes[strconv.Itoa(code)] = n
		}
	}
	for code, n := range a.statusX {
		s.StatusCodes[strconv.Itoa(code)] = n
	}
	for r := range a.routes {
		s.Routes = append(s.Routes, r)
	}
	slices.Sort(s.Routes)
	s.Windows = a.windowSummaries()
	s.Phases = a.phaseSummaries()
	s.Disturbances = append(s.Disturbances, a.dists...)
	for _, f := range a.faults {
		s.Disturbances = append(s.Disturbances, Disturbance{Name: f.name, Target: f.target, StartS: f.start.Seconds(), EndS: max(dur, a.maxEnd).Seconds()})
	}
	slices.SortStableFunc(s.Disturbances, func(x, y Disturbance) int { return cmp.Compare(x.StartS, y.StartS) })
	s.Delivery = a.deliverySummary(dur)
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
		o.Outcomes = outcomeMap(&w.outcomes, false)
		o.AttemptOutcomes = outcomeMap(&w.attemptOutcomes, false)
		o.Latency = packedLatency(w.lat)
		o.latency = w.lat
		o.InFlightMean = float64(w.busy) / float64(width)
		o.Amplification = ratio(w.attempts, w.requests)
		o.LagP99Ms = packedP99ms(w.lag)
		o.Delivered = w.delivered
		o.DeliveryAgeP99Ms = packedP99ms(w.age)
		o.ServerTiming = w.timing.ms()
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
			Amplification:   ratio(p.attempts, p.requests),
			ShedRatio:       ratio(p.attemptOutcomes[results.OutcomeShed], p.attempts),
			Outcomes:        outcomeMap(&p.outcomes, true),
			AttemptOutcomes: outcomeMap(&p.attemptOutcomes, true),
			Latency:         latencyOf(p.lat),
			Generator:       a.generator(p.lag, p.outcomes[results.OutcomeGeneratorDropped]),
			DeliveryAgeMs:   age,
		})
	}
	return out
}

func (a *Aggregator) warnings(s *Summary) []string {
	w := append([]string{}, a.warns...)
	if d := s.Generator.Dropped; d > 0 {
		w = append(w, fmt.Sprintf("the generator dropped %d requests (%.1f%%) because its in-flight cap was reached: the generator, not the service, was the limit (raise --max-inflight or add shards)",
			d, 100*ratio(d, s.Requests)))
	}
	if lag := s.Generator.LagP99Ms; lag > float64(lagWarning)/float64(time.Millisecond) {
		w = append(w, fmt.Sprintf("generator lag p99 is %.1fms (over %v): the generator could not keep its schedule, latencies include that lag", lag, lagWarning))
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

// ReadInto feeds every record of rd to a, until the end of the stream or
// until ctx is done. A stream cut mid-record or damaged ends without error:
// at its end, ReadInto adds rd.Integrity to a (see AddIntegrity).
func ReadInto(ctx context.Context, a *Aggregator, rd *results.Reader) error {
	var res results.Result
	var ev results.Event
	for n := 0; ; n++ {
		if n%(1<<16) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		kind, err := rd.Next(&res, &ev)
		switch {
		case errors.Is(err, io.EOF):
			a.AddIntegrity(rd.Header().Describe(), rd.Integrity())
			return nil
		case err != nil:
			return err
		case kind == results.RecordResult:
			a.AddResult(&res)
		case kind == results.RecordEvent:
			a.AddEvent(&ev)
		}
	}
}
