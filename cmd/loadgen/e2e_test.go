package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/results"
)

// The tests in this file run the real binaries as processes, the way a user
// (or a CI job) does.

// binaries returns the built loadgen and target.
func binaries(t *testing.T) (loadgen, target string) {
	b := e2e.Build(t)
	return b.Loadgen, b.Target
}

// startTarget starts the reference target on a free loopback port and
// returns its base URL (see e2e.StartTarget).
func startTarget(t *testing.T, args ...string) string {
	t.Helper()
	api, _ := e2e.StartTarget(t, args...)
	return api
}

// loadgenResult is what one loadgen process did.
type loadgenResult struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// runLoadgen runs the loadgen binary to completion (with a generous bound).
func runLoadgen(t *testing.T, args ...string) loadgenResult {
	t.Helper()
	return runLoadgenIn(t, "", args...)
}

// runLoadgenIn runs the loadgen binary in the working directory dir (""
// for the test's own), as runLoadgen does.
func runLoadgenIn(t *testing.T, dir string, args ...string) loadgenResult {
	t.Helper()
	loadgen, _ := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, loadgen, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := loadgenResult{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("loadgen %v: %v", args, err)
	}
	return res
}

// jsonSummary is the part of the JSON summary contract these tests read.
type jsonSummary struct {
	Requests     int64            `json:"requests"`
	Attempts     int64            `json:"attempts"`
	GoodputRatio float64          `json:"goodput_ratio"`
	Outcomes     map[string]int64 `json:"outcomes"`
	LatencyMS    struct {
		P50, P90, P99, P999, Max, Mean float64
	} `json:"latency_ms"`
	Seed uint64 `json:"seed"`
}

func TestEndToEndAttackThenReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	base := startTarget(t)
	out := filepath.Join(t.TempDir(), "results.mpk")

	res := runLoadgen(t, "attack", "--url", base+"/api/items/42", "--rate", "200", "--duration", "3s",
		"--timeout", "2s", "--seed", "7", "--quiet", "-o", out)
	require.Equal(t, 0, res.code, "attack failed: %s", res.stderr)

	res = runLoadgen(t, "report", "--format", "json", out)
	require.Equal(t, 0, res.code, "report failed: %s", res.stderr)
	var s jsonSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &s), res.stdout)

	assert.InDelta(t, 600, s.Requests, 1, "requests")
	assert.Equal(t, map[string]int64{"ok": s.Requests}, nonZero(s.Outcomes), "every outcome is ok")
	assert.Equal(t, 1.0, s.GoodputRatio)
	assert.Equal(t, uint64(7), s.Seed)
	l := s.LatencyMS
	assert.Greater(t, l.P50, 0.0)
	assert.True(t, l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max,
		"percentiles ordered: %+v", l)
}

func nonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func TestEndToEndBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mpk")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a results file\n"), 0o644))

	// A port nothing listens on: bind one, note it, close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadURL := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close())

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantText string // the one-line message must name this
	}{
		{"unknown flag", []string{"attack", "--no-such-flag"}, cli.ExitUsage, "--no-such-flag"},
		{"negative rate", []string{"attack", "--url", "http://127.0.0.1:1/", "--rate", "-5", "--duration", "1s"}, cli.ExitUsage, "rate"},
		{"unknown command", []string{"attak"}, cli.ExitUsage, "attak"},
		{"unreachable url", []string{"attack", "--url", deadURL, "--rate", "10", "--duration", "2s", "--quiet"}, cli.ExitRun, strings.TrimSuffix(strings.TrimPrefix(deadURL, "http://"), "/")},
		{"garbage results file", []string{"report", garbage}, cli.ExitUsage, garbage},
		{"missing results file", []string{"report", filepath.Join(dir, "nope.mpk")}, cli.ExitUsage, "nope.mpk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runLoadgen(t, tt.args...)
			assert.Equal(t, tt.wantCode, res.code, "stderr: %s", res.stderr)
			assert.Contains(t, res.stderr, tt.wantText)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			assert.Contains(t, lines[len(lines)-1], "loadgen: ", "the error is the last line")
			assert.Less(t, res.elapsed, 15*time.Second, "bad input is reported promptly, not after a hang")
		})
	}
}

func TestEndToEndInterruptKeepsResults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	base := startTarget(t)
	loadgen, _ := binaries(t)
	out := filepath.Join(t.TempDir(), "results.mpk")

	cmd := exec.Command(loadgen, "attack", "--url", base+"/api/items/1", "--rate", "100", "--duration", "60s",
		"--quiet", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Interrupt once results are flowing to the file.
	require.Eventually(t, func() bool {
		fi, err := os.Stat(out)
		return err == nil && fi.Size() > 4096
	}, 30*time.Second, 20*time.Millisecond, "results never reached the file")
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	interrupted := time.Now()

	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("loadgen did not exit within 15s of SIGINT; stderr:\n%s", stderr.String())
	}
	t.Logf("exited %v after SIGINT, code %d", time.Since(interrupted), cmd.ProcessState.ExitCode())

	// readResultsAt fails the test on a truncated stream: an interrupted
	// run still ends with whole records.
	_, rs, _ := readResultsAt(t, out)
	n, finals := len(rs), 0
	for _, res := range rs {
		if res.Final {
			finals++
		}
	}
	assert.Greater(t, n, 0)
	assert.Greater(t, finals, 0)

	rep := runLoadgen(t, "report", "--format", "json", out)
	require.Equal(t, 0, rep.code, rep.stderr)
}

// Regression: SIGTERM after the last intended start was ignored until
// every attempt timed out, and with --timeout 0 against a server that never
// answers loadgen was still running 21 minutes later with nothing written.
func TestEndToEndSIGTERMAfterTheScheduleEndedStopsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int64
	var conns sync.WaitGroup
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit); ln.Close(); conns.Wait() })
	go func() { // accepts and reads, never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns.Go(func() {
				defer c.Close()
				go func() { <-quit; c.Close() }()
				_, _ = io.Copy(io.Discard, c)
			})
		}
	}()
	loadgen, _ := binaries(t)
	out := filepath.Join(t.TempDir(), "results.mpk")
	cmd := exec.Command(loadgen, "attack", "--url", "http://"+ln.Addr().String()+"/", "--rate", "20", "--duration", "500ms",
		"--timeout", "0", "--max-attempts", "1", "--quiet", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// The schedule (10 requests in 500 ms) ends; every request waits for
	// an answer that never comes.
	require.Eventually(t, func() bool { return accepted.Load() >= 10 }, 30*time.Second, 10*time.Millisecond, "the 10 requests never arrived")
	select {
	case err := <-done:
		t.Fatalf("loadgen exited (%v) while its requests were still waiting", err)
	case <-time.After(time.Second): // past the schedule's end
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	signalled := time.Now()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("loadgen did not exit within 10s of SIGTERM; stderr:\n%s", stderr.String())
	}
	took := time.Since(signalled)
	assert.Less(t, took, 2*time.Second, "exit after SIGTERM")

	_, rs, _ := readResultsAt(t, out)
	finals := 0
	for _, r := range rs {
		if r.Final {
			finals++
			assert.Equal(t, results.OutcomeCanceled, r.Outcome, "%+v", r)
		}
	}
	assert.Equal(t, 10, finals, "every request recorded")
	rep := runLoadgen(t, "report", "--format", "json", out)
	require.Equal(t, 0, rep.code, rep.stderr)
	assert.Contains(t, rep.stdout, `"complete": true`, "the results file ends with its trailer")
}
