package target

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leaseHarness calls a Server's handlers in a synctest bubble.
type leaseHarness struct {
	t     *testing.T
	s     *Server
	admin http.Handler
}

func newLeaseHarness(t *testing.T) *leaseHarness {
	s, err := New(fast(t, PresetUnprotected))
	require.NoError(t, err)
	return &leaseHarness{t: t, s: s, admin: s.AdminHandler()}
}

// call sends method path body to the admin API, with X-Lease when lease
// is not empty.
func (h *leaseHarness) call(method, path, body, lease string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if lease != "" {
		req.Header.Set(LeaseHeader, lease)
	}
	w := httptest.NewRecorder()
	h.admin.ServeHTTP(w, req)
	return w
}

// after lets d pass on the bubble's clock and the timers due run.
func after(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// itemTakes answers how long GET /api/items/1 takes (bubble time).
func (h *leaseHarness) itemTakes() time.Duration {
	start := time.Now()
	w := httptest.NewRecorder()
	h.s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/items/1", nil))
	require.Equal(h.t, http.StatusOK, w.Code, w.Body.String())
	return time.Since(start)
}

// TestAdminLeaseRollsBackAFaultNobodyRenews is the regression test of a
// target left degraded for good after its load generator was killed: a
// leased fault that is not renewed is rolled back by the target itself.
func TestAdminLeaseRollsBackAFaultNobodyRenews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLeaseHarness(t)
		w := h.call(http.MethodPut, "/admin/deps/db", `{"add_latency": "1s"}`, "2s")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.Equal(t, time.Now().Add(2*time.Second).UTC().Format(time.RFC3339Nano), w.Header().Get(LeaseExpiresHeader))
		assert.Equal(t, time.Second+time.Millisecond, h.itemTakes(), "the fault is in force")

		after(time.Second) // 2 s into the lease (the item took 1 s)
		assert.Equal(t, dist.Duration(0), h.s.db.Config().AddLatency, "the lease ran out: the fault is rolled back")
		assert.Equal(t, time.Millisecond, h.itemTakes(), "the target serves normally")
		assert.JSONEq(t, `{}`, h.call(http.MethodGet, "/admin/leases", "", "").Body.String())
	})
}

// TestAdminLeaseRenewed: the same call again renews the lease; the
// rollback goes back to the state before the first leased call.
func TestAdminLeaseRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLeaseHarness(t)
		fault := `{"add_latency": "1s", "error_rate": 0.5}`
		require.Equal(t, http.StatusOK, h.call(http.MethodPut, "/admin/deps/db", fault, "2s").Code)
		for range 3 {
			after(1500 * time.Millisecond)
			require.Equal(t, http.StatusOK, h.call(http.MethodPut, "/admin/deps/db", fault, "2s").Code, "renewal")
		}
		after(1500 * time.Millisecond) // 6 s in, 1.5 s after the last renewal
		assert.Equal(t, dist.Duration(time.Second), h.s.db.Config().AddLatency, "renewed: the fault stays")
		assert.Contains(t, h.call(http.MethodGet, "/admin/leases", "", "").Body.String(), `"deps/db":{"expires":`)

		after(time.Second)
		cfg := h.s.db.Config()
		assert.Equal(t, dist.Duration(0), cfg.AddLatency)
		assert.Zero(t, cfg.ErrorRate)
		assert.Equal(t, 8, cfg.Pool)
	})
}

// TestAdminLeaseEndedByUnleasedChange: a change without X-Lease (a fault's
// own restore) takes the resource over: no rollback happens later.
func TestAdminLeaseEndedByUnleasedChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLeaseHarness(t)
		require.Equal(t, http.StatusOK, h.call(http.MethodPut, "/admin/deps/search", `{"pool": 1}`, "1s").Code)
		require.Equal(t, http.StatusOK, h.call(http.MethodPut, "/admin/deps/search", `{"pool": 2}`, "").Code)
		after(2 * time.Second)
		assert.Equal(t, 2, h.s.search.Config().Pool, "the unleased change stays")
	})
}

// TestAdminLeaseConfigAndBacklog: PUT /admin/config and PATCH
// /admin/backlog are leased too; the config's rollback leaves a
// dependency leased on its own alone.
func TestAdminLeaseConfigAndBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLeaseHarness(t)
		require.Equal(t, http.StatusOK, h.call(http.MethodPut, "/admin/deps/db", `{"add_latency": "1s"}`, "3s").Code)
		w := h.call(http.MethodPut, "/admin/config", `{"admission": {"limiter": "static", "limit": 1}}`, "1s")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		w = h.call(http.MethodPatch, "/admin/backlog", `{"ttl": "5s"}`, "1s")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.Equal(t, "static", h.s.Config().Admission.Limiter)

		after(2 * time.Second)
		cfg := h.s.Config()
		assert.Equal(t, "none", cfg.Admission.Limiter, "config rolled back")
		assert.Zero(t, cfg.Messages.Queue.TTL, "backlog rolled back")
		assert.Equal(t, dist.Duration(time.Second), cfg.DB.AddLatency, "db's own lease still runs")

		after(2 * time.Second)
		assert.Equal(t, dist.Duration(0), h.s.db.Config().AddLatency)
	})
}

// TestAdminLeaseRefused: a malformed X-Lease, or a refused change, changes
// nothing and starts no lease.
func TestAdminLeaseRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newLeaseHarness(t)
		for _, lease := range []string{"forever", "0s", "-1s", "2h"} {
			w := h.call(http.MethodPut, "/admin/deps/db", `{"add_latency": "1s"}`, lease)
			assert.Equal(t, http.StatusBadRequest, w.Code, lease)
			assert.Contains(t, w.Body.String(), "X-Lease: ", lease)
			assert.Contains(t, w.Body.String(), "1ms..1h0m0s", lease)
		}
		w := h.call(http.MethodPut, "/admin/deps/db", `{"pool": 0}`, "1s")
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Empty(t, w.Header().Get(LeaseExpiresHeader))
		assert.Equal(t, http.StatusNotFound, h.call(http.MethodPut, "/admin/deps/cache", `{}`, "1s").Code)
		assert.JSONEq(t, `{}`, h.call(http.MethodGet, "/admin/leases", "", "").Body.String())
		assert.Equal(t, dist.Duration(0), h.s.db.Config().AddLatency)
	})
}
