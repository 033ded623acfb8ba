package workload

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func TestProcTunerWant(t *testing.T) {
	for _, c := range []struct {
		name                string
		used, recent, ahead float64
		cur, most, want     int
	}{
		{"idle", 0, 0, 0, 4, 4, 1},
		{"light load fits one core", 0.2, 5000, 5000, 4, 4, 1},
		{"past busyPerProc of one core", 0.7, 5000, 5000, 4, 4, 2},
		{"rate ahead doubles", 0.4, 5000, 10000, 4, 4, 2},
		{"rate ahead halves: use as measured", 1.3, 20000, 10000, 4, 4, 3},
		{"never more than most", 5, 50000, 50000, 2, 2, 2},
		{"load after silence: cost unknown", 0, 0, 100, 4, 4, 4},
		{"would fit on one core fewer, fully busy: try it", 0.8, 20000, 20000, 2, 2, 1},
		{"would not fit on one core fewer even fully busy", 1.1, 20000, 20000, 2, 2, 2},
		{"a try is one core fewer than now, not two", 2, 20000, 20000, 4, 4, 3},
	} {
		tu := &procTuner{max: c.most, cur: c.cur, cost: make([]coreCost, c.most)}
		if got := tu.want(c.used, c.recent, c.ahead, time.Time{}); got != c.want {
			t.Errorf("%s: want(%v, %v, %v) at %d of %d cores = %d, want %d", c.name, c.used, c.recent, c.ahead, c.cur, c.most, got, c.want)
		}
	}
}

// fakeTuner is a procTuner on a fake CPU clock: each window's CPU use is
// what cores(n) says a rate costs at n cores.
type fakeTuner struct {
	*procTuner
	now     time.Time
	busy    time.Duration
	offered uint64
	sets    []int
}

func newFakeTuner(most int) *fakeTuner {
	f := &fakeTuner{now: time.Unix(0, 0)}
	f.procTuner = &procTuner{max: most, cur: most, cost: make([]coreCost, most), last: f.now,
		cpu: func() (time.Duration, bool) { return f.busy, true },
		set: func(n int) { f.sets = append(f.sets, n) }}
	return f
}

// window plays one tuneEvery at rate, using perRequest(cur) core-seconds a
// request.
func (f *fakeTuner) window(rate float64, perRequest func(cores int) float64) {
	f.now = f.now.Add(tuneEvery)
	f.busy += time.Duration(rate * perRequest(f.cur) * float64(tuneEvery))
	f.offered += uint64(rate * tuneEvery.Seconds())
	f.tick(f.now, f.offered, rate)
}

// TestProcTunerTriesOneCoreFewer: a load that keeps two cores 40% busy
// (over busyPerProc of one at that cost) but costs half as much a request
// on one core moves to one core after lowWindows windows and stays there;
// one that costs as much on one core comes back to two in the next
// window, and is not tried again while the rate holds.
func TestProcTunerTriesOneCoreFewer(t *testing.T) {
	const rate = 20000
	cheaper := func(cores int) float64 { return float64(cores) * 20e-6 } // 20 µs on one core, 40 on two
	f := newFakeTuner(2)
	for range lowWindows - 1 {
		f.window(rate, cheaper)
	}
	if len(f.sets) != 0 {
		t.Fatalf("after %d windows GOMAXPROCS set to %v: a try made before %d", lowWindows-1, f.sets, lowWindows)
	}
	for range 20 {
		f.window(rate, cheaper)
	}
	if f.cur != 1 || len(f.sets) != 1 {
		t.Fatalf("cheaper on one core: GOMAXPROCS set %v, now %d; want one move to 1", f.sets, f.cur)
	}

	same := func(int) float64 { return 40e-6 }
	f = newFakeTuner(2)
	for range lowWindows {
		f.window(rate, same)
	}
	if f.cur != 1 {
		t.Fatalf("after %d windows: %d cores, want the try of one", lowWindows, f.cur)
	}
	f.window(rate, same)
	if f.cur != 2 {
		t.Fatalf("one core 80%% busy: %d cores after a window, want 2 back at once", f.cur)
	}
	for range 5 * lowWindows {
		f.window(rate, same)
	}
	if len(f.sets) != 2 {
		t.Fatalf("GOMAXPROCS set %v: the failed try was made again at the same rate", f.sets)
	}
	for range lowWindows {
		f.window(rate/2, same) // half the rate: one core 40% busy
	}
	if f.cur != 1 {
		t.Fatalf("at half the rate: %d cores, want 1", f.cur)
	}
}

