package workload

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// TestIdleWorkersAreLIFO: the most recently idle worker takes the next
// request, reaping ends the ones idle the longest, and after close a worker
// that becomes idle is told to end.
func TestIdleWorkersAreLIFO(t *testing.T) {
	var idle idleWorkers
	chans := make([]chan *request, 4)
	for i := range chans {
		chans[i] = newWorkerChan()
		if q, ok := idle.park(chans[i]); !ok || q != nil {
			t.Fatalf("park %d refused before close", i)
		}
	}
	q := &request{id: 7}
	if !idle.handOff(q, 0, 0) {
		t.Fatal("handOff found no idle worker")
	}
	select {
	case got := <-chans[3]:
		if got != q {
			t.Fatalf("the last parked worker got %v, want the request", got)
		}
	default:
		t.Fatal("the request did not go to the most recently idle worker")
	}

	idle.reap(2) // chans 0 and 1 have been idle the longest
	for i, ch := range chans[:2] {
		select {
		case got := <-ch:
			if got != nil {
				t.Fatalf("reaped worker %d got a request", i)
			}
		default:
			t.Fatalf("worker %d, idle the longest, was not reaped", i)
		}
	}
	if len(chans[2]) != 0 {
		t.Fatal("reap(2) ended a third worker")
	}
	if !idle.handOff(q, 0, 0) || <-chans[2] != q {
		t.Fatal("the one idle worker left did not get the request")
	}
	if idle.handOff(q, 0, 0) {
		t.Fatal("handOff succeeded with no idle worker")
	}

	idle.park(chans[2])
	idle.close()
	if got := <-chans[2]; got != nil {
		t.Fatal("close handed an idle worker a request")
	}
	if _, ok := idle.park(chans[3]); ok {
		t.Fatal("park accepted after close")
	}
}

// TestRequestsWaitForTheNextWorkerOldestFirst: with no worker idle, a
// request waits while there is room, a worker that finishes takes the
// oldest before it parks (also after close), and takeWaitingSince and
// takeAllWaitingSince take only those that began waiting by then.
func TestRequestsWaitForTheNextWorkerOldestFirst(t *testing.T) {
	var idle idleWorkers
	a, b, c := &request{id: 1}, &request{id: 2}, &request{id: 3}
	if !idle.handOff(a, 2, 10*time.Millisecond) || !idle.handOff(b, 2, 20*time.Millisecond) {
		t.Fatal("a request did not wait with room to")
	}
	if idle.handOff(c, 2, 30*time.Millisecond) {
		t.Fatal("a third request waited with room for two")
	}
	if q := idle.takeWaitingSince(5 * time.Millisecond); q != nil {
		t.Fatalf("took request %d, which began waiting after the offset", q.id)
	}
	if q := idle.takeWaitingSince(10 * time.Millisecond); q != a {
		t.Fatalf("took %v, want the oldest, request 1", q)
	}
	if got := idle.takeAllWaitingSince(15 * time.Millisecond); len(got) != 0 {
		t.Fatalf("took %d requests, none of which began waiting by 15 ms", len(got))
	}
	if !idle.handOff(c, 2, 30*time.Millisecond) {
		t.Fatal("request 3 did not wait once there was room")
	}
	if got := idle.takeAllWaitingSince(time.Hour); len(got) != 2 || got[0] != b || got[1] != c {
		t.Fatalf("took %v, want requests 2 and 3, oldest first", got)
	}
	idle.handOff(b, 2, 20*time.Millisecond)
	idle.handOff(c, 2, 30*time.Millisecond)
	ch := newWorkerChan()
	idle.close()
	for _, want := range []*request{b, c} {
		if q, ok := idle.park(ch); q != want || !ok {
			t.Fatalf("a finishing worker got %v, %v; want request %d", q, ok, want.id)
		}
	}
	if q, ok := idle.park(ch); q != nil || ok {
		t.Fatal("a worker parked after close with no request waiting")
	}
}

// TestWaitingRequestsGetWorkersAtOnceWhenOnTimeAndSparinglyWhenLate: the
// dispatcher starts a worker for a request that has waited maxWaiting at
// once while it is on time, and while it is late at most one each
// lateStartGap (for fewer than lateStartsPer workers).
func TestWaitingRequestsGetWorkersAtOnceWhenOnTimeAndSparinglyWhenLate(t *testing.T) {
	var idle idleWorkers
	var started []*request
	d := dispatcher{r: &Runner{}, idle: &idle, start: func(q *request) { started = append(started, q) }}
	for i := range 5 {
		idle.handOff(&request{id: uint64(i)}, 5, 0)
	}
	d.startWaiting(maxWaiting-time.Microsecond, true)
	if len(started) != 0 {
		t.Fatal("started a worker for a request that had not waited maxWaiting")
	}
	now := maxWaiting
	d.startWaiting(now, true)
	d.startWaiting(now, true)
	if len(started) != 2 {
		t.Fatalf("on time: started %d workers, want 2", len(started))
	}
	d.startWaiting(now, false)
	d.startWaiting(now+lateStartGap/2, false)
	if len(started) != 3 {
		t.Fatalf("late: started %d workers within lateStartGap, want 1 more", len(started)-2)
	}
	d.startWaiting(now+lateStartGap, false)
	if len(started) != 4 || started[3].id != 3 {
		t.Fatalf("late: after lateStartGap started %d workers, want 4, oldest first", len(started))
	}
}

