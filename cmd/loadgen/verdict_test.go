package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReportAssertions(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r.mpk")
	writeResults(t, res, "ci", 0, 1)
	junit := filepath.Join(dir, "junit.xml")

	// All pass: exit 0, verdicts on stderr, JUnit written.
	out, stderr, code := runCLI(t, "report", "--format", "json", "--assert", "p99 < 100ms", "--assert", "goodput_ratio >= 99%", "--junit", junit, res)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "PASS  p99 = ")
	assert.Contains(t, stderr, "assertions: 2 passed, 0 failed")
	var m struct {
		Assertions []struct {
			Assertion string   `json:"assertion"`
			Pass      bool     `json:"pass"`
			Actual    *float64 `json:"actual"`
		} `json:"assertions"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	require.Len(t, m.Assertions, 2)
	assert.Equal(t, "p99 < 100ms", m.Assertions[0].Assertion)
	assert.True(t, m.Assertions[0].Pass)
	require.NotNil(t, m.Assertions[0].Actual)
	assert.Greater(t, *m.Assertions[0].Actual, 0.0)

	// One fails: exit 1, the failure printed with its actual value, the
	// report still written, one failing JUnit test case.
	out, stderr, code = runCLI(t, "report", "--assert", "p50 < 1ms", "--assert", "shed_ratio < 0.5", "--junit", junit, res)
	assert.Equal(t, 1, code, stderr)
	assert.NotEmpty(t, out, "the report is written even when an assertion fails")
	assert.Regexp(t, `FAIL  p50 = [0-9.]+ms, want < 1ms`, stderr)
	assert.Contains(t, stderr, "1 of 2 assertions failed")
	data, err := os.ReadFile(junit)
	require.NoError(t, err)
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	require.NoError(t, xml.Unmarshal(data, &suites))
	assert.Equal(t, 2, suites.Tests)
	assert.Equal(t, 1, suites.Failures)

	// A run without a disturbance has no recovery to assert on.
	_, stderr, code = runCLI(t, "report", "--assert", "recovery_time < 5s", res)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "recovery_time: not measured in this run")
}

func TestReportAssertionsRefusedBeforeReading(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--assert", "p98 < 1s"}, `unknown metric "p98" (did you mean p90 or p99?); valid metrics: goodput_ratio`},
		{[]string{"--assert", "p99 < 250"}, "give a unit"},
		{[]string{"--recovery-window", "0s"}, "--recovery-window must be positive"},
		{[]string{"--recovery-warmup", "-1s"}, "--recovery-warmup must not be negative"},
		{[]string{"--recovery-goodput", "1.5"}, "--recovery-goodput must be in (0, 1]"},
		{[]string{"--recovery-p99-factor", "0.5"}, "--recovery-p99-factor must be ≥ 1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			// The results file does not exist: the flags are refused first.
			_, stderr, code := runCLI(t, append(append([]string{"report"}, tt.args...), "missing.mpk")...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, "missing.mpk")
		})
	}
}

func TestReportHTML(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r.mpk")
	writeResults(t, res, "html", 0, 1)
	page := filepath.Join(dir, "report.html")
	_, stderr, code := runCLI(t, "report", "--format", "html", "-o", page, "--assert", "p99 < 1s", res)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(data)
	assert.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"))
	assert.True(t, strings.Contains(html, `<svg class="chart"`))
	assert.True(t, strings.Contains(html, "Assertions: 1 passed, 0 failed"))
}

func TestReportTextShowsRecovery(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r.mpk")
	f, err := os.Create(res)
	require.NoError(t, err)
	h := resultsHeader("surge", 0, 1)
	h.Phases = []results.PhaseInfo{
		{Name: "steady", Duration: 5 * time.Second, FromRPS: 100, ToRPS: 100},
		{Name: "surge", Offset: 5 * time.Second, Duration: 3 * time.Second, FromRPS: 300, ToRPS: 300},
		{Name: "after", Offset: 8 * time.Second, Duration: 12 * time.Second, FromRPS: 100, ToRPS: 100},
	}
	w, err := results.NewWriter(f, h)
	require.NoError(t, err)
	// 100 rps of 10 ms requests, but every request of the surge and of the
	// 2 s after it times out: recovered 2 s after the surge.
	id := uint64(0)
	for at := time.Duration(0); at < 20*time.Second; {
		rate := 100.0
		if at >= 5*time.Second && at < 8*time.Second {
			rate = 300
		}
		id++
		r := results.Result{RequestID: id, Attempt: 1, Final: true, Intended: at, Start: at, End: at + 10*time.Millisecond, Status: 200}
		if at >= 5*time.Second && at < 10*time.Second {
			r.End, r.Status, r.Outcome = at+100*time.Millisecond, 0, results.OutcomeClientTimeout
		}
		require.NoError(t, w.WriteResult(&r))
		at += time.Duration(float64(time.Second) / rate)
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())

	out, stderr, code := runCLI(t, "report", "--color", "never", "--assert", "recovery_time <= 2s", "--assert", "metastable == false", res)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "surge (5s–8s): recovered 2s after it ended")
	assert.Contains(t, stderr, "PASS  recovery_time = 2s, want <= 2s")

	// A warm-up leaves the first windows out of the baseline.
	out, stderr, code = runCLI(t, "report", "--format", "json", "--recovery-warmup", "2s", res)
	require.Equal(t, 0, code, stderr)
	var m struct {
		Recovery struct {
			Baseline struct {
				Windows int `json:"windows"`
			} `json:"baseline"`
		} `json:"recovery"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, 3, m.Recovery.Baseline.Windows, "windows 2-4 s before the surge at 5 s")

	out, stderr, code = runCLI(t, "report", "--color", "never", "--recovery-window", "15s", "--assert", "recovered == true", res)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, out, "not recovered before the run ended")
	assert.Contains(t, stderr, "FAIL  recovered = false, want == true")
}
