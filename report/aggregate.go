package report

import (
	"cmp"
	"context"
	"fmt"
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
	// generatorLimitedFloor is the least window lag p99 that flags a
	// window as generator-limited (see GeneratorLimitedLag).
	generatorLimitedFloor = 5 * time.Millisecond
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
	// Slowest is how many of the slowest requests the summary traces
	// (Summary.Slowest): 0 means DefaultSlowest (10), a negative value
	// none; at most 1000.
	Slowest int

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
	late                               int64 // requests ok after the SLO
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
	cold       coldCount            // attempts started here that the service ran, and cold ones
}

// phaseAcc accumulates one phase.
type phaseAcc struct {
	tally
	lat  *hdr.Histogram
	lag  *hdr.Histogram
	age  *hdr.Histogram // delivered messages' age, µs; nil until one
	cold coldCount
}

type timingSum struct {
	n, queue, app, dep, init int64
}

func (t *timingSum) add(st results.ServerTiming) {
	if st == (results.ServerTiming{}) {
		return
	}
	t.n++
	t.queue += int64(st.Queue)
	t.app += int64(st.App)
	t.dep += int64(st.Dep)
	t.init += int64(st.Init)
}

func (t *timingSum) ms() *ServerTimingMs {
	if t.n == 0 {
		return nil
	}
	n := float64(t.n) * float64(time.Millisecond)
	return &ServerTimingMs{Attempts: t.n, Queue: float64(t.queue) / n, App: float64(t.app) / n, Dep: float64(t.dep) / n, Init: float64(t.init) / n}
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
	status   statusCounts
	byRoute  routeSet
	byTenant *spaceSaving
	failing  *spaceSaving
	faults   []openFault
	dists    []Disturbance
	failed   []string
	delivery deliveryAcc
	slowest  *slowestTracer
	fn       coldAcc // cold starts and throttles
	errs     errAcc  // failed attempts by error message

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
		byRoute:  routeSet{width: w, maxWin: cmp.Or(opts.maxWindows, maxWindows)},
		byTenant: newSpaceSaving(tenantSketch),
		failing:  newSpaceSaving(tenantSketch),
		slowest:  newSlowestTracer(slowestOption(opts.Slowest), pendingRequests),
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
	a.byRoute.nPhases = a.nPhases
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

// statusCounts counts attempts by HTTP status: an array for the codes
// below 600 (every code RFC 9110 defines), so that counting one is an
// increment, and a map for the others.
type statusCounts struct {
	low  [600]int64
	high map[uint16]int64
}

// add counts one attempt answered with code.
func (c *statusCounts) add(code uint16) {
	if int(code) < len(c.low) {
		c.low[code]++
		return
	}
	if c.high == nil {
		c.high = make(map[uint16]int64)
	}
	c.high[code]++
}

// strings returns the counts keyed by code in decimal, without the codes
// never seen.
func (c *statusCounts) strings() map[string]int64 {
	out := make(map[string]int64)
	for code, n := range c.low {
		if n > 0 {
			out[strconv.Itoa(code)] = n
		}
	}
	for code, n := range c.high {
		out[strconv.Itoa(int(code))] = n
	}
	return out
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
	} else {
		a.slowest.add(r)
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
			a.total.addOK(good)
			w.addOK(good)
			if ph != nil {
				_ = ph.lat.RecordValue(us)
				ph.addOK(good)
			}
		}
		a.maxIntended = max(a.maxIntended, r.Intended)
	}
	a.maxEnd = max(a.maxEnd, r.End)
	a.byRoute.add(r, slot, r.Final && r.Outcome == results.OutcomeOK && (a.slo <= 0 || r.Latency() <= a.slo))
}

func (a *Aggregator) addAttempt(r *results.Result, slot int, ph *phaseAcc) {
	a.total.attempts++
	a.total.attemptOutcomes[slot]++
	answered := r.Status != 0
	if answered {
		a.total.answered++
		a.status.add(r.Status)
	}
	a.timing.add(r.Timing)
	a.fn.add(r)
	a.errs.add(r)
	if ph != nil {
		ph.cold.add(r)
		ph.attempts++
		ph.attemptOutcomes[slot]++
		if answered {
			ph.answered++
		}
	}

	si, ei := a.windowIndex(r.Start), a.windowIndex(r.End)
	ws := a.window(si)
	ws.attempts++
	ws.cold.add(r)
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

// ReadInto feeds every record of rd to a, until the end of the stream or
// until ctx is done. A stream cut mid-record or damaged ends without error:
// at its end, ReadInto adds rd.Integrity to a (see AddIntegrity).
func ReadInto(ctx context.Context, a *Aggregator, rd *results.Reader) error {
	err := results.Each(ctx, rd,
		func(r *results.Result) error { a.AddResult(r); return nil },
		func(e *results.Event) error { a.AddEvent(e); return nil })
	if err != nil {
		return err
	}
	a.AddIntegrity(rd.Header().Describe(), rd.Integrity())
	return nil
}
