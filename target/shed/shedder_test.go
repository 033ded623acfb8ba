package shed

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is an Observer that counts, for asserting on what metrics see.
type recorder struct {
	admitted chan time.Duration
	rejected chan Reason
}

func newRecorder() *recorder {
	return &recorder{admitted: make(chan time.Duration, 100), rejected: make(chan Reason, 100)}
}

func (r *recorder) Admitted(wait time.Duration) { r.admitted <- wait }
func (r *recorder) Rejected(reason Reason)      { r.rejected <- reason }

func mustNew(t testing.TB, cfg Config) *Shedder {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type outcome struct {
	name   string
	permit Permit
	reason Reason
}

// arrive starts a request named name in its own goroutine; its outcome is
// sent on out.
func arrive(ctx context.Context, s *Shedder, name string, a Attrs, out chan<- outcome) {
	go func() {
		p, err := s.Acquire(ctx, a)
		var r Reason
		if err != nil && !errors.As(err, &r) {
			panic(err)
		}
		out <- outcome{name: name, permit: p, reason: r}
	}()
}

// collect receives n outcomes that are already decided (call after
// synctest.Wait).
func collect(t *testing.T, out <-chan outcome, n int) []outcome {
	t.Helper()
	var got []outcome
	for range n {
		select {
		case o := <-out:
			got = append(got, o)
		default:
			t.Fatalf("only %d of %d outcomes decided: %v", len(got), n, got)
		}
	}
	return got
}

func none(t *testing.T, out <-chan outcome) {
	t.Helper()
	select {
	case o := <-out:
		t.Fatalf("unexpected outcome %+v", o)
	default:
	}
}

func TestAdmitUpToLimitThenRefuse(t *testing.T) {
	rec := newRecorder()
	s := mustNew(t, Config{Limiter: Static(2), Observer: rec})
	ctx := context.Background()
	p1, err1 := s.Acquire(ctx, Attrs{})
	p2, err2 := s.Acquire(ctx, Attrs{})
	_, err3 := s.Acquire(ctx, Attrs{})
	if err1 != nil || err2 != nil {
		t.Fatalf("first two: %v, %v; want admitted", err1, err2)
	}
	if !errors.Is(err3, ErrShed) || err3 != ReasonLimit {
		t.Fatalf("third: %v, want ReasonLimit matching ErrShed", err3)
	}
	if got := <-rec.rejected; got != ReasonLimit {
		t.Fatalf("observer heard %v, want limit", got)
	}
	if s.InFlight() != 2 {
		t.Fatalf("InFlight %d, want 2", s.InFlight())
	}
	p1.Release(false)
	p2.Release(false)
	if _, err := s.Acquire(ctx, Attrs{}); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if len(rec.admitted) != 3 {
		t.Fatalf("observer heard %d admissions, want 3", len(rec.admitted))
	}
}

func TestFIFOServesOldestAndRefusesWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 2, MaxWait: time.Second})
		ctx := context.Background()
		hold, _ := s.Acquire(ctx, Attrs{})
		out := make(chan outcome, 10)
		for _, n := range []string{"a", "b", "c"} {
			arrive(ctx, s, n, Attrs{}, out)
			synctest.Wait()
			time.Sleep(time.Millisecond)
		}
		if got := collect(t, out, 1); got[0].name != "c" || got[0].reason != ReasonQueueFull {
			t.Fatalf("got %+v, want c refused queue_full", got)
		}
		hold.Release(false)
		synctest.Wait()
		got := collect(t, out, 1)
		if got[0].name != "a" || got[0].reason != 0 {
			t.Fatalf("got %+v, want a admitted first", got)
		}
		if w := got[0].permit.Wait(); w != 3*time.Millisecond {
			t.Fatalf("a waited %v, want 3ms", w)
		}
		got[0].permit.Release(false)
		synctest.Wait()
		if got := collect(t, out, 1); got[0].name != "b" {
			t.Fatalf("got %+v, want b", got)
		} else {
			got[0].permit.Release(false)
		}
	})
}

func TestLIFOServesNewestAndEvictsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 2, MaxWait: time.Second, Discipline: LIFO})
		ctx := context.Background()
		hold, _ := s.Acquire(ctx, Attrs{})
		out := make(chan outcome, 10)
		for _, n := range []string{"a", "b", "c"} {
			arrive(ctx, s, n, Attrs{}, out)
			synctest.Wait()
		}
		if got := collect(t, out, 1); got[0].name != "a" || got[0].reason != ReasonQueueFull {
			t.Fatalf("got %+v, want the oldest (a) refused queue_full", got)
		}
		hold.Release(false)
		synctest.Wait()
		got := collect(t, out, 1)
		if got[0].name != "c" || got[0].reason != 0 {
			t.Fatalf("got %+v, want the newest (c) admitted", got)
		}
		got[0].permit.Release(false)
		synctest.Wait()
		got = collect(t, out, 1)
		if got[0].name != "b" {
			t.Fatalf("got %+v, want b", got)
		}
		got[0].permit.Release(false)
	})
}

func TestMaxWaitAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 5, MaxWait: 50 * time.Millisecond})
		hold, _ := s.Acquire(context.Background(), Attrs{})
		out := make(chan outcome, 10)
		ctx, cancel := context.WithCancel(context.Background())
		arrive(context.Background(), s, "patient", Attrs{}, out)
		arrive(ctx, s, "leaver", Attrs{}, out)
		synctest.Wait()
		cancel()
		synctest.Wait()
		if got := collect(t, out, 1); got[0].name != "leaver" || got[0].reason != ReasonCanceled {
			t.Fatalf("got %+v, want leaver canceled", got)
		}
		time.Sleep(49 * time.Millisecond)
		synctest.Wait()
		none(t, out)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := collect(t, out, 1); got[0].reason != ReasonQueueTimeout {
			t.Fatalf("got %+v, want queue_timeout after MaxWait", got)
		}
		if s.Queued() != 0 {
			t.Fatalf("Queued %d, want 0", s.Queued())
		}
		hold.Release(false)
		if s.InFlight() != 0 {
			t.Fatalf("InFlight %d, want 0", s.InFlight())
		}
	})
}

// TestCoDelSwitchesOnlyAfterInterval: a queue that has been non-empty for
// less than the interval is served FIFO and nobody is dropped, even past
// the target; once it has stayed non-empty for longer than the interval it
// is served LIFO and waiters older than the target are dropped.
func TestCoDelSwitchesOnlyAfterInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 10, MaxWait: 10 * time.Second, Discipline: CoDel})
		ctx := context.Background()
		hold, _ := s.Acquire(ctx, Attrs{})
		out := make(chan outcome, 10)
		arrive(ctx, s, "a", Attrs{}, out) // queue non-empty from t=0
		synctest.Wait()
		time.Sleep(time.Millisecond)
		arrive(ctx, s, "b", Attrs{}, out)
		synctest.Wait()

		// t = 60 ms: non-empty for 60 ms < 100 ms. FIFO, no drop, although
		// a has waited 60 ms ≫ 5 ms.
		time.Sleep(59 * time.Millisecond)
		hold.Release(false)
		synctest.Wait()
		got := collect(t, out, 1)
		if got[0].name != "a" || got[0].reason != 0 {
			t.Fatalf("at 60ms got %+v, want a admitted (FIFO, not yet overloaded)", got)
		}
		hold = got[0].permit

		// t = 150 ms: b still waits, so the queue has been non-empty for
		// 150 ms > 100 ms: overloaded. c and d arrive within the target.
		time.Sleep(88 * time.Millisecond)
		arrive(ctx, s, "c", Attrs{}, out)
		synctest.Wait()
		// c's arrival swept b (waited 147 ms > 5 ms).
		if got := collect(t, out, 1); got[0].name != "b" || got[0].reason != ReasonCoDel {
			t.Fatalf("got %+v, want b dropped by codel", got)
		}
		time.Sleep(time.Millisecond)
		arrive(ctx, s, "d", Attrs{}, out)
		synctest.Wait()
		time.Sleep(2 * time.Millisecond)
		hold.Release(false) // t = 151+2: LIFO → d
		synctest.Wait()
		got = collect(t, out, 1)
		if got[0].name != "d" || got[0].reason != 0 {
			t.Fatalf("got %+v, want d admitted (LIFO while overloaded)", got)
		}
		hold = got[0].permit
		none(t, out)

		// c has now waited 10 ms > 5 ms and the queue is still overloaded:
		// the next dispatch drops it.
		time.Sleep(7 * time.Millisecond)
		hold.Release(false)
		synctest.Wait()
		if got := collect(t, out, 1); got[0].name != "c" || got[0].reason != ReasonCoDel {
			t.Fatalf("got %+v, want c dropped by codel", got)
		}
		// The queue is empty again: the next waiter is served FIFO, however
		// long it waits within the interval.
		hold, _ = s.Acquire(ctx, Attrs{})
		arrive(ctx, s, "e", Attrs{}, out)
		synctest.Wait()
		time.Sleep(90 * time.Millisecond)
		hold.Release(false)
		synctest.Wait()
		got = collect(t, out, 1)
		if got[0].name != "e" || got[0].reason != 0 {
			t.Fatalf("got %+v, want e admitted", got)
		}
		got[0].permit.Release(false)
	})
}

