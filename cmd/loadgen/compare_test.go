package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.mpk"), filepath.Join(dir, "b.mpk")
	writeResults(t, a, "first", 0, 1)
	writeResults(t, b, "second", 0, 1)

	out, stderr, code := runCLI(t, "compare", "before="+a, b)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(out, "\n")
	assert.Regexp(t, `^metric\s+before\s+second$`, lines[0], "labels from NAME= and from the header")
	assert.Contains(t, out, "goodput_ratio")
	assert.Contains(t, out, "(±0%)", "identical runs")
	assert.Contains(t, out, "percentages relative to before")
	assert.NotContains(t, out, "\nroute ", "runs of one route: no per-route rows")

	out, stderr, code = runCLI(t, "compare", "--format", "json", "x="+a, "y="+b)
	require.Equal(t, 0, code, stderr)
	var m struct {
		Compare struct {
			Runs []string `json:"runs"`
			Rows []struct {
				Metric string     `json:"metric"`
				Values []*float64 `json:"values"`
			} `json:"rows"`
			Routes []struct {
				Route string `json:"route"`
				Rows  []struct {
					Metric string `json:"metric"`
				} `json:"rows"`
			} `json:"routes"`
		} `json:"compare"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &m), out)
	assert.Equal(t, []string{"x", "y"}, m.Compare.Runs)
	require.NotEmpty(t, m.Compare.Rows)
	assert.Equal(t, "goodput_ratio", m.Compare.Rows[0].Metric)
	require.Len(t, m.Compare.Rows[0].Values, 2)
	assert.Empty(t, m.Compare.Routes, "runs of one route")

	page := filepath.Join(dir, "c.html")
	_, stderr, code = runCLI(t, "compare", "--format", "html", "-o", page, "x="+a, "y="+b)
	require.Equal(t, 0, code, stderr)
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(html), "Side by side"))
	assert.True(t, strings.Contains(string(html), `<svg class="chart"`))

	// Shards of one run, comma-separated, and a same-label fallback.
	out, stderr, code = runCLI(t, "compare", "all="+a, b, b)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^metric\s+all\s+second\s+b$`, strings.Split(out, "\n")[0])
}

// Runs of several routes are compared route by route too.
func TestComparePerRouteRows(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, slow time.Duration) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		require.NoError(t, err)
		w, err := results.NewWriter(f, resultsHeader(name, 0, 1))
		require.NoError(t, err)
		for i := range 100 {
			at := time.Duration(i) * 10 * time.Millisecond
			r := results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Route: "GET /a", Intended: at, Start: at, End: at + 5*time.Millisecond, Status: 200}
			if i%2 == 1 {
				r.Route, r.End = "POST /b", at+slow
			}
			require.NoError(t, w.WriteResult(&r))
		}
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
		return path
	}
	a, b := write("a.mpk", 50*time.Millisecond), write("b.mpk", 20*time.Millisecond)
	out, stderr, code := runCLI(t, "compare", "before="+a, "after="+b)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `\nroute\s+metric\s+before\s+after\nGET /a\s+goodput_ratio`, out, "per-route rows")
	assert.Regexp(t, `\nPOST /b\s+goodput_ratio[^\n]*\n[^\n]*late_ratio[^\n]*\n\s+p99\s+50ms\s+\* 20ms \(−60%\)`, out)
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.mpk")
	writeResults(t, a, "first", 0, 1)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{a}, "at least two runs"},
		{[]string{"x=" + a, "x=" + a}, `the label "x" is given twice`},
		{[]string{"=" + a, a}, "non-empty name"},
		{[]string{"x=" + a + ",", a}, "empty file name"},
		{[]string{"--format", "csv", a, a}, `--format "csv" is not a format (valid: text, json, html)`},
		{[]string{"--recovery-window", "-1s", a, a}, "--recovery-window must be positive"},
		{[]string{a, filepath.Join(dir, "missing.mpk")}, "missing.mpk"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"compare"}, tt.args...)...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
	out, _, code := runCLI(t, "compare", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "loadgen compare unprotected=a.mpk protected=b.mpk")
}
