package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is an Injector that writes down what it was asked to do and
// when (in synctest's fake time), and fails the calls it is told to.
type recorder struct {
	start      time.Time
	mu         sync.Mutex
	log        []string
	failApply  map[string]bool
	failRemove map[string]bool
	snapshots  int
	restores   int
	deadCtx    bool // a call got a context that had already ended
}

func (r *recorder) note(ctx context.Context, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		r.deadCtx = true
	}
	r.log = append(r.log, fmt.Sprintf(format, args...)+" @"+time.Since(r.start).String())
}

func (r *recorder) Apply(ctx context.Context, e Entry) error {
	r.note(ctx, "apply %s", e.Name)
	if r.failApply[e.Name] {
		return errors.New("refused")
	}
	return nil
}

func (r *recorder) Remove(ctx context.Context, e Entry) error {
	r.note(ctx, "remove %s", e.Name)
	if r.failRemove[e.Name] {
		return errors.New("refused")
	}
	return nil
}

func (r *recorder) Snapshot(context.Context) error { r.snapshots++; return nil }
func (r *recorder) Restore(context.Context) error  { r.restores++; return nil }

func (r *recorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// events collects a timeline's events.
type events struct {
	mu   sync.Mutex
	list []results.Event
}

func (e *events) emit(ev results.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

func (e *events) all() []results.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]results.Event(nil), e.list...)
}

func TestTimelineAppliesAndRemovesOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rec := &recorder{start: start}
		var evs events
		tl := &Timeline{
			Entries: []Entry{
				{Name: "slow", Target: "db", At: time.Second, For: 2 * time.Second, Fault: Delay{Delay: time.Second}},
				{Name: "errors", Target: "db", At: 2 * time.Second, For: time.Second, Fault: Abort{Status: 503}, Probability: 0.5},
				{Name: "burst", Target: "load", At: 1500 * time.Millisecond, Fault: Burst{Requests: 10}},
			},
			Emit: evs.emit,
		}
		load := &recorder{start: start}
		err := tl.Run(t.Context(), start, Injectors{Target: rec, Load: load})
		require.NoError(t, err)
		assert.Equal(t, []string{"apply burst @1.5s"}, load.calls(), "an instant fault is never removed")
		assert.Equal(t, []string{
			"apply slow @1s",
			"apply errors @2s",
			"remove slow @3s", // removals first at the same instant
			"remove errors @3s",
		}, rec.calls())
		assert.Equal(t, 3*time.Second, time.Since(start), "Run returns once the last action is done")
		assert.Equal(t, 1, rec.snapshots)
		assert.Equal(t, 1, rec.restores, "a clean end still restores the snapshot")

		got := evs.all()
		require.Len(t, got, 5)
		assert.Equal(t, "burst", got[1].Name)
		for _, ev := range got {
			assert.Equal(t, ev.Scheduled, ev.At, "no lateness in fake time: %+v", ev)
		}
		assert.Equal(t, results.EventFaultApplied, got[0].Kind)
		assert.Equal(t, "slow", got[0].Name)
		assert.Equal(t, "db", got[0].Target)
		assert.Equal(t, `delay {"delay":"1s"}`, got[0].Detail)
		assert.Equal(t, `abort {"probability":0.5,"status":503}`, got[2].Detail)
		assert.Equal(t, results.EventFaultRemoved, got[4].Kind)
	})
}

func TestTimelineRollsBackOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rec := &recorder{start: start}
		var evs events
		var logs bytes.Buffer
		tl := &Timeline{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Entries: []Entry{
				{Name: "forever", Target: "db", Fault: Stall{}}, // until the run ends
				{Name: "slow", Target: "search", At: time.Second, For: 10 * time.Second, Fault: Delay{Delay: time.Second}},
				{Name: "later", Target: "db", At: 8 * time.Second, For: time.Second, Fault: Abort{Status: 500}},
			},
			Emit: evs.emit,
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		require.NoError(t, tl.Run(ctx, start, Injectors{Target: rec}))
		assert.Equal(t, []string{
			"apply forever @0s",
			"apply slow @1s",
			"remove slow @5s", // newest first
			"remove forever @5s",
		}, rec.calls())
		assert.False(t, rec.deadCtx, "the rollback got a live context after the run's ended")
		assert.Equal(t, 1, rec.restores)
		got := evs.all()
		require.Len(t, got, 4)
		assert.Equal(t, results.EventFaultRemoved, got[2].Kind)
		assert.Contains(t, got[2].Detail, "rollback")
		assert.Equal(t, 5*time.Second, got[2].At)
		assert.Contains(t, logs.String(), `msg="fault rollback" in_place=2 cause="context deadline exceeded"`)
		assert.Contains(t, logs.String(), `msg="fault rollback: removed" fault=forever target=db`)
		assert.Contains(t, logs.String(), `msg="fault rollback done"`)
	})
}

func TestTimelineRollsBackWhenAnApplyFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rec := &recorder{start: start, failApply: map[string]bool{"errors": true}}
		var evs events
		tl := &Timeline{
			Entries: []Entry{
				{Name: "slow", Target: "db", For: 10 * time.Second, Fault: Delay{Delay: time.Second}},
				{Name: "errors", Target: "db", At: time.Second, For: time.Second, Fault: Abort{Status: 503}},
			},
			Emit: evs.emit,
		}
		err := tl.Run(t.Context(), start, Injectors{Target: rec})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "apply fault errors on db")
		assert.Equal(t, []string{"apply slow @0s", "apply errors @1s", "remove slow @1s"}, rec.calls())
		got := evs.all()
		require.Len(t, got, 3)
		assert.Equal(t, results.EventFaultFailed, got[1].Kind)
		assert.Contains(t, got[1].Detail, "refused")
	})
}

func TestTimelineRollbackFailureListsWhatIsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rec := &recorder{start: start, failRemove: map[string]bool{"stuck": true}}
		tl := &Timeline{Entries: []Entry{
			{Name: "stuck", Target: "db", For: 2 * time.Second, Fault: Stall{}},
			{Name: "fine", Target: "search", For: 3 * time.Second, Fault: Stall{}},
		}}
		err := tl.Run(t.Context(), start, Injectors{Target: rec})
		var rb *RollbackError
		require.ErrorAs(t, err, &rb)
		assert.Equal(t, []string{"fault stuck on db"}, rb.Left)
		assert.Contains(t, err.Error(), "left in place: fault stuck on db")
		// The scheduled removal failed at 2s and the rollback tried again.
		assert.Equal(t, []string{"apply stuck @0s", "apply fine @0s", "remove stuck @2s", "remove fine @3s", "remove stuck @3s"}, rec.calls())
	})
}

func TestTimelineRefusesBadDefinitionsBeforeTheRun(t *testing.T) {
	slow := Delay{Delay: time.Second}
	for _, tc := range []struct {
		name    string
		entries []Entry
		field   string
	}{
		{"unknown kind", []Entry{{Name: "a", Target: "db"}}, "faults[0].kind"},
		{"negative for", []Entry{{Name: "a", Target: "db", For: -time.Second, Fault: slow}}, "faults[0].for"},
		{"negative at", []Entry{{Name: "a", Target: "db", At: -time.Second, Fault: slow}}, "faults[0].at"},
		{"probability", []Entry{{Name: "a", Target: "db", Probability: 2, Fault: slow}}, "faults[0].probability"},
		{"duplicate names", []Entry{{Name: "a", Target: "db", For: time.Second, Fault: slow}, {Name: "a", Target: "search", Fault: slow}}, "faults[1].name"},
		{"overlap", []Entry{
			{Name: "a", Target: "db", At: time.Second, For: 5 * time.Second, Fault: slow},
			{Name: "b", Target: "db", At: 3 * time.Second, For: time.Second, Fault: Delay{Delay: 2 * time.Second}},
		}, "faults[1].at"},
		{"overlap with an endless fault", []Entry{
			{Name: "a", Target: "db", At: 10 * time.Second, Fault: Abort{Status: 500}},
			{Name: "b", Target: "db", At: 20 * time.Second, For: time.Second, Fault: Reset{}},
		}, "faults[1].at"},
		{"surge not on the load", []Entry{{Name: "a", Target: "db", Fault: Surge{Multiplier: 2}}}, "faults[0].target"},
		{"stall on the load", []Entry{{Name: "a", Target: "load", Fault: Stall{}}}, "faults[0].kind"},
		{"concurrency on a dependency", []Entry{{Name: "a", Target: "db", Fault: Capacity{Concurrency: 2}}}, "faults[0].concurrency"},
		{"probability on a surge", []Entry{{Name: "a", Target: "load", Probability: 0.5, Fault: Surge{Multiplier: 2}}}, "faults[0].probability"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{start: time.Now()}
			tl := &Timeline{Entries: tc.entries}
			err := tl.Run(t.Context(), time.Now(), Injectors{Target: rec, Load: rec})
			assert.Equal(t, tc.field, fieldOf(t, err), "%v", err)
			assert.Empty(t, rec.calls(), "nothing applied")
			assert.Zero(t, rec.snapshots, "refused before any call to the target")
		})
	}
}

