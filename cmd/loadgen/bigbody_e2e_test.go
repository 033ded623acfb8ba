package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
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
	require.NoError(t, cmd.Run(), "attack: %s", stderr.String())
	maxRSS := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	t.Logf("loadgen attack, 3 answers of 256 MiB: max RSS %d MiB", maxRSS>>20)
	assert.Less(t, maxRSS, int64(100e6), "loadgen's max RSS in bytes")

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
