package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
)

// Four loadgen processes started as the shards of a Kubernetes Indexed Job
// would be (JOB_COMPLETION_INDEX=0..3, --shards 4, one --start-at) play, once
// merged, the same run as one process at the full rate.
func TestEndToEndShardedRunMergesIntoTheUnshardedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	// Its processes mostly wait for their start instant and their
	// schedule, and so it runs beside TestMetricsWatchedByPrometheus.
	t.Parallel()
	// Plenty of capacity (64 / 5ms = 12,800 rps), so the service is not what
	// the comparison measures.
	base := startTarget(t, "--db-pool", "64", "--db-latency", "5ms")
	loadgen, _ := binaries(t)
	dir := t.TempDir()
	url := base + "/api/items/7"
	common := []string{"attack", "--url", url, "--rate", "400", "--duration", "3s", "--arrival", "uniform",
		"--seed", "11", "--timeout", "2s", "--quiet"}

	startAt := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second).Format(time.RFC3339)
	const shards = 4
	cmds := make([]*exec.Cmd, shards)
	stderrs := make([]bytes.Buffer, shards)
	for i := range shards {
		args := append(slices.Clone(common), "--shards", strconv.Itoa(shards), "--start-at", startAt,
			"-o", filepath.Join(dir, fmt.Sprintf("shard-%d.mpk", i)))
		cmd := exec.Command(loadgen, args...)
		cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
		cmd.Stderr = &stderrs[i]
		cmds[i] = cmd
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Start())
	}
	for i, cmd := range cmds {
		require.NoError(t, waitWithin(cmd, 2*time.Minute), "shard %d: %s", i, stderrs[i].String())
	}

	single := filepath.Join(dir, "single.mpk")
	res := runLoadgen(t, append(slices.Clone(common), "-o", single)...)
	require.Equal(t, 0, res.code, res.stderr)

	merged := filepath.Join(dir, "merged.mpk")
	shardFiles := make([]string, shards)
	for i := range shardFiles {
		shardFiles[i] = filepath.Join(dir, fmt.Sprintf("shard-%d.mpk", i))
	}
	res = runLoadgen(t, append([]string{"merge", "-o", merged}, shardFiles...)...)
	require.Equal(t, 0, res.code, res.stderr)

	whole, parts := summaryOf(t, single), summaryOf(t, merged)
	assert.InDelta(t, whole.Requests, parts.Requests, shards, "request count")
	assert.Equal(t, whole.Requests, parts.Outcomes["ok"], "every merged request ok")
	ratio := parts.LatencyMS.P50 / whole.LatencyMS.P50
	assert.True(t, ratio > 0.33 && ratio < 3, "p50 %.2fms sharded vs %.2fms whole", parts.LatencyMS.P50, whole.LatencyMS.P50)

	// The union of the shards' intended starts is the unsharded schedule.
	var union []time.Duration
	for _, f := range shardFiles {
		union = append(union, intendedStarts(t, f)...)
	}
	slices.Sort(union)
	assert.Equal(t, intendedStarts(t, single), union)

	// Files of different runs do not merge.
	other := filepath.Join(dir, "other-seed.mpk")
	res = runLoadgen(t, "attack", "--url", url, "--rate", "50", "--duration", "1s", "--seed", "12", "--quiet", "-o", other)
	require.Equal(t, 0, res.code, res.stderr)
	res = runLoadgen(t, "merge", "-o", filepath.Join(dir, "bad.mpk"), shardFiles[0], other)
	assert.Equal(t, cli.ExitUsage, res.code)
	assert.Contains(t, res.stderr, "other-seed.mpk")
	assert.NoFileExists(t, filepath.Join(dir, "bad.mpk"))
}

func waitWithin(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("did not finish in time")
	}
}

func summaryOf(t *testing.T, path string) jsonSummary {
	t.Helper()
	res := runLoadgen(t, "report", "--format", "json", path)
	require.Equal(t, 0, res.code, res.stderr)
	var s jsonSummary
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &s))
	return s
}

// intendedStarts returns the sorted intended starts of the requests in a
// results file (one per request: its final record).
func intendedStarts(t *testing.T, path string) []time.Duration {
	t.Helper()
	_, rs, _ := readResultsAt(t, path)
	var starts []time.Duration
	for _, res := range rs {
		if res.Final {
			starts = append(starts, res.Intended)
		}
	}
	slices.Sort(starts)
	return starts
}
