package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/faults"
)

// holding are the faults that hold a request for an hour or until they
// are lifted, whichever comes first.
var holding = []faults.Spec{
	{Name: "blackhole", Kind: "stall"},
	{Name: "slow", Kind: "delay", Delay: dist.Duration(time.Hour)},
	{Name: "late", Kind: "delay", Delay: dist.Duration(time.Hour), Response: true},
}

// answer sends GET url from a goroutine and delivers its status, or the
// transport error's text, on the channel it returns.
func answer(client *http.Client, url string) <-chan string {
	answered := make(chan string, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			answered <- err.Error()
			return
		}
		resp.Body.Close()
		answered <- resp.Status
	}()
	return answered
}

// within returns what c delivers, failing the test if that takes longer
// than 5 s (far more than an answer that is not held needs).
func within[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	select {
	case v := <-c:
		return v
	case <-deadline.C:
		t.Fatalf("%s: nothing after 5s", what)
		var zero T
		return zero
	}
}

// TestProxyRemovingAFaultLetsTheRequestsItHoldsGo is the regression test
// of issue #19: deleting a delay fault left the requests it held delayed
// for the full delay.
func TestProxyRemovingAFaultLetsTheRequestsItHoldsGo(t *testing.T) {
	for _, s := range holding {
		t.Run(s.Name, func(t *testing.T) {
			var hits atomic.Int64
			r := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				_, _ = w.Write([]byte("ok"))
			}), "")
			require.NoError(t, r.control.Add(t.Context(), s))
			answered := answer(r.client, r.data+"/")
			require.Eventually(t, func() bool { return r.p.InFlight() == 1 }, 5*time.Second, time.Millisecond, "the request is held")
			require.NoError(t, r.control.Remove(t.Context(), s.Name))
			assert.Equal(t, "200 OK", within(t, answered, "the answer once the fault was removed"))
			assert.Equal(t, int64(1), hits.Load(), "forwarded to the upstream once")
		})
	}
}

// TestProxyServeLetsHeldRequestsGoOnShutdown: shutting the proxy down
// lifts every fault, so the requests they hold are forwarded and answered
// within the drain instead of being cut off at its end.
func TestProxyServeLetsHeldRequestsGoOnShutdown(t *testing.T) {
	for _, s := range holding {
		t.Run(s.Name, func(t *testing.T) {
			up := httptest.NewServer(ok)
			defer up.Close()
			p, err := New(Config{Upstream: mustURL(t, up.URL), DrainTimeout: 10 * time.Second})
			require.NoError(t, err)
			require.NoError(t, p.Add(s))
			data, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			control, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			var serveErr error
			go func() {
				defer close(stopped)
				serveErr = p.Serve(ctx, data, control)
			}()
			defer func() { cancel(); <-stopped }()

			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			answered := answer(client, "http://"+data.Addr().String()+"/")
			require.Eventually(t, func() bool { return p.InFlight() == 1 }, 5*time.Second, time.Millisecond, "the request is held")
			cancel()
			assert.Equal(t, "200 OK", within(t, answered, "the answer after shutdown began"), "the fault was lifted and the request forwarded")
			within(t, stopped, "Serve's return")
			assert.NoError(t, serveErr, "a clean shutdown")
			assert.Zero(t, p.InFlight())
		})
	}
}
