package proxy

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/results"
)

// status sends one GET through the proxy.
func status(t *testing.T, r *running) int {
	t.Helper()
	resp, err := r.client.Get(r.data + "/")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTimelineDrivesTheProxy plays a timeline on a proxy, through its
// control API and in process, and cancels it mid-window: the fault takes
// effect, then the rollback leaves the proxy as it found it (a fault put
// there by someone else stays).
func TestTimelineDrivesTheProxy(t *testing.T) {
	for _, via := range []string{"control API", "in process"} {
		t.Run(via, func(t *testing.T) {
			r := start(t, ok, "tok")
			require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "theirs", Kind: "delay", Delay: 1, Route: "/other"}))
			var inj faults.Injector = &faults.ProxyInjector{Client: r.control}
			if via == "in process" {
				inj = &Injector{Proxy: r.p}
			}
			applied := make(chan results.Event, 2)
			tl := &faults.Timeline{
				Entries: []faults.Entry{
					{Name: "outage", Target: "edge", At: 20 * time.Millisecond, For: time.Minute, Fault: faults.Abort{Status: 503}},
					{Name: "thin", Target: "edge", Fault: faults.Bandwidth{BytesPerSecond: 1 << 20}},
				},
				Emit: func(ev results.Event) {
					if ev.Kind == results.EventFaultApplied {
						applied <- ev
					}
				},
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				done <- tl.Run(ctx, time.Now(), faults.Injectors{Proxies: map[string]faults.Injector{"edge": inj}})
			}()
			<-applied
			<-applied
			assert.Equal(t, http.StatusServiceUnavailable, status(t, r))
			assert.Len(t, r.p.List(), 3)
			cancel()
			require.NoError(t, <-done)
			assert.Equal(t, http.StatusOK, status(t, r))
			left := r.p.List()
			require.Len(t, left, 1)
			assert.Equal(t, "theirs", left[0].Name)
		})
	}
}

func TestTimelineRefusesDependencyKindsOnAProxy(t *testing.T) {
	r := start(t, ok, "")
	tl := &faults.Timeline{Entries: []faults.Entry{
		{Name: "brownout", Target: "edge", Fault: faults.Capacity{Pool: 1}},
		{Name: "slower", Target: "edge", Fault: faults.Latency{Multiplier: 2}},
	}}
	for _, inj := range []faults.Injector{&faults.ProxyInjector{Client: r.control}, &Injector{Proxy: r.p}} {
		err := tl.Check(t.Context(), faults.Injectors{Proxies: map[string]faults.Injector{"edge": inj}})
		var fe *faults.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "faults[0].kind", fe.Field)
		assert.Contains(t, err.Error(), "faults[1].kind")
	}
}

func TestProxyInjectorLeavesAFaultOfTheSameNameAlone(t *testing.T) {
	r := start(t, ok, "")
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "outage", Kind: "abort", Status: 500}))
	inj := &faults.ProxyInjector{Client: r.control}

	// Known before the run: refused by Check, with the field named.
	tl := &faults.Timeline{Entries: []faults.Entry{{Name: "outage", Target: "edge", Fault: faults.Stall{}}}}
	err := tl.Run(t.Context(), time.Now(), faults.Injectors{Proxies: map[string]faults.Injector{"edge": inj}})
	var fe *faults.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "faults[0].name", fe.Field)

	// Added by someone else after the snapshot: the proxy refuses the
	// timeline's fault, and the rollback leaves theirs alone.
	require.NoError(t, inj.Snapshot(t.Context()))
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "late", Kind: "abort", Status: 502}))
	err = inj.Apply(t.Context(), faults.Entry{Name: "late", Target: "edge", Fault: faults.Stall{}})
	var refused *faults.APIError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, http.StatusConflict, refused.Status)
	require.NoError(t, inj.Restore(t.Context()))
	assert.Len(t, r.p.List(), 2, "the rollback did not remove faults it did not add")
}
