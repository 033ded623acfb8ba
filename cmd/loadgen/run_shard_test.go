package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
)

func TestRunShardFlagsAreRefusedClearly(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  string // JOB_COMPLETION_INDEX, when set
		want []string
	}{
		{"embedded target with --shard", []string{"run", "slow-dependency", "--shard", "0/2"}, "",
			[]string{"--shard 0/2", "target.embedded", "--set target.embedded=null --set target.url="}},
		{"embedded target with --shards", []string{"run", "surge-recovery", "--shards", "3"}, "2",
			[]string{"--shards 3", "target.embedded", "--set target.url="}},
		{"fault shard of an unsharded run", []string{"run", "--fault-shard", "1"}, "",
			[]string{"--fault-shard", "1 shard(s)"}},
		{"fault shard out of range", []string{"run", "--shard", "0/2", "--fault-shard", "2"}, "",
			[]string{"--fault-shard", "[0, N)", "2 shard(s)"}},
		{"bad shard", []string{"run", "--shard", "2/2"}, "", []string{"--shard", `"2/2"`}},
		{"index without a count", []string{"run"}, "1", []string{"--shards", "JOB_COMPLETION_INDEX=1"}},
		{"bad start", []string{"run", "--start-at", "yesterday"}, "", []string{"--start-at", `"yesterday"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("JOB_COMPLETION_INDEX", c.env)
			}
			_, stderr, code := runCLI(t, c.args...)
			assert.Equal(t, cli.ExitUsage, code, stderr)
			for _, w := range c.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

func TestRunHelpStatesTheShardFaultRule(t *testing.T) {
	out, _, code := runCLI(t, "run", "--help")
	require.Equal(t, 0, code)
	for _, want := range []string{"--shard ", "--shards ", "--start-at ", "--fault-shard ", "once for the run", "every shard applies load (surge, burst, retry) and proxy faults"} {
		assert.Contains(t, out, want)
	}
}

// Shards whose --start-at resolved to different instants (a relative
// +10s read on pods started at different times) are reported with a
// warning when they are more than a window apart.
func TestReportWarnsWhenShardsStartMoreThanAWindowApart(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, index int, start time.Time) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		require.NoError(t, err)
		h := resultsHeader("sharded", index, 2)
		h.Start = start
		w, err := results.NewWriter(f, h)
		require.NoError(t, err)
		for i := index; i < 100; i += 2 {
			at := time.Duration(i) * 10 * time.Millisecond
			require.NoError(t, w.WriteResult(&results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Route: "GET /", Intended: at, Start: at, End: at + 5*time.Millisecond, Status: 200}))
		}
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
		return path
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	a := write("a.mpk", 0, t0)
	far := write("b-far.mpk", 1, t0.Add(3*time.Second))
	near := write("b-near.mpk", 1, t0.Add(200*time.Millisecond))

	out, stderr, code := runCLI(t, "report", a, far)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out+stderr, "shards started 3s apart")

	out, stderr, code = runCLI(t, "report", a, near)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out+stderr, "apart", "shards 200ms apart are within one window")

	out, stderr, code = runCLI(t, "report", "--window", "100ms", a, near)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out+stderr, "shards started 200ms apart")
}