// TestProcTunerAddsAtOnceAndRemovesSlowly drives a tuner with a fake CPU
// clock: a core is added in the window the load needs it, and taken away
// only after lowWindows windows in a row wanted fewer.
func TestProcTunerAddsAtOnceAndRemovesSlowly(t *testing.T) {
	f := newFakeTuner(2)
	light := func(int) float64 { return 100e-6 } // 0.1 core at 1,000 rps, 1 at 10,000
	for range lowWindows - 1 {
		f.window(1000, light)
	}
	if len(f.sets) != 0 {
		t.Fatalf("after %d light windows GOMAXPROCS set to %v, want unchanged", lowWindows-1, f.sets)
	}
	f.window(1000, light)
	if len(f.sets) != 1 || f.sets[0] != 1 || f.cur != 1 {
		t.Fatalf("after %d light windows: sets %v, cur %d; want one core", lowWindows, f.sets, f.cur)
	}
	f.window(9000, light)
	if len(f.sets) != 2 || f.sets[1] != 2 {
		t.Fatalf("a busy window set %v, want a second core at once", f.sets)
	}
	f.window(1000, light)
	f.window(9000, light) // a busy window resets the count of light ones
	for range lowWindows - 1 {
		f.window(1000, light)
	}
	if len(f.sets) != 2 {
		t.Fatalf("sets %v: a core was taken away before %d light windows in a row", f.sets, lowWindows)
	}
	f.window(1000, light)
	if len(f.sets) != 3 || f.sets[2] != 1 {
		t.Fatalf("after %d light windows in a row: sets %v, want the added core taken away", lowWindows, f.sets)
	}
}

// TestProcTunerTriesAgainAfterCostAge: a try of one core fewer that
// failed is made again once its cost is older than costAge, though the
// rate has not moved, and only then.
func TestProcTunerTriesAgainAfterCostAge(t *testing.T) {
	const rate = 20000
	same := func(int) float64 { return 40e-6 } // one core 80% busy
	f := newFakeTuner(2)
	for len(f.sets) < 2 {
		f.window(rate, same)
	}
	if f.sets[0] != 1 || f.sets[1] != 2 {
		t.Fatalf("GOMAXPROCS set %v, want a try of one core given back", f.sets)
	}
	for range int(costAge/tuneEvery) - 1 {
		f.window(rate, same)
	}
	if len(f.sets) != 2 {
		t.Fatalf("GOMAXPROCS set %v: the failed try was made again within %v", f.sets, costAge)
	}
	for range lowWindows + 1 {
		f.window(rate, same)
	}
	if len(f.sets) != 4 || f.sets[2] != 1 || f.sets[3] != 2 {
		t.Fatalf("GOMAXPROCS set %v after %v and %d windows; want the try made again, and given back", f.sets, costAge, lowWindows)
	}
}

// TestProcTunerIsNotMovedByOneCostlyWindow: on one core, one window whose
// requests cost more than three times as much (the core fully busy: a
// stall caught up) leaves the tuner there; two in a row give it a second
// core.
func TestProcTunerIsNotMovedByOneCostlyWindow(t *testing.T) {
	const rate = 10000
	cost := 30e-6 // on one core; twice as much on two
	perRequest := func(cores int) float64 { return float64(cores) * cost }
	f := newFakeTuner(2)
	for f.cur == 2 && len(f.sets) == 0 {
		f.window(rate, perRequest)
	}
	for range 5 {
		f.window(rate, perRequest)
	}
	if f.cur != 1 {
		t.Fatalf("at 30 µs a request on one core: %d cores, want 1", f.cur)
	}
	cost = 100e-6
	f.window(rate, perRequest)
	cost = 30e-6
	for range 5 {
		f.window(rate, perRequest)
	}
	if f.cur != 1 || len(f.sets) != 1 {
		t.Fatalf("after one costly window: GOMAXPROCS set %v, now %d; want 1, unchanged", f.sets, f.cur)
	}
	cost = 100e-6
	f.window(rate, perRequest)
	f.window(rate, perRequest)
	if f.cur != 2 {
		t.Fatalf("after two costly windows in a row: %d cores, want 2", f.cur)
	}
}

