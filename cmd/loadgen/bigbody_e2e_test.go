package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndToEndHugeBodiesKeepTheGeneratorSmall: loadgen attack against a
// service answering 256 MiB bodies counts every byte of them but holds
// none: the process's peak RSS stays well under one body.
func TestEndToEndHugeBodiesKeepTheGeneratorSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	const size = 256 << 20
	chunk := make([]byte, 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "results.mpk")

	loadgen, _ := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, loadgen, "attack", "--url", srv.URL+"/", "--rate", "1", "--duration", "3s",
		"--timeout", "60s", "--seed", "7", "--quiet", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	maxRSS := peakRSSUntilExit(t, cmd)
	t.Logf("loadgen attack, 3 answers of 256 MiB: max RSS %d MiB", maxRSS>>20)
	require.Positive(t, maxRSS, "no VmHWM read from /proc")
	assert.Less(t, maxRSS, int64(64<<20), "loadgen's max RSS in bytes")

	res := runLoadgen(t, "report", "--format", "json", out)
	require.Equal(t, 0, res.code, "report failed: %s", res.stderr)
	var s jsonSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &s), res.stdout)
	assert.Equal(t, map[string]int64{"ok": 3}, nonZero(s.Outcomes), "outcomes")

	// The report's summary has no byte counts; the attempts themselves do.
	res = runLoadgen(t, "encode", "--to", "jsonl", out)
	require.Equal(t, 0, res.code, "encode failed: %s", res.stderr)
	var attempts int
	sc := bufio.NewScanner(bytes.NewReader([]byte(res.stdout)))
	for sc.Scan() {
		var a struct {
			BytesIn int64 `json:"bytes_in"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a), sc.Text())
		assert.Equal(t, int64(size), a.BytesIn, "bytes in of %s", sc.Text())
		attempts++
	}
	assert.Equal(t, 3, attempts, "attempts")
}

// peakRSSUntilExit waits for cmd and returns its peak resident set in
// bytes: the largest VmHWM its /proc status showed, read every 5 ms
// while it ran. Not the rusage's Maxrss: Linux counts in it the parent's
// resident set at the fork (Go forks with the parent's memory shared
// until the exec), so a test process grown by the tests before it would
// be measured with the child. On a failed run it fails t with stderr.
func peakRSSUntilExit(t *testing.T, cmd *exec.Cmd) int64 {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var peak int64
	for {
		if kb := vmHWM(status); kb<<10 > peak {
			peak = kb << 10
		}
		select {
		case err := <-done:
			require.NoError(t, err, "%v: %v", cmd.Args, cmd.Stderr)
			return peak
		case <-tick.C:
		}
	}
}

// vmHWM returns the VmHWM line of a /proc status file, in KiB (0 when the
// process is gone).
func vmHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
