package targetadmin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/dist"
)

func TestLeaseDepIsRolledBackUnlessRenewed(t *testing.T) {
	tg := startTarget(t, "tok")
	ctx := t.Context()
	base, err := tg.admin.Dep(ctx, "db")
	require.NoError(t, err)
	slow := base
	slow.AddLatency = dist.Duration(40 * time.Millisecond)

	_, err = tg.admin.LeaseDep(ctx, "db", slow, time.Hour)
	require.NoError(t, err)
	leases, err := tg.admin.Leases(ctx)
	require.NoError(t, err)
	require.Contains(t, leases, "deps/db")
	assert.Greater(t, leases["deps/db"].Remaining, 59*time.Minute)

	// A plain put ends the lease, with no rollback.
	_, err = tg.admin.PutDep(ctx, "db", slow)
	require.NoError(t, err)
	leases, err = tg.admin.Leases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases)

	_, err = tg.admin.PutDep(ctx, "db", base)
	require.NoError(t, err)
	_, err = tg.admin.LeaseDep(ctx, "db", slow, 50*time.Millisecond)
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		cur, err := tg.admin.Dep(ctx, "db")
		require.NoError(c, err)
		assert.Equal(c, base, cur)
	}, 10*time.Second, 5*time.Millisecond, "rollback at the lease's end")
	leases, err = tg.admin.Leases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases)
}

func TestLeaseAdmissionIsListed(t *testing.T) {
	tg := startTarget(t, "tok")
	ctx := t.Context()
	require.NoError(t, tg.admin.LeaseAdmission(ctx, map[string]any{"limiter": "static", "limit": 3}, time.Minute))
	leases, err := tg.admin.Leases(ctx)
	require.NoError(t, err)
	assert.Contains(t, leases, "config")
	require.NoError(t, tg.admin.PutAdmission(ctx, map[string]any{"limiter": "none", "limit": 0}))
	leases, err = tg.admin.Leases(ctx)
	require.NoError(t, err)
	assert.Empty(t, leases)
}
