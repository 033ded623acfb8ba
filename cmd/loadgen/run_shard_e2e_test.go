package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two `loadgen run` processes, the shards 0/2 and 1/2 of one profile with
// a dependency fault, against one target process: the fault is applied
// once (by shard 0) and rolled back, and the merged shards hold the
// unsharded run's requests.
func TestEndToEndShardedProfileRunAppliesFaultsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	base, admin := startTargetWithAdmin(t, "--db-pool", "64", "--db-latency", "5ms")
	dir := t.TempDir()
	profile := filepath.Join(dir, "sharded.yaml")
	require.NoError(t, os.WriteFile(profile, []byte(fmt.Sprintf(`seed: 5
target:
  url: %s
  admin: %s
requests:
  - name: items
    path: "/api/items/{rand:1-1000}"
client:
  timeout: 2s
phases:
  - name: steady
    duration: 2s
    rate: 200
faults:
  - name: slow-db
    kind: latency
    target: db
    at: 500ms
    for: 1s
    distribution: {dist: fixed, p50: 30ms}
slo:
  latency: 1s
report:
  formats: [text]
`, base, admin)), 0o644))
	before := depState(t, admin, "db")

	loadgen, _ := binaries(t)
	startAt := time.Now().Add(2 * time.Second).UTC()
	const shards = 2
	cmds := make([]*exec.Cmd, shards)
	outs := make([]bytes.Buffer, shards)
	for i := range shards {
		cmds[i] = exec.Command(loadgen, "run", profile, "--quiet", "--out", filepath.Join(dir, "sharded"),
			"--shard", fmt.Sprintf("%d/%d", i, shards), "--start-at", startAt.Format(time.RFC3339Nano))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		require.NoError(t, cmds[i].Start())
	}
	for i, cmd := range cmds {
		require.NoError(t, waitWithin(cmd, time.Minute), "shard %d:\n%s", i, outs[i].String())
	}
	assert.Contains(t, outs[0].String(), "loadgen merge "+filepath.Join(dir, "sharded", "sharded.shard-*-of-2.mpk"))
	assert.Equal(t, before, depState(t, admin, "db"), "the dependency is restored after the run")

	files := make([]string, shards)
	for i := range files {
		files[i] = filepath.Join(dir, "sharded", fmt.Sprintf("sharded.shard-%d-of-%d.mpk", i, shards))
		h, faults, slowed := headerAndFaultEvents(t, files[i])
		// Applied once, the fault slows every shard's requests.
		assert.Greater(t, slowed, 0.9, "shard %d: share of the requests sent while the fault was in place that took ≥ 20ms (5ms without it)", i)
		assert.Equal(t, results.ShardInfo{Index: i, Count: shards, ClockOffset: h.Shard.ClockOffset}, h.Shard)
		assert.True(t, h.Shard.ClockOffset >= 0 && h.Shard.ClockOffset < time.Second, "shard %d began %v after the agreed start", i, h.Shard.ClockOffset)
		assert.True(t, h.Start.Equal(startAt), "shard %d starts at %v, want %v", i, h.Start, startAt)
		if i == 0 {
			assert.Equal(t, []string{"fault_applied slow-db", "fault_removed slow-db"}, faults, "the fault shard applies the fault")
		} else {
			assert.Empty(t, faults, "shard %d applies no fault on the shared target", i)
		}
	}

	res := runLoadgen(t, "run", profile, "--quiet", "--out", filepath.Join(dir, "single"))
	require.Equal(t, 0, res.code, res.stdout+res.stderr)
	_, faults, _ := headerAndFaultEvents(t, filepath.Join(dir, "single", "sharded.mpk"))
	assert.Equal(t, []string{"fault_applied slow-db", "fault_removed slow-db"}, faults)
	assert.Equal(t, before, depState(t, admin, "db"))

	merged := filepath.Join(dir, "merged.mpk")
	res = runLoadgen(t, append([]string{"merge", "-o", merged}, files...)...)
	require.Equal(t, 0, res.code, res.stderr)
	whole, parts := summaryOf(t, filepath.Join(dir, "single", "sharded.mpk")), summaryOf(t, merged)
	assert.InDelta(t, whole.Requests, parts.Requests, shards, "merged request count")
	assert.EqualValues(t, 400, whole.Requests)
}

var targetLine = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+) \(admin (http://127\.0\.0\.1:\d+)\)`)

// startTargetWithAdmin starts the reference target process on free
// loopback ports and returns its API and admin base URLs; it is stopped
// when the test ends.
func startTargetWithAdmin(t *testing.T, args ...string) (api, admin string) {
	t.Helper()
	_, target := binaries(t)
	cmd := exec.Command(target, append([]string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := targetLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case m := <-found:
		return m[1], m[2]
	case <-time.After(30 * time.Second):
		t.Fatalf("target did not print its addresses within 30s; stderr:\n%s", stderr.String())
		return "", ""
	}
}

// depState returns a dependency's settings (not its counters) from the
// target's admin API.
func depState(t *testing.T, admin, name string) string {
	t.Helper()
	resp, err := http.Get(admin + "/admin/deps/" + name)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var v struct{ Config json.RawMessage }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	require.NotEmpty(t, v.Config)
	b, err := json.Marshal(v.Config)
	require.NoError(t, err)
	return string(b)
}

// headerAndFaultEvents returns a results file's header, its fault events as
// "kind name" in order, and the share of the attempts intended in
// [0.7s, 1.3s] (well inside the fault's window) that took at least 20ms
// (the dependency takes 5ms, 30ms with the fault).
func headerAndFaultEvents(t *testing.T, path string) (results.Header, []string, float64) {
	t.Helper()
	h, rs, evs := readResultsAt(t, path)
	var faults []string
	var in, slow int
	for _, res := range rs {
		if res.Intended >= 700*time.Millisecond && res.Intended <= 1300*time.Millisecond {
			in++
			if res.AttemptLatency() >= 20*time.Millisecond {
				slow++
			}
		}
	}
	for _, ev := range evs {
		switch ev.Kind {
		case results.EventFaultApplied, results.EventFaultRemoved, results.EventFaultFailed:
			faults = append(faults, ev.Kind.String()+" "+ev.Name)
		}
	}
	require.Positive(t, in, "%s: no attempt intended while the fault was in place", path)
	return h, faults, float64(slow) / float64(in)
}