// TestRunRestoresGOMAXPROCS: whatever Procs does during a run, the process
// gets its GOMAXPROCS back when Run returns.
func TestRunRestoresGOMAXPROCS(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ts.Close()
	srv := ts.URL
	for _, procs := range []int{1, ProcsAuto} {
		cfg := constantConfig(srv, 200, 500*time.Millisecond)
		cfg.Procs = procs
		r := newRunner(t, cfg)
		if err := r.Run(context.Background(), &memSink{}); err != nil {
			t.Fatal(err)
		}
		if got := runtime.GOMAXPROCS(0); got != before {
			t.Fatalf("Procs %d: GOMAXPROCS %d after Run, want %d", procs, got, before)
		}
	}
	if _, err := New(Config{Schedule: mustSchedule(t, Constant(time.Second, 1)), Mix: []Template{{URL: srv}}, Procs: -2}); err == nil {
		t.Fatal("Procs -2 accepted")
	}
}

// TestWorkersOfABurstBetweenTicksAreKept: the workers of a burst that
// starts and ends between two of the tending's ticks are kept for
// reapAfter, as those of one a tick saw, and reaped after it: the
// tending reaps by the most requests in flight since its last tick, not
// by how many were in flight at the tick.
func TestWorkersOfABurstBetweenTicksAreKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const burst = 50
		pc := newBurstClient(func(*http.Request) { time.Sleep(tuneEvery / 5) })
		defer pc.Close()
		cfg := constantConfig("http://svc/", 10, 4*time.Second)
		cfg.Client = pc.Client
		r, done, cancel := runInBackground(t, cfg, &memSink{})
		defer cancel()                        // a failed check ends the run, and so the bubble
		time.Sleep(5*tuneEvery + tuneEvery/2) // between two ticks
		r.Burst(burst)
		time.Sleep(2 * tuneEvery) // the burst is over, and two ticks passed
		synctest.Wait()
		if st := r.Stats(); st.InFlight > 1 || st.Workers < burst {
			t.Fatalf("two ticks after a burst of %d: %d workers (%d in flight), want ≥ %d", burst, st.Workers, st.InFlight, burst)
		}
		time.Sleep(reapAfter)
		synctest.Wait()
		if st := r.Stats(); st.Workers > 5 {
			t.Fatalf("%v after the burst %d workers (%d in flight), want ≤ 5", reapAfter+2*tuneEvery, st.Workers, st.InFlight)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestIdleWorkersAreReapedAfterASurge: the workers a burst of slow
// requests needed end about reapAfter after the burst is over, while the
// run goes on at a low rate.
func TestIdleWorkersAreReapedAfterASurge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pc := newBurstClient(func(r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer pc.Close()
		cfg := constantConfig("http://svc/", 10, 6*time.Second)
		cfg.Client = pc.Client
		r, done, cancel := runInBackground(t, cfg, &memSink{})
		defer cancel() // a failed check ends the run, and so the bubble
		time.Sleep(500 * time.Millisecond)
		r.Burst(300)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if st := r.Stats(); st.Workers < 300 {
			t.Fatalf("during the burst %d workers, want ≥ 300", st.Workers)
		}
		close(release)
		time.Sleep(reapAfter + 3*tuneEvery)
		synctest.Wait()
		if st := r.Stats(); st.Workers > 5 {
			t.Fatalf("%v after the burst %d workers (%d in flight), want ≤ 5", reapAfter+3*tuneEvery, st.Workers, st.InFlight)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
