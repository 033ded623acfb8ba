package workload

import (
	"math"
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
const lowWindows = 10

// procTuner adapts GOMAXPROCS to the load. A Go process with idle cores
// wakes a thread for each goroutine made ready (to look for work to
// steal); on a small or virtual machine those thread wake-ups, one per
// request at moderate rates, cost more CPU than the requests. A generator
// that needs half a core runs best on one: at 5,000 rps on this project's
// 2-core test machine, one core used 24 µs of CPU per request and two
// 37 µs, with the same lag. vegeta's -cpus sets the number by hand;
// ProcsAuto follows the run, adding a core as soon as the generator's use
// (predicted from the rate ahead) passes busyPerProc of what it has.
//
// A procTuner is used by one goroutine.
type procTuner struct {
	max  int // the most cores to use: GOMAXPROCS when the run began
	cur  int
	low  int // consecutive windows that wanted fewer cores
	cpu  func() (time.Duration, bool)
	set  func(int)     // sets GOMAXPROCS
	last time.Time     // of the previous window
	busy time.Duration // process CPU time at last
	sent uint64        // requests offered at last
}

// newProcTuner returns a tuner between 1 and most cores, starting at most,
// or nil when there is nothing to tune (one core, or the process's CPU time
// cannot be read here).
func newProcTuner(most int, now time.Time, offered uint64) *procTuner {
	busy, ok := processCPU()
	if !ok || most < 2 {
		return nil
	}
	return &procTuner{max: most, cur: most, cpu: processCPU, set: func(n int) { runtime.GOMAXPROCS(n) },
		last: now, busy: busy, sent: offered}
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
	want := procsFor(used, recent, ahead, t.max)
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

// procsFor returns the cores, between 1 and most, for a generator that used
// used cores while offering recent requests/s and is about to offer ahead:
// its use scaled to the rate ahead, at busyPerProc of each core. When it
// offered nothing but is about to, its cost is unknown and it gets most.
func procsFor(used, recent, ahead float64, most int) int {
	need := used
	switch {
	case ahead > 0 && recent <= 0:
		return most
	case ahead > recent:
		need *= ahead / recent
	}
	return min(most, max(1, int(math.Ceil(need/busyPerProc))))
}
