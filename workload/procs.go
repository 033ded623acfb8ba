package workload

import (
	"runtime"
	"time"
)

// ProcsAuto, as Config.Procs, lets the runner choose how many cores the
// process runs Go code on (GOMAXPROCS) from the CPU the run uses.
const ProcsAuto = -1

// tuneEvery is how often the runner looks after itself while it runs: it
// retunes GOMAXPROCS (with ProcsAuto) and reaps idle workers.
const tuneEvery = 100 * time.Millisecond

// busyPerProc is the share of each core's time the generator may use
// before ProcsAuto gives it another core. Above it a burst of arrivals
// waits for the core, and their lag grows.
const busyPerProc = 0.6

// lowWindows is how many windows in a row must want fewer cores before
// ProcsAuto takes one away: it adds cores at once and removes them slowly.
// A change of GOMAXPROCS stops the world, 1.9–2.7 ms on this project's
// 2-core VM, a lag blip in every run that switches; taking the starting
// cores away after 3 windows rather than 10 cut a 10,000 rps run's CPU by
// 5–12% but put that blip into the first second (at 300 ms, in 5 runs of
// 5), whose p99 it made 4.2 and 7.6 times the other seconds' in 2 of 10
// runs of make bench-peers.
const lowWindows = 10

// procTuner adapts GOMAXPROCS to the load. A Go process with idle cores
// wakes a thread for each goroutine made ready (to look for work to
// steal); on a small or virtual machine those thread wake-ups, one per
// request at moderate rates, cost more CPU than the requests. A generator
// that needs half a core runs best on one: at 20,000 rps against nginx on
// this project's 2-core test machine, one core used 20 µs of CPU per
// request and two 39 µs, with a lower lag on one. vegeta's -cpus sets the
// number by hand; ProcsAuto follows the run: it adds a core as soon as the
// generator's use (predicted from the rate ahead) passes busyPerProc of
// what it has, and takes one away when the load has fitted on fewer for
// lowWindows windows in a row.
//
// Whether the load fits on fewer cores depends on what a request costs
// there, which is only known by trying: the tuner remembers the CPU per
// request it measured at each number of cores (and at which rate), and
// when the load would fit on one core fewer even at the current cost with
// that core fully busy, it tries it. A try that shows the load does not
// fit gives the core back in the next window, and is not made again while
// the rate stays within costFresh of the one it was measured at, for up
// to costAge.
//
// A procTuner is used by one goroutine.
type procTuner struct {
	max  int // the most cores to use: GOMAXPROCS when the run began
	cur  int
	low  int        // consecutive windows that wanted fewer cores
	cost []coreCost // cost[n-1]: measured at n cores; zero: not yet
	cpu  func() (time.Duration, bool)
	set  func(int)     // sets GOMAXPROCS
	last time.Time     // of the previous window
	busy time.Duration // process CPU time at last
	sent uint64        // requests offered at last
}

// coreCost is the CPU a request cost at some number of cores.
type coreCost struct {
	perRequest float64   // core-seconds: the lower of the last two windows'
	last       float64   // core-seconds, in the last window
	rate       float64   // requests/s offered when it was measured
	at         time.Time // when it was measured
}

// costFresh is how far (as a factor) the rate may move from the one a
// cost was measured at before the tuner stops trusting it: a request's
// CPU depends on the rate (wake-ups batch as it grows).
const costFresh = 1.25

// costAge is how long the tuner trusts a cost it measured. A cost
// measured in a noisy window would otherwise keep it from a number of
// cores for as long as the rate holds, a whole run at a steady rate; a
// try that failed is made again at most once a costAge, a window of lag
// each time.
const costAge = 10 * time.Second

// fresh reports whether c was measured, less than costAge before now, at
// a rate close to rate.
func (c coreCost) fresh(rate float64, now time.Time) bool {
	return c.perRequest > 0 && rate <= c.rate*costFresh && rate >= c.rate/costFresh && now.Sub(c.at) < costAge
}

// newProcTuner returns a tuner between 1 and most cores, starting at most,
// or nil when there is nothing to tune (one core, or the process's CPU time
// cannot be read here).
func newProcTuner(most int, now time.Time, offered uint64) *procTuner {
	busy, ok := processCPU()
	if !ok || most < 2 {
		return nil
	}
	return &procTuner{max: most, cur: most, cost: make([]coreCost, most), cpu: processCPU,
		set: func(n int) { runtime.GOMAXPROCS(n) }, last: now, busy: busy, sent: offered}
}

// tick ends a window at now: offered is the runner's count of requests
// offered so far and ahead the rate (requests/s) the schedule asks for
// next. It sets GOMAXPROCS when the load wants a different number.
func (t *procTuner) tick(now time.Time, offered uint64, ahead float64) {
	busy, ok := t.cpu()
	wall := now.Sub(t.last)
	if !ok || wall <= 0 {
		return
	}
	used := float64(busy-t.busy) / float64(wall)
	recent := float64(offered-t.sent) / wall.Seconds()
	t.last, t.busy, t.sent = now, busy, offered
	if recent > 0 {
		t.learn(used/recent, recent, now)
	}
	want := t.want(used, recent, ahead, now)
	switch {
	case want > t.cur:
		t.low = 0
		t.cur = want
		t.set(want)
	case want < t.cur:
		if t.low++; t.low >= lowWindows {
			t.low = 0
			t.cur--
			t.set(t.cur)
		}
	default:
		t.low = 0
	}
}

// learn records what a request cost at the current number of cores: the
// lower of this window's cost and the previous one's, when that was
// measured at a close rate. Noise only ever adds to a window's CPU (a
// stall of the machine caught up, time the hypervisor took), so one
// costly window is not taken for the cost, and two in a row are. With
// the mean of the two, one window at 0.80 of a core after one at 0.45
// (among windows at 0.2–0.4) sent a run at 10,000 rps against nginx back
// to two cores, where a request costs twice as much, for the rest of the
// run: the cost remembered for one core said the load did not fit there.
// now is the window's end.
func (t *procTuner) learn(perRequest, rate float64, now time.Time) {
	c := &t.cost[t.cur-1]
	cost := perRequest
	if c.fresh(rate, now) {
		cost = min(c.last, perRequest)
	}
	*c = coreCost{perRequest: cost, last: perRequest, rate: rate, at: now}
}

// want returns the cores, between 1 and max, for a generator that used
// used cores while offering recent requests/s and is about to offer ahead:
// the fewest whose use, at the rate ahead (or the recent one, if higher)
// and at what a request costs there, stays under busyPerProc of each core.
// Where that cost is not known, the current one stands for it; one core
// fewer than now is tried (see procTuner) when the load would fit there
// at the current cost with the cores fully busy. When the generator
// offered nothing but is about to, its cost is unknown and it gets max.
// Costs remembered are fresh if measured less than costAge before now.
func (t *procTuner) want(used, recent, ahead float64, now time.Time) int {
	if ahead > 0 && recent <= 0 {
		return t.max
	}
	rate := max(ahead, recent)
	var cost float64 // CPU per request at the current number of cores
	if recent > 0 {
		cost = used / recent
	}
	for n := 1; n < t.max; n++ {
		if c := t.cost[n-1]; c.fresh(rate, now) {
			if rate*c.perRequest <= busyPerProc*float64(n) {
				return n
			}
			continue
		}
		if rate*cost <= busyPerProc*float64(n) || (n == t.cur-1 && rate*cost <= float64(n)) {
			return n
		}
	}
	return t.max
}
