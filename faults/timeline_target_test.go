package faults

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/results"
)

// The tests in this file drive the real reference target's admin API.

func TestTimelineAgainstTheTargetIsOnTime(t *testing.T) {
	tg := startTarget(t, "tok")
	e2e.UpTo(t, 3, func() error {
		applied, removed := playOnTime(t, tg)
		slices.Sort(applied)
		slices.Sort(removed)
		mApplied, mRemoved := applied[len(applied)/2], removed[len(removed)/2]
		t.Logf("applied: median lateness %v, max %v; removed: median %v, max %v",
			mApplied, applied[len(applied)-1], mRemoved, removed[len(removed)-1])
		if mApplied >= 50*time.Millisecond || mRemoved >= 50*time.Millisecond {
			return fmt.Errorf("median lateness %v (applied), %v (removed), want < 50ms", mApplied, mRemoved)
		}
		return nil
	})
}

// playOnTime plays ten short faults on the target's dependencies and
// returns the lateness of each application and removal.
func playOnTime(t *testing.T, tg *refTarget) (applied, removed []time.Duration) {
	t.Helper()
	var entries []Entry
	for i := range 10 {
		entries = append(entries, Entry{
			Name: fmt.Sprintf("f%d", i), Target: []string{"db", "search"}[i%2],
			At: time.Duration(100+100*i) * time.Millisecond, For: 150 * time.Millisecond,
			Fault: Delay{Delay: time.Duration(i+1) * time.Millisecond},
		})
	}
	var evs events
	tl := &Timeline{Entries: entries, Emit: evs.emit}
	require.NoError(t, tl.Run(t.Context(), time.Now(), Injectors{Target: &TargetInjector{Admin: tg.admin}}))
	for _, ev := range evs.all() {
		late := ev.At - ev.Scheduled
		assert.GreaterOrEqual(t, late, time.Duration(0), "never early: %+v", ev)
		switch ev.Kind {
		case results.EventFaultApplied:
			applied = append(applied, late)
		case results.EventFaultRemoved:
			removed = append(removed, late)
		default:
			t.Errorf("unexpected event %+v", ev)
		}
	}
	require.Len(t, applied, 10)
	require.Len(t, removed, 10)
	return applied, removed
}

func TestTimelineCancelMidWindowRestoresTheDependency(t *testing.T) {
	tg := startTarget(t, "tok")
	ctx := t.Context()
	before, err := tg.admin.Deps(ctx)
	require.NoError(t, err)

	applied := make(chan results.Event, 8)
	tl := &Timeline{
		Entries: []Entry{
			{Name: "slow", Target: "db", For: time.Minute, Fault: Delay{Delay: 500 * time.Millisecond, Jitter: 100 * time.Millisecond}},
			{Name: "brownout", Target: "db", For: time.Minute, Fault: Capacity{Pool: 1}},
			{Name: "errors", Target: "search", Fault: Abort{Status: 503}, Probability: 0.5},
			{Name: "blackhole", Target: "search", Fault: Stall{}},
		},
		Emit: func(ev results.Event) {
			if ev.Kind == results.EventFaultApplied {
				applied <- ev
			}
		},
	}
	runCtx, interrupt := context.WithCancel(ctx) // the in-process stand-in for SIGINT
	done := make(chan error, 1)
	go func() { done <- tl.Run(runCtx, time.Now(), Injectors{Target: &TargetInjector{Admin: tg.admin}}) }()
	for range 4 {
		<-applied
	}
	during, err := tg.admin.Deps(ctx)
	require.NoError(t, err)
	assert.Equal(t, dist.Duration(500*time.Millisecond), during["db"].AddLatency)
	assert.Equal(t, 1, during["db"].Pool)
	assert.Equal(t, 0.5, during["search"].ErrorRate)
	assert.True(t, during["search"].Stall)

	interrupt()
	require.NoError(t, <-done)
	after, err := tg.admin.Deps(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after, "every dependency is back to its snapshot")
}

