package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
)

// writeResultsFile writes n attempts and one event to a results file.
func writeResultsFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.mpk")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w, err := results.NewWriter(f, results.Header{Label: "encode", Start: time.Unix(1_800_000_000, 0), Phases: []results.PhaseInfo{{Name: "steady"}}})
	require.NoError(t, err)
	require.NoError(t, w.WriteEvent(&results.Event{Kind: results.EventPhaseStarted, Name: "steady"}))
	for i := range n {
		at := time.Duration(i) * time.Millisecond
		r := results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Route: "GET /a", Intended: at, Start: at, End: at + 5*time.Millisecond, Status: 200}
		require.NoError(t, w.WriteResult(&r))
	}
	require.NoError(t, w.Flush())
	return path
}

func TestEncodeWritesOneLinePerAttempt(t *testing.T) {
	path := writeResultsFile(t, 100)
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"encode", "--to", "jsonl", path}, &stdout, &stderr))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 100, "one line per attempt, none for the event")
	var last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[99]), &last))
	assert.Equal(t, 99.0, last["request_id"])
	assert.Equal(t, "steady", last["phase"])
	assert.Equal(t, "GET /a", last["route"])

	out := filepath.Join(t.TempDir(), "a.csv")
	require.NoError(t, run(context.Background(), []string{"encode", "--to", "csv", "-o", out, path, path}, &stdout, &stderr))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 1+200, "one header row, then the attempts of both files")
}

func TestEncodeRefusesBadUsage(t *testing.T) {
	path := writeResultsFile(t, 1)
	for _, args := range [][]string{{"encode", "--to", "xml", path}, {"encode"}, {"encode", "/no/such/file"}} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		assert.Equal(t, cli.ExitUsage, cli.Code(err), "%v: %v", args, err)
	}
}
