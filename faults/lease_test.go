package faults

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/targetadmin"
	"github.com/goodput-dev/goodput/results"
)

// renewer is a recorder whose faults hold for a lease: it writes down
// each renewal too.
type renewer struct {
	*recorder
	every time.Duration
}

func (r *renewer) RenewEvery() time.Duration { return r.every }

func (r *renewer) Renew(ctx context.Context, e Entry) error {
	r.note(ctx, "renew %s", e.Name)
	return nil
}

var _ Renewer = (*renewer)(nil)

// While a fault is in place the timeline renews it every RenewEvery, from
// just after it was applied until just before it is removed; the rollback
// of a fault that lasts until the end comes after its last renewal.
func TestTimelineRenewsEachFaultWhileItIsInPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		rec := &renewer{recorder: &recorder{start: start}, every: 3 * time.Second}
		tl := &Timeline{Entries: []Entry{
			{Name: "slow", Target: "db", At: time.Second, For: 10 * time.Second, Fault: Delay{Delay: time.Second}},
			{Name: "forever", Target: "search", Fault: Stall{}},
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 14500*time.Millisecond)
		defer cancel()
		require.NoError(t, tl.Run(ctx, start, Injectors{Target: rec}))
		assert.Equal(t, []string{
			"apply forever @0s",
			"apply slow @1s",
			"renew forever @3s",
			"renew slow @4s",
			"renew forever @6s",
			"renew slow @7s",
			"renew forever @9s",
			"renew slow @10s",
			"remove slow @11s", // no renewal after its removal
			"renew forever @12s",
			"remove forever @14.5s", // the rollback, renewals stopped
		}, rec.calls())
	})
}

// The tests below drive the real reference target's admin API.

// leaseOf returns the live lease of resource on the target, if any.
func leaseOf(t require.TestingT, tg *refTarget, resource string) (targetadmin.Lease, bool) {
	leases, err := tg.admin.Leases(context.Background())
	require.NoError(t, err)
	l, ok := leases[resource]
	return l, ok
}

// playUntilCancelled runs tl against tg in the background until cancel
// is called; it returns once the first fault is applied.
func playUntilCancelled(t *testing.T, tl *Timeline, tg *refTarget, lease time.Duration) (cancel func(), done <-chan error) {
	t.Helper()
	applied := make(chan struct{}, len(tl.Entries))
	tl.Emit = func(ev results.Event) {
		if ev.Kind == results.EventFaultApplied {
			applied <- struct{}{}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- tl.Run(ctx, time.Now(), Injectors{Target: &TargetInjector{Admin: tg.admin, Lease: lease}})
	}()
	select {
	case <-applied:
	case err := <-errc:
		cancel()
		t.Fatalf("the timeline ended before applying its fault: %v", err)
	}
	return cancel, errc
}

// A harness killed with the fault in place (no renewals, no rollback)
// does not leave the target degraded: the target rolls the fault back
// when its lease runs out.
func TestTargetRollsBackTheFaultOfAKilledTimeline(t *testing.T) {
	tg := startTarget(t, "tok")
	before, err := tg.admin.Deps(t.Context())
	require.NoError(t, err)
	const lease = 300 * time.Millisecond
	tl := &Timeline{Entries: []Entry{{Name: "blackhole", Target: "db", Fault: Stall{}}}, killed: true}
	kill, done := playUntilCancelled(t, tl, tg, lease)
	_, leased := leaseOf(t, tg, "deps/db")
	assert.True(t, leased, "the fault is applied under a lease")
	kill()
	require.NoError(t, <-done)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		after, err := tg.admin.Deps(t.Context())
		require.NoError(c, err)
		assert.Equal(c, before["db"], after["db"])
	}, 10*time.Second, 5*time.Millisecond, "the target rolls the fault back at the lease's end")
	_, leased = leaseOf(t, tg, "deps/db")
	assert.False(t, leased)
}

// A timeline that keeps running keeps its fault on for many lease
// periods, and its rollback ends the lease.
func TestTimelineKeepsTheFaultOnPastItsLease(t *testing.T) {
	tg := startTarget(t, "tok")
	before, err := tg.admin.Deps(t.Context())
	require.NoError(t, err)
	const lease = 300 * time.Millisecond
	tl := &Timeline{Entries: []Entry{
		{Name: "blackhole", Target: "db", Fault: Stall{}},
		{Name: "squeeze", Target: TargetService, Fault: Capacity{Concurrency: 2}},
	}}
	cancel, done := playUntilCancelled(t, tl, tg, lease)
	defer cancel()
	first, ok := leaseOf(t, tg, "deps/db")
	require.True(t, ok, "the fault is applied under a lease")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		db, err := tg.admin.Dep(t.Context(), "db")
		require.NoError(c, err)
		require.True(c, db.Stall, "the fault went away while the timeline ran")
		l, ok := leaseOf(c, tg, "deps/db")
		require.True(c, ok, "the lease ran out while the timeline ran")
		assert.True(c, l.Expires.After(first.Expires.Add(4*lease)), "lease expires %v, want past %v", l.Expires, first.Expires.Add(4*lease))
	}, 10*time.Second, 5*time.Millisecond, "renewals over 4 lease periods")
	_, ok = leaseOf(t, tg, "config")
	assert.True(t, ok, "the concurrency fault is leased too")
	cancel()
	require.NoError(t, <-done)
	leases, err := tg.admin.Leases(t.Context())
	require.NoError(t, err)
	assert.Empty(t, leases, "the rollback ends the leases")
	after, err := tg.admin.Deps(t.Context())
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestTargetInjectorRefusesALeaseOutOfRange(t *testing.T) {
	tg := startTarget(t, "tok")
	err := (&TargetInjector{Admin: tg.admin, Lease: time.Microsecond}).Snapshot(t.Context())
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "want 1ms..1h"), err.Error())
}