func TestCoDelState(t *testing.T) {
	c := codel{target: 5 * time.Millisecond, interval: 100 * time.Millisecond}
	c.empty(t0)
	cases := []struct {
		at     time.Duration
		queued int
		want   bool
	}{
		{50 * time.Millisecond, 3, false},
		{100 * time.Millisecond, 3, false}, // exactly the interval: not yet
		{101 * time.Millisecond, 3, true},
		{102 * time.Millisecond, 0, false}, // seen empty: resets
		{201 * time.Millisecond, 1, false},
		{203 * time.Millisecond, 1, true},
	}
	for _, k := range cases {
		if got := c.overloaded(t0.Add(k.at), k.queued); got != k.want {
			t.Errorf("overloaded(%v, %d) = %v, want %v", k.at, k.queued, got, k.want)
		}
	}
	if c.expired(t0.Add(5*time.Millisecond), t0) || !c.expired(t0.Add(5*time.Millisecond+1), t0) {
		t.Errorf("expired: want false at exactly the target, true after")
	}
}

// TestDeadlineDropsExactlyTheExpired: with a service time of 10 ms, a
// waiter is dropped at dequeue iff its client's deadline is less than 10 ms
// away (or past); the others are served.
func TestDeadlineDropsExactlyTheExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 10, MaxWait: time.Second,
			ServiceTime: 10 * time.Millisecond, Observer: rec})
		ctx := context.Background()
		hold, _ := s.Acquire(ctx, Attrs{})
		start := time.Now()
		out := make(chan outcome, 10)
		// Release comes at t = 45 ms; service would end at 55 ms.
		deadlines := map[string]time.Duration{
			"gone":       30 * time.Millisecond, // gave up before the release
			"too-soon":   54 * time.Millisecond, // would give up mid-service
			"just-ok":    55 * time.Millisecond, // exactly enough time
			"plenty":     90 * time.Millisecond,
			"no-timeout": 0,
		}
		for _, n := range []string{"gone", "too-soon", "just-ok", "plenty", "no-timeout"} {
			a := Attrs{}
			if d := deadlines[n]; d > 0 {
				a.Deadline = start.Add(d)
			}
			arrive(ctx, s, n, a, out)
			synctest.Wait()
		}
		time.Sleep(45 * time.Millisecond)
		hold.Release(false)
		synctest.Wait()
		got := map[string]outcome{}
		for _, o := range collect(t, out, 3) {
			got[o.name] = o
		}
		for _, n := range []string{"gone", "too-soon"} {
			if got[n].reason != ReasonDeadline {
				t.Errorf("%s: %+v, want dropped for deadline", n, got[n])
			}
		}
		adm, ok := got["just-ok"]
		if !ok || adm.reason != 0 {
			t.Fatalf("just-ok: %+v, want admitted (FIFO, first servable)", adm)
		}
		for range 2 {
			adm.permit.Release(false)
			synctest.Wait()
			o := collect(t, out, 1)[0]
			if o.reason != 0 {
				t.Fatalf("%s: %v, want admitted", o.name, o.reason)
			}
			adm = o
		}
		adm.permit.Release(false)
	})
}

func TestDeadlineCheckedOnArrival(t *testing.T) {
	s := mustNew(t, Config{Limiter: Static(5), ServiceTime: 20 * time.Millisecond})
	now := time.Now()
	cases := []struct {
		left time.Duration
		want Reason
	}{
		{-time.Millisecond, ReasonDeadline},
		{0, ReasonDeadline},
		{19 * time.Millisecond, ReasonDeadline},
		{20 * time.Millisecond, 0},
		{time.Second, 0},
	}
	for _, k := range cases {
		p, r := s.acquire(context.Background(), now, Attrs{Deadline: now.Add(k.left)})
		if r != k.want {
			t.Errorf("with %v left: %v, want %v", k.left, r, k.want)
		}
		if r == 0 {
			p.Release(false)
		}
	}
}

func TestServiceTimeEstimate(t *testing.T) {
	s := mustNew(t, Config{Limiter: Static(5)})
	for _, rtt := range []time.Duration{80, 160} {
		p, r := s.acquire(context.Background(), t0, Attrs{})
		if r != 0 {
			t.Fatal(r)
		}
		p.ReleaseAt(t0.Add(rtt*time.Millisecond), false)
	}
	// 80, then 80 + (160−80)/8 = 90.
	if got := s.ServiceTime(); got != 90*time.Millisecond {
		t.Fatalf("estimate %v, want 90ms", got)
	}
}