func TestTimelineRefusesAnUnknownDependencyBeforeTheRun(t *testing.T) {
	tg := startTarget(t, "")
	var evs events
	tl := &Timeline{
		Entries: []Entry{
			{Name: "ok", Target: "db", Fault: Stall{}},
			{Name: "typo", Target: "cache", Fault: Stall{}},
			{Name: "scoped", Target: "db", At: time.Second, For: time.Second, Fault: Delay{Delay: time.Second}, Scope: Scope{Route: "/api"}},
			{Name: "prob", Target: "search", Fault: Delay{Delay: time.Second}, Probability: 0.5},
			{Name: "proxy-only", Target: "search", At: time.Minute, Fault: Bandwidth{BytesPerSecond: 10}},
			{Name: "hot-only", Target: "search", At: time.Hour, For: time.Second, Fault: Stall{}, Scope: Scope{Header: "X-Tenant: hot"}},
		},
		Emit: evs.emit,
	}
	err := tl.Run(t.Context(), time.Now(), Injectors{Target: &TargetInjector{Admin: tg.admin}})
	require.Error(t, err)
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fields = append(fields, fieldOf(t, e))
	}
	assert.Equal(t, []string{"faults[1].target", "faults[2].route", "faults[3].probability", "faults[4].kind", "faults[5].header"}, fields, "%v", err)
	assert.Contains(t, err.Error(), `"cache" is not a dependency of the target (it has db, search)`)
	assert.Empty(t, evs.all(), "nothing was applied")
	db, err := tg.admin.Dep(t.Context(), "db")
	require.NoError(t, err)
	assert.False(t, db.Stall)
}

func TestTimelineReportsARollbackThatFails(t *testing.T) {
	tg := startTarget(t, "")
	applied := make(chan struct{}, 1)
	tl := &Timeline{
		Entries: []Entry{{Name: "blackhole", Target: "db", Fault: Stall{}}},
		Emit: func(ev results.Event) {
			if ev.Kind == results.EventFaultApplied {
				applied <- struct{}{}
			}
		},
		RollbackTimeout: 2 * time.Second,
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx, time.Now(), Injectors{Target: &TargetInjector{Admin: tg.admin}}) }()
	<-applied
	tg.stop() // the target goes away with the fault in place
	cancel()
	err := <-done
	var rb *RollbackError
	require.ErrorAs(t, err, &rb)
	assert.Equal(t, []string{"fault blackhole on db", "settings of dependency db"}, rb.Left)
	assert.Contains(t, err.Error(), "restore dependency db")
}

func TestTimelineCapsTheTargetsConcurrencyAndRestoresIt(t *testing.T) {
	tg := startTarget(t, "tok")
	ctx := t.Context()
	before, err := tg.admin.Admission(ctx)
	require.NoError(t, err)
	require.Equal(t, "none", before["limiter"], "the unprotected preset has no limiter")

	applied := make(chan struct{}, 1)
	tl := &Timeline{
		Entries: []Entry{{Name: "squeeze", Target: TargetService, Fault: Capacity{Concurrency: 2}}},
		Emit: func(ev results.Event) {
			if ev.Kind == results.EventFaultApplied {
				applied <- struct{}{}
			}
		},
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tl.Run(runCtx, time.Now(), Injectors{Target: &TargetInjector{Admin: tg.admin}}) }()
	<-applied
	during, err := tg.admin.Admission(ctx)
	require.NoError(t, err)
	assert.Equal(t, "static", during["limiter"])
	assert.Equal(t, 2.0, during["limit"])
	cancel()
	require.NoError(t, <-done)
	after, err := tg.admin.Admission(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestWithLimitKeepsAdaptiveBoundsValid(t *testing.T) {
	got := withLimit(map[string]any{"limiter": "aimd", "limit": 50.0, "min_limit": 10.0, "max_limit": 200.0}, 4)
	assert.Equal(t, map[string]any{"limiter": "aimd", "limit": 4, "min_limit": 4, "max_limit": 4}, got)
	got = withLimit(map[string]any{"limiter": "gradient", "limit": 50.0, "min_limit": 2.0, "max_limit": 200.0}, 4)
	assert.Equal(t, map[string]any{"limiter": "gradient", "limit": 4, "min_limit": 2.0, "max_limit": 4}, got)
	got = withLimit(map[string]any{"limiter": "static", "limit": 50.0}, 4)
	assert.Equal(t, map[string]any{"limiter": "static", "limit": 4, "min_limit": 0, "max_limit": 0}, got)
	assert.Equal(t, map[string]any{"limiter": "none", "limit": 0, "min_limit": 0, "max_limit": 0}, restoreLimit(map[string]any{"limiter": "none"}))
}
