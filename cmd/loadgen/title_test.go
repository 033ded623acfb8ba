package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAttackLabelNamesTheRun(t *testing.T) {
	srv := okServer(t)
	out := filepath.Join(t.TempDir(), "r.mpk")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"attack", "--url", srv.URL + "/x", "--rate", "50", "--duration", "200ms", "--quiet", "--label", "checkout-v2", "-o", out}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	h, _, _ := readResultsAt(t, out)
	assert.Equal(t, "checkout-v2", h.Label)
}

func TestReportTitleAndLabelInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.mpk")
	writeResults(t, in, "checkout-v2", 0, 1)

	text, stderr, code := runCLI(t, "report", "--title", "Black Friday rehearsal", in)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(text, "Black Friday rehearsal: checkout-v2"), text)

	m := reportJSON(t, "--title", "Black Friday rehearsal", in)
	assert.Equal(t, "Black Friday rehearsal", m["title"])
	assert.Equal(t, "checkout-v2", m["label"])

	html := filepath.Join(dir, "r.html")
	_, stderr, code = runCLI(t, "report", "--format", "html", "--title", "Black Friday rehearsal", "-o", html, in)
	require.Equal(t, 0, code, stderr)
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), "<title>Black Friday rehearsal · checkout-v2</title>")
}

func TestReportSlowestFlag(t *testing.T) {
	in := filepath.Join(t.TempDir(), "r.mpk")
	writeResults(t, in, "s", 0, 1)
	m := reportJSON(t, "--slowest", "3", in)
	slow, ok := m["slowest"].([]any)
	require.True(t, ok, "slowest is a list: %v", m["slowest"])
	assert.Len(t, slow, 3)
	m = reportJSON(t, "--slowest", "0", in)
	assert.Empty(t, m["slowest"])
	_, stderr, code := runCLI(t, "report", "--slowest", "-1", in)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--slowest must be between 0 and 1000")
}
