package workload

import "testing"

// TestIdleWorkersAreLIFO: the most recently idle worker takes the next
// request, reaping ends the ones idle the longest, and after close a worker
// that becomes idle is told to end.
func TestIdleWorkersAreLIFO(t *testing.T) {
	var idle idleWorkers
	chans := make([]chan *request, 4)
	for i := range chans {
		chans[i] = newWorkerChan()
		if next, ok := idle.park(chans[i]); !ok || next != nil {
			t.Fatalf("park %d refused before close", i)
		}
	}
	q := &request{id: 7}
	if !idle.handOff(q) {
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
	if !idle.handOff(q) || <-chans[2] != q {
		t.Fatal("the one idle worker left did not get the request")
	}
	if idle.handOff(q) {
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

// TestRequestsWaitForTheNextIdleWorker: a request that waits goes to a
// worker idle since, or else to the next worker that becomes idle, oldest
// first, even after close; a new worker runs the oldest waiting request
// before a newer one.
func TestRequestsWaitForTheNextIdleWorker(t *testing.T) {
	var idle idleWorkers
	ch := newWorkerChan()
	if _, ok := idle.park(ch); !ok {
		t.Fatal("park refused")
	}
	q1, q2, q3, q4 := &request{id: 1}, &request{id: 2}, &request{id: 3}, &request{id: 4}
	idle.wait(q1)
	if got := <-ch; got != q1 {
		t.Fatalf("the idle worker got %v, want request 1", got)
	}
	if got := idle.oldest(q2); got != q2 {
		t.Fatalf("oldest with none waiting = %v, want the request itself", got)
	}
	idle.wait(q2)
	idle.wait(q3)
	if got := idle.oldest(q4); got != q2 {
		t.Fatalf("oldest = %v, want request 2, which waited longest", got)
	}
	idle.close()
	for _, want := range []*request{q3, q4} {
		if got, ok := idle.park(ch); !ok || got != want {
			t.Fatalf("park after close = %v, %v; want request %d, which waits", got, ok, want.id)
		}
	}
	if got, ok := idle.park(ch); ok || got != nil {
		t.Fatalf("park with nothing waiting after close = %v, %v; want the worker to end", got, ok)
	}
}

// BenchmarkSchedProbe: the dispatcher reads the probe for every request no
// idle worker takes.
func BenchmarkSchedProbe(b *testing.B) {
	p := newSchedProbe()
	b.ReportAllocs()
	for b.Loop() {
		p.backlogged()
	}
}
