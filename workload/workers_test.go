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
		if !idle.park(chans[i]) {
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
	if idle.park(chans[3]) {
		t.Fatal("park accepted after close")
	}
}
