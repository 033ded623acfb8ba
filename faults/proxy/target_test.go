package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target"
)

// TestProxyInFrontOfTheTargetsDependency puts the fault proxy between the
// reference target and its db (a real HTTP service at a URL), and plays a
// timeline on it: the target's users see the outage for its window only.
func TestProxyInFrontOfTheTargetsDependency(t *testing.T) {
	var dbCalls atomic.Int64
	r := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		dbCalls.Add(1)
		_, _ = w.Write([]byte("row"))
	}), "")
	cfg, err := target.Preset(target.PresetUnprotected)
	require.NoError(t, err)
	cfg.DB.URL = r.data + "/db"
	srv, err := target.New(cfg)
	require.NoError(t, err)
	api := httptest.NewServer(srv.Handler())
	defer api.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func() int {
		resp, err := client.Get(api.URL + "/api/items/7")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get())
	require.Equal(t, int64(1), dbCalls.Load(), "the target called its db through the proxy")

	events := make(chan results.Event, 4)
	tl := &faults.Timeline{
		Entries: []faults.Entry{{Name: "db-down", Target: "db-proxy", For: time.Hour, Fault: faults.Abort{Status: 503}}},
		Emit:    func(ev results.Event) { events <- ev },
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- tl.Run(ctx, time.Now(), faults.Injectors{Proxies: map[string]faults.Injector{"db-proxy": &faults.ProxyInjector{Client: r.control}}})
	}()
	require.Equal(t, results.EventFaultApplied, (<-events).Kind)
	during := get()
	assert.GreaterOrEqual(t, during, 500, "the db's outage reached the target's users")
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, results.EventFaultRemoved, (<-events).Kind)
	assert.Equal(t, http.StatusOK, get(), "and ended with the rollback")
}
