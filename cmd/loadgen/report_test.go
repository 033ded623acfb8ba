package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
)

// resultsHeader is the header of writeResults files: shard index of count.
func resultsHeader(label string, index, count int) results.Header {
	return results.Header{
		Tool: "goodput/test", Host: "gen", Label: label, Seed: 11,
		Start:    time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Scenario: []byte(`{"name":"` + label + `"}`),
		SLO:      100 * time.Millisecond,
		Phases:   []results.PhaseInfo{{Name: "steady", Duration: 2 * time.Second, FromRPS: 100, ToRPS: 100}},
		Shard:    results.ShardInfo{Index: index, Count: count},
	}
}

// writeResults writes a results file of 200 requests over 2 s (100 rps),
// every fifth one shed once and then retried; of them, shard index of
// count keeps the requests with id % count == index.
func writeResults(t *testing.T, path, label string, index, count int) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := results.NewWriter(f, resultsHeader(label, index, count))
	require.NoError(t, err)
	for i := range 200 {
		if i%count != index {
			continue
		}
		at := time.Duration(i) * 10 * time.Millisecond
		lat := time.Duration(5+i%40) * time.Millisecond
		r := results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Route: "GET /", Intended: at, Start: at, End: at + lat, Status: 200}
		if i%5 == 0 {
			shed := r
			shed.Final, shed.End, shed.Status, shed.Outcome = false, at+time.Millisecond, 503, results.OutcomeShed
			require.NoError(t, w.WriteResult(&shed))
			r.Attempt, r.Start = 2, at+2*time.Millisecond
		}
		require.NoError(t, w.WriteResult(&r))
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
}

// runCLI runs loadgen in-process and returns stdout, stderr and the exit
// code main would use.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	code := cli.Exit("loadgen", err, &stderr)
	return stdout.String(), stderr.String(), code
}

func reportJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, stderr, code := runCLI(t, append([]string{"report", "--format", "json"}, args...)...)
	require.Equal(t, 0, code, stderr)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	return m
}

func TestReportJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	m := reportJSON(t, path)
	assert.EqualValues(t, 200, m["requests"])
	assert.EqualValues(t, 240, m["attempts"])
	assert.EqualValues(t, 100, m["offered_rps"])
	assert.EqualValues(t, 1, m["goodput_ratio"])
	assert.EqualValues(t, 1.2, m["amplification"])
	assert.EqualValues(t, 11, m["seed"])
	assert.EqualValues(t, 200, m["outcomes"].(map[string]any)["ok"])
	assert.EqualValues(t, 40, m["attempt_outcomes"].(map[string]any)["shed"])
	assert.Len(t, m["windows"], 3, "two windows of schedule and the tail")
	lat := m["latency_ms"].(map[string]any)
	assert.Greater(t, lat["p50"], 0.0)
	assert.LessOrEqual(t, lat["p99"], lat["max"])
}

func TestReportFlagsChangeTheFigures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	m := reportJSON(t, "--window", "500ms", "--slo", "20ms", path)
	assert.EqualValues(t, 0.5, m["window_s"])
	assert.Len(t, m["windows"], 5)
	assert.EqualValues(t, 20, m["slo_ms"])
	assert.Less(t, m["goodput_ratio"], 0.5, "most requests take longer than 20ms")
}

func TestReportFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.mpk")
	writeResults(t, path, "steady", 0, 1)

	out, _, code := runCLI(t, "report", path)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "goodput report: steady")
	assert.NotContains(t, out, "\x1b[", "no colour when stdout is not a terminal")

	out, _, code = runCLI(t, "report", "--color", "always", path)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "\x1b[")

	out, _, code = runCLI(t, "report", "--format", "csv", path)
	require.Equal(t, 0, code)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 4, "a header and one row per window")

	out, _, code = runCLI(t, "report", "--format", "hgrm", path)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "1/(1-Percentile)")

	hlog := filepath.Join(dir, "run.hlog")
	out, _, code = runCLI(t, "report", "--format", "hlog", "-o", hlog, path)
	require.Equal(t, 0, code)
	assert.Empty(t, out, "-o writes to the file, not stdout")
	f, err := os.Open(hlog)
	require.NoError(t, err)
	defer f.Close()
	lr := hdr.NewHistogramLogReader(f)
	var total int64
	for {
		h, err := lr.NextIntervalHistogram()
		require.NoError(t, err)
		if h == nil {
			break
		}
		total += h.TotalCount()
	}
	assert.EqualValues(t, 200, total)
}