func TestPriorityPrefersCritical(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(10), QueueSize: 5, MaxWait: time.Second, SheddableFraction: 0.5})
		ctx := context.Background()
		var held []Permit
		take := func(p Priority) Reason {
			perm, r := s.acquire(ctx, time.Now(), Attrs{Priority: p})
			if r == 0 {
				held = append(held, perm)
			}
			return r
		}
		for i := range 5 {
			if r := take(Sheddable); r != 0 {
				t.Fatalf("sheddable %d below half the limit: %v", i, r)
			}
		}
		if r := take(Sheddable); r != ReasonPriority {
			t.Fatalf("sheddable at half the limit: %v, want priority", r)
		}
		for i := range 5 {
			if r := take(Critical); r != 0 {
				t.Fatalf("critical %d: %v, want admitted up to the limit", i, r)
			}
		}
		// At the limit: critical waits in the queue, sheddable never does.
		out := make(chan outcome, 2)
		arrive(ctx, s, "critical", Attrs{Priority: Critical}, out)
		synctest.Wait()
		none(t, out)
		if r := take(Sheddable); r != ReasonPriority {
			t.Fatalf("sheddable at the limit: %v, want priority", r)
		}
		held[0].Release(false)
		synctest.Wait()
		if o := collect(t, out, 1)[0]; o.reason != 0 {
			t.Fatalf("queued critical: %v, want admitted", o.reason)
		} else {
			held = append(held, o.permit)
		}
		for _, p := range held[1:] {
			p.Release(false)
		}
	})
}

func TestAdmittedWhenCallerGaveUpHandsSlotOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 1, MaxWait: time.Second})
		hold, _ := s.Acquire(context.Background(), Attrs{})
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan outcome, 1)
		arrive(ctx, s, "w", Attrs{}, out)
		synctest.Wait()
		cancel()
		hold.Release(false) // races with the cancel: either way no slot leaks
		synctest.Wait()
		if o := collect(t, out, 1)[0]; o.reason != ReasonCanceled {
			t.Fatalf("got %v, want canceled", o.reason)
		}
		if s.InFlight() != 0 || s.Queued() != 0 {
			t.Fatalf("InFlight %d Queued %d, want 0 0", s.InFlight(), s.Queued())
		}
	})
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{},
		{Limiter: Static(1), QueueSize: -1},
		{Limiter: Static(1), QueueSize: 1},
		{Limiter: Static(1), Discipline: 9},
		{Limiter: Static(1), SheddableFraction: 1.5},
		{Limiter: Static(1), ServiceTime: -1},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("case %d: New(%+v) succeeded, want an error", i, c)
		}
	}
}

func TestReasons(t *testing.T) {
	want := []string{"limit", "queue_full", "queue_timeout", "codel", "deadline", "priority", "tenant_throttle", "canceled", "retry"}
	rs := Reasons()
	if len(rs) != len(want) {
		t.Fatalf("%d reasons, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		if r.String() != want[i] {
			t.Errorf("reason %d: %q, want %q", i, r, want[i])
		}
	}
	if !errors.Is(ReasonTenantThrottle, ErrThrottled) || errors.Is(ReasonTenantThrottle, ErrShed) {
		t.Error("tenant_throttle should match ErrThrottled only")
	}
	if !errors.Is(ReasonCoDel, ErrShed) || errors.Is(ReasonCoDel, ErrThrottled) {
		t.Error("codel should match ErrShed only")
	}
	for _, d := range []Discipline{FIFO, LIFO, CoDel} {
		if got, err := ParseDiscipline(d.String()); err != nil || got != d {
			t.Errorf("ParseDiscipline(%q) = %v, %v", d, got, err)
		}
	}
	if _, err := ParseDiscipline("random"); err == nil {
		t.Error("ParseDiscipline(random) succeeded")
	}
	if ParsePriority("Sheddable") != Sheddable || ParsePriority("") != Critical || ParsePriority("critical") != Critical {
		t.Error("ParsePriority")
	}
}

// TestCoDelWaiterLeavesAtTargetWhenOverloaded: a request that joins a
// queue already overloaded waits at most the target, even if nothing else
// happens in the meantime.
func TestCoDelWaiterLeavesAtTargetWhenOverloaded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := mustNew(t, Config{Limiter: Static(1), QueueSize: 10, MaxWait: 10 * time.Second, Discipline: CoDel})
		ctx := context.Background()
		hold, _ := s.Acquire(ctx, Attrs{})
		out := make(chan outcome, 10)
		arrive(ctx, s, "a", Attrs{}, out)
		synctest.Wait()
		time.Sleep(150 * time.Millisecond)
		none(t, out) // a waits on: not overloaded when it came, MaxWait is 10 s
		arrive(ctx, s, "b", Attrs{}, out)
		synctest.Wait()
		if o := collect(t, out, 1)[0]; o.name != "a" || o.reason != ReasonCoDel {
			t.Fatalf("got %+v, want a swept by codel when b arrived", o)
		}
		time.Sleep(5 * time.Millisecond)
		synctest.Wait()
		none(t, out)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if o := collect(t, out, 1)[0]; o.name != "b" || o.reason != ReasonCoDel {
			t.Fatalf("got %+v, want b gone after the 5 ms target", o)
		}
		hold.Release(false)
	})
}