func TestTimelineAcceptsNeighboursAndDifferentKnobs(t *testing.T) {
	tl := &Timeline{Entries: []Entry{
		{Name: "a", Target: "db", At: 0, For: 5 * time.Second, Fault: Delay{Delay: time.Second}},
		{Name: "b", Target: "db", At: 5 * time.Second, For: time.Second, Fault: Delay{Delay: 2 * time.Second}}, // back to back
		{Name: "c", Target: "db", At: time.Second, For: time.Second, Fault: Abort{Status: 503}},                // another knob
		{Name: "d", Target: "search", At: 0, For: 5 * time.Second, Fault: Delay{Delay: time.Second}},           // another target
		{Name: "e", Target: "load", At: 0, Fault: Burst{Requests: 5}},
		{Name: "f", Target: "load", At: 0, Fault: Burst{Requests: 5}}, // instants never conflict
	}}
	assert.NoError(t, tl.Validate())
}

func TestTimelineUnknownTargetWithoutATarget(t *testing.T) {
	tl := &Timeline{Entries: []Entry{{Name: "a", Target: "edge", Fault: Stall{}}}}
	err := tl.Check(t.Context(), Injectors{})
	assert.Equal(t, "faults[0].target", fieldOf(t, err))
	assert.True(t, strings.Contains(err.Error(), "edge"), err.Error())
}

// blocker is an Injector whose Apply blocks until its context ends.
type blocker struct{ recorder }

func (b *blocker) Apply(ctx context.Context, e Entry) error {
	b.note(ctx, "apply %s", e.Name)
	<-ctx.Done()
	return ctx.Err()
}

func TestTimelineInterruptedMidApplyIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b := &blocker{recorder{start: start}}
		tl := &Timeline{Entries: []Entry{{Name: "slow", Target: "db", At: time.Second, Fault: Stall{}}}, ActionTimeout: time.Minute}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		require.NoError(t, tl.Run(ctx, start, Injectors{Target: b}), "the caller ended the run")
		assert.Equal(t, []string{"apply slow @1s"}, b.calls(), "nothing was in place to remove")
		assert.Equal(t, 1, b.restores, "the snapshot is restored all the same")
	})
}

// slowApply is an Injector whose Apply takes d (in fake time).
type slowApply struct {
	recorder
	d time.Duration
}

func (s *slowApply) Apply(ctx context.Context, e Entry) error {
	s.note(ctx, "apply %s", e.Name)
	select {
	case <-time.After(s.d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestTimelineASlowInjectorDoesNotDelayTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		slow := &slowApply{recorder: recorder{start: start}, d: 5 * time.Second}
		c := &controls{start: start}
		var evs events
		tl := &Timeline{
			Entries: []Entry{
				{Name: "brownout", Target: "db", For: 10 * time.Second, Fault: Capacity{Pool: 1}},
				{Name: "surge", Target: "load", At: time.Second, For: time.Second, Fault: Surge{Multiplier: 2}},
			},
			Emit:          evs.emit,
			ActionTimeout: time.Minute,
		}
		require.NoError(t, tl.Run(t.Context(), start, Injectors{Target: slow, Load: &LoadInjector{Load: c}}))
		assert.Equal(t, []string{"rate×2 @1s", "rate×1 @2s"}, c.calls, "the surge kept its time while the target was slow")
		var late []time.Duration
		for _, ev := range evs.all() {
			late = append(late, ev.At-ev.Scheduled)
		}
		assert.Equal(t, []time.Duration{0, 0, 5 * time.Second, 0}, late, "surge on time; brownout applied 5s late, removed on time")
	})
}

// hangingRemove is an Injector whose Remove of one fault never returns
// before its context ends.
type hangingRemove struct {
	recorder
	stuck string
}

func (h *hangingRemove) Remove(ctx context.Context, e Entry) error {
	h.note(ctx, "remove %s", e.Name)
	if e.Name == h.stuck {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func TestTimelineRollbackGoesOnPastAHangingCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := &hangingRemove{recorder: recorder{start: start}, stuck: "b"}
		tl := &Timeline{
			Entries: []Entry{
				{Name: "a", Target: "db", Fault: Stall{}},
				{Name: "b", Target: "search", Fault: Stall{}},
			},
			ActionTimeout:   2 * time.Second,
			RollbackTimeout: 10 * time.Second,
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := tl.Run(ctx, start, Injectors{Target: h})
		var rb *RollbackError
		require.ErrorAs(t, err, &rb)
		assert.Equal(t, []string{"fault b on search"}, rb.Left)
		assert.Equal(t, []string{"apply a @0s", "apply b @0s", "remove b @1s", "remove a @3s"}, h.calls(),
			"b's removal gave up after ActionTimeout and a's still happened")
		assert.Equal(t, 1, h.restores)
	})
}
