package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capacityServer serves with slots requests at once, each taking work:
// capacity slots/work requests per second. Requests beyond queue for a
// slot, as in a service without admission control.
func capacityServer(t *testing.T, slots int, work time.Duration) *httptest.Server {
	t.Helper()
	sem := make(chan struct{}, slots)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-sem }()
		timer := time.NewTimer(work) // the service time of one request
		defer timer.Stop()
		select {
		case <-timer.C:
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// rampSummary is the part of the JSON summary ramp tests read.
type rampSummary struct {
	TippingPoint struct {
		Found      bool    `json:"found"`
		OfferedRPS float64 `json:"offered_rps"`
		Steps      []struct {
			Name       string  `json:"name"`
			OfferedRPS float64 `json:"offered_rps"`
			OK         bool    `json:"ok"`
		} `json:"steps"`
		USL *struct {
			Sigma float64 `json:"sigma"`
		} `json:"usl"`
	} `json:"tipping_point"`
	Assertions []struct {
		Pass bool `json:"pass"`
	} `json:"assertions"`
}

func TestRampFindsTheTippingPoint(t *testing.T) {
	// One slot of 50 ms: 20 requests/s of capacity, low enough that a
	// busy machine does not move it.
	srv := capacityServer(t, 1, 50*time.Millisecond)
	dir := t.TempDir()
	results := filepath.Join(dir, "ramp.mpk")
	out, stderr, code := runCLI(t, "ramp", "--url", srv.URL, "--from", "10", "--to", "60", "--step", "5",
		"--step-duration", "1500ms", "--slo", "500ms", "--timeout", "1s", "--seed", "5",
		"--format", "json", "-o", results, "--assert", "tipping_point >= 10")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "two steps past the knee, stopping", "the ramp stops early")
	assert.Contains(t, stderr, "PASS  tipping_point = ")

	var s rampSummary
	require.NoError(t, json.Unmarshal([]byte(out), &s), out)
	tp := s.TippingPoint
	require.True(t, tp.Found, stderr)
	assert.GreaterOrEqual(t, tp.OfferedRPS, 10.0, "tipping point below the 20 rps capacity: %s", stderr)
	assert.LessOrEqual(t, tp.OfferedRPS, 20.0, stderr)
	assert.Less(t, len(tp.Steps), 11, "not every step was run")
	last := tp.Steps[len(tp.Steps)-1]
	assert.False(t, last.OK, "the ramp ran past the knee")
	require.Len(t, s.Assertions, 1)

	// The results file reports the same tipping point later.
	again := reportJSON(t, results)
	tpAgain := again["tipping_point"].(map[string]any)
	assert.Equal(t, tp.OfferedRPS, tpAgain["offered_rps"])
	// The run ended where the ramp stopped, not at the end of the 11
	// planned steps: its rates are over the steps that ran (each of at
	// least 10 requests/s), and a stop is not an interruption.
	dur := again["duration_s"].(float64)
	assert.Less(t, dur, 16.5, "duration_s of a ramp stopped early")
	assert.GreaterOrEqual(t, dur, 1.5*float64(len(tp.Steps)), "the steps that ran are inside the run")
	assert.GreaterOrEqual(t, again["offered_rps"].(float64), 10.0, "offered_rps over the steps that ran")
	assert.Equal(t, false, again["interrupted"])

	// Text: the curve and the verdict.
	out, stderr, code = runCLI(t, "report", "--format", "html", "-o", filepath.Join(dir, "ramp.html"), results)
	require.Equal(t, 0, code, stderr)
	page, err := os.ReadFile(filepath.Join(dir, "ramp.html"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(page), "Ramp: goodput and throughput against offered load"))
	assert.Empty(t, out)
}

func TestRampBadFlags(t *testing.T) {
	base := []string{"ramp", "--url", "http://127.0.0.1:1/"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--from", "0", "--to", "10", "--step", "1"}, "--from must be a positive rate"},
		{[]string{"--from", "10", "--to", "5", "--step", "1"}, "--to must be a rate ≥ --from"},
		{[]string{"--from", "10", "--to", "20", "--step", "0"}, "--step must be a positive rate"},
		{[]string{"--from", "1", "--to", "5000", "--step", "1"}, "at most 1000"},
		{[]string{"--from", "10", "--to", "20", "--step", "5", "--step-duration", "0s"}, "--step-duration must be positive"},
		{[]string{"--from", "10", "--to", "20", "--step", "5", "--rate", "100"}, "--rate does not apply"},
		{[]string{"--from", "10", "--to", "20", "--step", "5", "--format", "csv"}, `--format "csv" is not a format`},
		{[]string{"--from", "10", "--to", "20", "--step", "5", "-o", "-"}, "give --report FILE"},
		{[]string{"--from", "10", "--to", "20", "--step", "5", "--assert", "tipping < 5"}, `unknown metric "tipping"`},
		{[]string{"--from", "10", "--to", "20", "--step", "5", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, append(append([]string{}, base...), tt.args...)...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
	// Unreachable target: a run error (exit 3), before any load.
	_, stderr, code := runCLI(t, "ramp", "--url", "http://127.0.0.1:1/", "--from", "10", "--to", "20", "--step", "5")
	assert.Equal(t, 3, code, stderr)
}

func TestRampRates(t *testing.T) {
	rates, err := rampRates(100, 200, 25)
	require.NoError(t, err)
	assert.Equal(t, []float64{100, 125, 150, 175, 200}, rates)
	rates, err = rampRates(0.1, 0.3, 0.1)
	require.NoError(t, err)
	assert.Len(t, rates, 3, "floating-point steps reach --to")
	rates, err = rampRates(100, 100, 10)
	require.NoError(t, err)
	assert.Equal(t, []float64{100}, rates)
}

// TestEndToEndRampAgainstTarget ramps the reference target (db pool 8 ×
// 20 ms = 400 requests/s of capacity) as real processes: the tipping
// point must land within ±15% of 400.
func TestEndToEndRampAgainstTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	url := startTarget(t, "--db-pool", "8", "--db-latency", "20ms")
	res := runLoadgen(t, "ramp", "--url", url+"/api/items/1", "--from", "300", "--to", "550", "--step", "25",
		"--step-duration", "2s", "--slo", "250ms", "--timeout", "1s", "--seed", "1", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	var s rampSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &s), res.stdout)
	require.True(t, s.TippingPoint.Found, res.stderr)
	t.Logf("tipping point %v requests/s in %v\n%s", s.TippingPoint.OfferedRPS, res.elapsed, res.stderr)
	assert.InDelta(t, 400, s.TippingPoint.OfferedRPS, 0.15*400, res.stderr)
}
