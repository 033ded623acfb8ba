package target

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// offer sends GET url at rate per second for d, open loop (each request at
// its scheduled time, whether or not earlier ones were answered), and
// returns how many were answered 200 and how many were refused 503.
func offer(t *testing.T, client *http.Client, url string, rate int, d time.Duration) (ok, shed int64) {
	t.Helper()
	n := int(float64(rate) * d.Seconds())
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	var okN, shedN atomic.Int64
	for range n {
		<-tick.C
		wg.Go(func() {
			resp, err := client.Get(url)
			if err != nil {
				t.Errorf("GET %s: %v", url, err)
				return
			}
			defer resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				okN.Add(1)
			case http.StatusServiceUnavailable:
				shedN.Add(1)
			default:
				t.Errorf("GET %s: status %d", url, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	return okN.Load(), shedN.Load()
}

// A protected service serves everything it has the capacity for and sheds
// only the excess. The presets' db (pool 8, 20 ms) serves 400 requests/s:
// at 75% of that the protected preset must refuse (nearly) nothing, and at
// its capacity it must still serve (nearly) all of it. Each defence alone
// may look harmless; together (bulkhead of the pool's size, gradient
// limit, CoDel queue, throttle) they once served 390/s of 400 because
// every db call held its slot half a millisecond too long.
func TestProtectedServesItsCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("real clock, 6 s of load")
	}
	cfg, err := Preset(PresetProtected)
	require.NoError(t, err)
	ts := start(t, cfg)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}
	t.Cleanup(client.CloseIdleConnections)
	for _, step := range []struct {
		name    string
		rate    int
		d       time.Duration
		maxShed float64
	}{
		{"75% of capacity", 300, 2 * time.Second, 0.01},
		{"at capacity", 400, 4 * time.Second, 0.01},
	} {
		ok, shed := offer(t, client, ts.api+"/api/items/1", step.rate, step.d)
		ratio := float64(shed) / float64(ok+shed)
		t.Logf("%s (%d/s): %d served, %d shed (%.2f%%)", step.name, step.rate, ok, shed, 100*ratio)
		assert.LessOrEqual(t, ratio, step.maxShed, "%s: shed ratio", step.name)
	}
}