// TestNoRequestWaitsBelowMinWorkersToWait: the waiting room is empty
// until minWorkersToWait workers run, then holds what finishes in
// maxWaiting.
func TestNoRequestWaitsBelowMinWorkersToWait(t *testing.T) {
	var r Runner
	r.finishing.Store(100_000) // a second
	r.workers.Store(minWorkersToWait - 1)
	if n := r.waitingRoom(0); n != 0 {
		t.Fatalf("%d workers: room for %d, want 0", minWorkersToWait-1, n)
	}
	r.workers.Store(minWorkersToWait)
	if n, want := r.waitingRoom(0), int(100_000*maxWaiting/time.Second); n != want {
		t.Fatalf("%d workers: room for %d, want %d", minWorkersToWait, n, want)
	}
}

// TestABacklogDropsOnlyOnceItHasOutlastedItsGrace: the requests not yet
// sent (less those in the waiting room) may outnumber BacklogDelay of
// the offered rate for backlogGrace; after that, and at once when the
// last drop was within backlogGrace (the run's start counts as one), new
// requests are dropped until the backlog is back under its limit.
func TestABacklogDropsOnlyOnceItHasOutlastedItsGrace(t *testing.T) {
	r := &Runner{}
	r.offering.Store(100_000) // a second: a limit of 1,000 requests
	d := dispatcher{r: r, idle: &idleWorkers{}}
	at := func(now time.Duration, unsent int64, want bool) {
		t.Helper()
		r.unsent.Store(unsent)
		if got := d.backlogged(now); got != want {
			t.Fatalf("at %v with %d unsent (%d in the waiting room): backlogged %v, want %v", now, unsent, d.idle.nWaiting.Load(), got, want)
		}
	}
	at(10*time.Millisecond, 1001, true) // the start counts as a drop
	at(20*time.Millisecond, 1000, false)
	at(time.Second, 1001, false) // deep: the grace begins
	at(time.Second+backlogGrace-time.Millisecond, 5000, false)
	at(time.Second+backlogGrace, 1001, true)
	at(time.Second+backlogGrace+time.Millisecond, 1000, false)
	at(time.Second+backlogGrace+2*time.Millisecond, 1001, true) // again within backlogGrace of the last drop
	at(2*time.Second, 500, false)
	at(3*time.Second, 1001, false) // a new grace
	d.idle.nWaiting.Store(500)     // they wait for a worker by choice
	at(3*time.Second+backlogGrace, 1501, true)
	at(3*time.Second+backlogGrace+time.Millisecond, 1500, false)
	d.idle.nWaiting.Store(0)
	r.offering.Store(1000) // 10 in BacklogDelay: the floor holds
	at(5*time.Second, backlogFloor, false)
	at(5*time.Second+backlogGrace, backlogFloor+1, false) // the grace begins
	at(5*time.Second+2*backlogGrace, backlogFloor+1, true)
}

// TestNoRequestWaitsForTheWorkersOfASlowService: against a service that
// holds each request longer than a request may wait for a worker (50 ms
// here), a request that finds every worker busy gets a worker of its own
// at once, from the first requests on: waiting would only delay it until
// one of them answered, while the pool grows to what the service holds.
func TestNoRequestWaitsForTheWorkersOfASlowService(t *testing.T) {
	for _, tc := range []struct {
		hold     time.Duration
		from, to float64 // rps for 150 ms each
	}{
		{50 * time.Millisecond, 3000, 3000},  // 150 in flight
		{10 * time.Millisecond, 2000, 20000}, // a surge to 200 in flight; over slowHold, under maxWaiting
	} {
		t.Run(tc.hold.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pc := newPipeClient(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(tc.hold) }))
				defer pc.Close()
				cfg := constantConfig("http://svc/", tc.from, 0)
				cfg.Schedule, _ = NewSchedule(Constant(150*time.Millisecond, tc.from), Constant(150*time.Millisecond, tc.to))
				cfg.Client = pc.Client
				var sink memSink
				if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
					t.Fatal(err)
				}
				rs := sink.results()
				if tl, want := count(t, rs), int((tc.from+tc.to)*0.15); tl.finals[results.OutcomeOK] != want {
					t.Fatalf("finals %v, want %d ok", tl.finals, want)
				}
				for _, res := range rs {
					if lag := res.Start - res.Intended; lag > time.Millisecond {
						t.Fatalf("request %d, due at %v, waited %v to start", res.RequestID, res.Intended, lag)
					}
				}
			})
		})
	}
}