func TestReportMergesShards(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		p := filepath.Join(dir, "shard-"+string(rune('0'+i))+".mpk")
		writeResults(t, p, "steady", i, 3)
		files = append(files, p)
	}
	whole := filepath.Join(dir, "whole.mpk")
	writeResults(t, whole, "steady", 0, 1)

	merged := reportJSON(t, files...)
	want := reportJSON(t, whole)
	assert.EqualValues(t, 3, merged["shards"])
	for _, k := range []string{"requests", "attempts", "goodput_ratio", "latency_ms", "outcomes", "windows"} {
		assert.Equal(t, want[k], merged[k], k)
	}
}

func TestReportRefusesDifferentRuns(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.mpk"), filepath.Join(dir, "b.mpk")
	writeResults(t, a, "baseline", 0, 1)
	writeResults(t, b, "candidate", 0, 1)
	_, stderr, code := runCLI(t, "report", a, b)
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "b.mpk")
	assert.Contains(t, stderr, `"baseline"`)
	assert.Contains(t, stderr, `"candidate"`)
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mpk")
	require.NoError(t, os.WriteFile(garbage, []byte("not a results file"), 0o644))
	good := filepath.Join(dir, "good.mpk")
	writeResults(t, good, "steady", 0, 1)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"garbage", []string{"report", garbage}, "garbage.mpk: not a goodput results stream"},
		{"missing", []string{"report", filepath.Join(dir, "nope.mpk")}, "nope.mpk: no such file"},
		{"no file", []string{"report"}, "no results file"},
		{"bad format", []string{"report", "--format", "xml", good}, "valid: text, json"},
		{"bad window", []string{"report", "--window", "0s", good}, "--window"},
		{"tiny window", []string{"report", "--window", "10us", good}, "at least 1ms"},
		{"negative slo", []string{"report", "--slo", "-1s", good}, "--slo"},
		{"unknown flag", []string{"report", "--nope", good}, "--nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tt.args...)
			assert.Equal(t, cli.ExitUsage, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestReportTruncatedFileWarns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.mpk")
	require.NoError(t, os.WriteFile(cut, data[:len(data)*3/4], 0o644))

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"report", "--format", "json", cut}, &stdout, &stderr)
	require.NoError(t, err)
	assert.Contains(t, stderr.String(), "warning: "+cut)
	assert.Contains(t, stderr.String(), "whole records")
	var m map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &m))
	assert.Greater(t, m["requests"], 100.0, "every whole record is reported")
	assert.Equal(t, false, m["complete"])
	assert.Contains(t, m["warnings"].([]any)[0], "cut mid-block")
}

// trailerStart returns the offset of the end-of-run trailer of a results
// file written by results.Writer (a trailer is shorter than 256 bytes).
func trailerStart(t *testing.T, data []byte) int {
	t.Helper()
	for i := len(data) - 6; i >= 0; i-- {
		if data[i] == 0xc9 && data[i+1] == 0 && data[i+2] == 0 && data[i+3] == 0 && data[i+5] == 'E' {
			return i
		}
	}
	t.Fatal("no trailer")
	return 0
}

// TestReportCutOnRecordBoundaryIsIncomplete: a kill -9 that cut the file
// between two records read as a whole run: lower rates, exit 0, no
// warning (issue #19).
func TestReportCutOnRecordBoundaryIsIncomplete(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	killed := filepath.Join(dir, "killed.mpk")
	require.NoError(t, os.WriteFile(killed, data[:trailerStart(t, data)], 0o644))

	out, stderr, code := runCLI(t, "report", "--format", "json", killed)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "warning: "+killed+": results stream incomplete: no end-of-run trailer")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, false, m["complete"])
	assert.EqualValues(t, 0, m["damaged_blocks"])

	text, _, code := runCLI(t, "report", "--color", "never", killed)
	require.Equal(t, 0, code)
	assert.Contains(t, text, "incomplete: no end-of-run trailer")

	whole := reportJSON(t, path)
	assert.Equal(t, true, whole["complete"])
	assert.Empty(t, whole["warnings"])
}

// TestReportDamagedFileSaysWhere: one flipped byte changed a run's figures
// silently (issue #19).
func TestReportDamagedFileSaysWhere(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[len(data)/2] ^= 0x20
	damaged := filepath.Join(dir, "damaged.mpk")
	require.NoError(t, os.WriteFile(damaged, data, 0o644))

	for _, cmd := range [][]string{
		{"report", "--format", "json", damaged},
		{"compare", "--format", "json", "a=" + path, "b=" + damaged},
	} {
		out, stderr, code := runCLI(t, cmd...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, "warning: "+damaged+": results stream damaged at byte ", cmd[0])
		if cmd[0] == "report" {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &m))
			assert.Equal(t, false, m["complete"])
			assert.EqualValues(t, 1, m["damaged_blocks"])
		}
	}
}

func TestReportHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"report", "--help"}, &stdout, &stderr)
	assert.True(t, errors.Is(err, cli.ErrHelp))
	assert.Contains(t, stdout.String(), "Examples:")
	assert.Contains(t, stdout.String(), "--window")
	assert.Contains(t, stdout.String(), "loadgen report --format json")
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		p := filepath.Join(dir, "shard-"+string(rune('0'+i))+".mpk")
		writeResults(t, p, "steady", i, 2)
		files = append(files, p)
	}
	out := filepath.Join(dir, "all.mpk")
	_, stderr, code := runCLI(t, append([]string{"merge", "-o", out}, files...)...)
	require.Equal(t, 0, code, stderr)

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	rd, err := results.NewReader(f)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, rd.Header().Merged)

	merged := reportJSON(t, out)
	both := reportJSON(t, files...)
	for _, k := range []string{"requests", "attempts", "latency_ms", "windows", "shards"} {
		assert.Equal(t, both[k], merged[k], k)
	}
	assert.EqualValues(t, 200, merged["requests"])
	assert.Empty(t, merged["warnings"])

	// A merged file refuses to merge again with a shard it holds.
	_, stderr, code = runCLI(t, "merge", "-o", filepath.Join(dir, "again.mpk"), out, files[1])
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, "both hold shard 1")
	_, err = os.Stat(filepath.Join(dir, "again.mpk"))
	assert.True(t, os.IsNotExist(err), "nothing written when the merge is refused")
}

// TestMergeOfTruncatedShardIsIncomplete: merge warned once of a cut shard,
// and the merged file then read as a whole run (issue #19).
func TestMergeOfTruncatedShardIsIncomplete(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		p := filepath.Join(dir, "shard-"+string(rune('0'+i))+".mpk")
		writeResults(t, p, "steady", i, 2)
		files = append(files, p)
	}
	data, err := os.ReadFile(files[1])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(files[1], data[:trailerStart(t, data)], 0o644))

	out := filepath.Join(dir, "all.mpk")
	_, stderr, code := runCLI(t, append([]string{"merge", "-o", out}, files...)...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "shard-1.mpk: results stream incomplete")

	_, stderr, code = runCLI(t, "report", "--format", "json", out)
	require.Equal(t, 0, code)
	assert.Contains(t, stderr, "incomplete: the writer marked it incomplete: merged from "+files[1])
	m := reportJSON(t, out)
	assert.Equal(t, false, m["complete"])

	// Merging the merged file again keeps the flag.
	again := filepath.Join(dir, "again.mpk")
	_, _, code = runCLI(t, "merge", "-o", again, out)
	require.Equal(t, 0, code)
	assert.Equal(t, false, reportJSON(t, again)["complete"])
}

func TestMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.mpk"), filepath.Join(dir, "b.mpk")
	writeResults(t, a, "baseline", 0, 1)
	writeResults(t, b, "candidate", 0, 1)
	garbage := filepath.Join(dir, "garbage.mpk")
	require.NoError(t, os.WriteFile(garbage, []byte("{}"), 0o644))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"different runs", []string{"merge", "-o", filepath.Join(dir, "x.mpk"), a, b}, "different scenarios"},
		{"garbage", []string{"merge", "-o", filepath.Join(dir, "x.mpk"), a, garbage}, "garbage.mpk"},
		{"no output", []string{"merge", a}, "-o FILE is required"},
		{"no input", []string{"merge", "-o", "x.mpk"}, "no results files"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tt.args...)
			assert.Equal(t, cli.ExitUsage, code)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestReportReadsStdin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	stdin := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = stdin }()
	m := reportJSON(t, "-")
	assert.EqualValues(t, 200, m["requests"])
}

func TestReportWritesSeveralOutputs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.mpk")
	writeResults(t, path, "steady", 0, 1)
	outDir := filepath.Join(dir, "out")
	jsonPath := filepath.Join(dir, "summary.json")
	stdout, stderr, code := runCLI(t, "report", "--out-dir", outDir, "--out-json", jsonPath, path)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "goodput report: steady", "the text summary still goes to stdout")

	var m map[string]any
	data, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &m))
	assert.EqualValues(t, 200, m["requests"])
	for _, name := range outDirFiles() {
		fi, err := os.Stat(filepath.Join(outDir, name))
		if assert.NoError(t, err, name) {
			assert.Positive(t, fi.Size(), name)
		}
	}
	html, err := os.ReadFile(filepath.Join(outDir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "<svg")
}
