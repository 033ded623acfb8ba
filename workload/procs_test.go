package workload

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestProcsFor(t *testing.T) {
	for _, c := range []struct {
		name                string
		used, recent, ahead float64
		most, want          int
	}{
		{"idle", 0, 0, 0, 4, 1},
		{"light load fits one core", 0.2, 5000, 5000, 4, 1},
		{"past busyPerProc of one core", 0.7, 5000, 5000, 4, 2},
		{"rate ahead doubles", 0.4, 5000, 10000, 4, 2},
		{"rate ahead halves: use as measured", 1.3, 20000, 10000, 4, 3},
		{"never more than most", 5, 50000, 50000, 2, 2},
		{"load after silence: cost unknown", 0, 0, 100, 4, 4},
	} {
		if got := procsFor(c.used, c.recent, c.ahead, c.most); got != c.want {
			t.Errorf("%s: procsFor(%v, %v, %v, %d) = %d, want %d", c.name, c.used, c.recent, c.ahead, c.most, got, c.want)
		}
	}
}

// TestProcTunerAddsAtOnceAndRemovesSlowly drives a tuner with a fake CPU
// clock: a core is added in the window the load needs it, and taken away
// only after lowWindows windows in a row wanted fewer.
func TestProcTunerAddsAtOnceAndRemovesSlowly(t *testing.T) {
	var busy time.Duration
	var sets []int
	now := time.Unix(0, 0)
	tu := &procTuner{max: 2, cur: 2, last: now,
		cpu: func() (time.Duration, bool) { return busy, true },
		set: func(n int) { sets = append(sets, n) }}
	var offered uint64
	window := func(cores float64, rate float64) {
		now = now.Add(tuneEvery)
		busy += time.Duration(cores * float64(tuneEvery))
		offered += uint64(rate * tuneEvery.Seconds())
		tu.tick(now, offered, rate)
	}
	for range lowWindows - 1 {
		window(0.1, 1000)
	}
	if len(sets) != 0 {
		t.Fatalf("after %d light windows GOMAXPROCS set to %v, want unchanged", lowWindows-1, sets)
	}
	window(0.1, 1000)
	if len(sets) != 1 || sets[0] != 1 || tu.cur != 1 {
		t.Fatalf("after %d light windows: sets %v, cur %d; want one core", lowWindows, sets, tu.cur)
	}
	window(0.9, 10000)
	if len(sets) != 2 || sets[1] != 2 {
		t.Fatalf("a busy window set %v, want a second core at once", sets)
	}
	window(0.1, 1000)
	window(0.9, 10000) // a busy window resets the count of light ones
	for range lowWindows - 1 {
		window(0.1, 1000)
	}
	if len(sets) != 2 {
		t.Fatalf("sets %v: a core was taken away before %d light windows in a row", sets, lowWindows)
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

// TestIdleWorkersAreReapedAfterASurge: the workers a burst of slow
// requests needed end about reapAfter after the burst is over, while the
// run goes on at a low rate.
func TestIdleWorkersAreReapedAfterASurge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pc := newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id, _ := strconv.ParseUint(r.Header.Get("X-Request-Id"), 10, 64); id&burstBit != 0 {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 10, 6*time.Second)
		cfg.Client = pc.Client
		r := newRunner(t, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel() // a failed check ends the run, and so the bubble
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, &memSink{}) }()
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