// TestRequestsWaitForBusyWorkersAtMostMaxWaiting: while requests finish
// often and minWorkersToWait workers run, a request that finds every
// worker busy waits for one rather than starting another, for at most
// maxWaiting; once they stop finishing (the last tuning window saw none),
// each gets a worker of its own at once.
func TestRequestsWaitForBusyWorkersAtMostMaxWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pc := newHeldClient(release)
		defer pc.Close()
		// 20,000 rps: 200 workers ready (readyFor), requests assumed to
		// finish 20,000 a second until measured: room for 400 to wait.
		cfg := constantConfig("http://svc/", 20000, 150*time.Millisecond)
		cfg.Client = pc.Client
		var sink memSink
		r, done, cancel := runInBackground(t, cfg, &sink)
		defer cancel() // a failed check ends the run, and so the bubble
		time.Sleep(15 * time.Millisecond)
		synctest.Wait()
		if st := r.Stats(); st.Workers != 200 || st.InFlight < 300 {
			t.Fatalf("at 15 ms: %d workers, %d in flight; want the 200 ready ones busy and the rest waiting", st.Workers, st.InFlight)
		}
		time.Sleep(200 * time.Millisecond)
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		waited := 0
		for _, res := range sink.results() {
			lag := res.Start - res.Intended
			switch {
			case res.Outcome != results.OutcomeOK:
				t.Fatalf("request %d: %v", res.RequestID, res.Outcome)
			case lag > maxWaiting+2*time.Millisecond:
				t.Fatalf("request %d waited %v for a worker, want ≤ %v", res.RequestID, lag, maxWaiting)
			case res.Intended > tuneEvery+10*time.Millisecond && lag > 0:
				t.Fatalf("request %d, due at %v when none had finished for a tuning window, waited %v", res.RequestID, res.Intended, lag)
			case lag >= maxWaiting-time.Millisecond:
				waited++
			}
		}
		if waited < 200 {
			t.Fatalf("%d requests waited about maxWaiting for a worker, want ≥ 200", waited)
		}
	})
}

// TestRequestsWaitingWhenTheScheduleEndsGetWorkers: once the schedule is
// over, no dispatcher starts workers for waiting requests; the run starts
// them at once rather than leave them to the busy workers.
func TestRequestsWaitingWhenTheScheduleEndsGetWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pc := newHeldClient(release)
		defer pc.Close()
		cfg := constantConfig("http://svc/", 20000, 15*time.Millisecond) // 200 workers ready
		cfg.Client = pc.Client
		r, done, cancel := runInBackground(t, cfg, &memSink{})
		defer cancel() // a failed check ends the run, and so the bubble
		time.Sleep(16 * time.Millisecond)
		synctest.Wait()
		if st := r.Stats(); st.InFlight != 300 || st.Workers != 300 {
			t.Fatalf("after the schedule: %d workers, %d in flight; want a worker for each of 300", st.Workers, st.InFlight)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestRequestsWaitingWithNoneDueGetWorkersFromTheTending: when no request
// is due, no dispatcher starts workers for the waiting ones; the tending
// does once they have waited maxWaitingStuck.
func TestRequestsWaitingWithNoneDueGetWorkersFromTheTending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		pc := newHeldClient(release)
		defer pc.Close()
		// 200 workers ready; nothing due from 15 ms to 525 ms.
		s, err := NewSchedule(Constant(15*time.Millisecond, 20000), Constant(500*time.Millisecond, 0), Constant(time.Second, 100))
		if err != nil {
			t.Fatal(err)
		}
		cfg := constantConfig("http://svc/", 1, time.Second)
		cfg.Schedule, cfg.Client = s, pc.Client
		r, done, cancel := runInBackground(t, cfg, &memSink{})
		defer cancel() // a failed check ends the run, and so the bubble
		time.Sleep(90 * time.Millisecond)
		synctest.Wait()
		if st := r.Stats(); st.InFlight != 301 || st.Workers != 200 {
			t.Fatalf("at 90 ms: %d workers, %d in flight; want 200 busy and 101 waiting", st.Workers, st.InFlight)
		}
		time.Sleep(maxWaitingStuck + tuneEvery)
		synctest.Wait()
		if st := r.Stats(); st.Workers != 301 {
			t.Fatalf("%v later: %d workers for %d in flight; want one each", maxWaitingStuck+tuneEvery, st.Workers, st.InFlight)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkDispatchToAnIdleWorker: what the dispatcher does per request
// when a worker is idle (hand it the request, then look for a request that
// has waited too long), and the worker's parking after it.
func BenchmarkDispatchToAnIdleWorker(b *testing.B) {
	var idle idleWorkers
	d := dispatcher{r: &Runner{}, idle: &idle, start: func(*request) { b.Fatal("started a worker") }}
	ch := newWorkerChan()
	idle.park(ch)
	q := &request{}
	b.ReportAllocs()
	for i := range b.N {
		now := time.Duration(i) * time.Microsecond
		if !idle.handOff(q, 0, now) {
			b.Fatal("no idle worker")
		}
		d.startWaiting(now, true)
		<-ch
		idle.park(ch)
	}
}
