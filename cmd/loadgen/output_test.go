package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/internal/cli"
)

func TestOpenOutput(t *testing.T) {
	var stdout bytes.Buffer
	for _, path := range []string{"", "-"} {
		out, err := openOutput("report", path, &stdout)
		if err != nil || out.toFile() || out.Writer != &stdout || out.Close() != nil {
			t.Errorf("-o %q: %+v, %v; want standard output", path, out, err)
		}
	}
	path := filepath.Join(t.TempDir(), "r.txt")
	out, err := openOutput("report", path, &stdout)
	if err != nil || !out.toFile() {
		t.Fatalf("-o %s: %+v, %v", path, out, err)
	}
	if _, err := out.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "x" {
		t.Errorf("file holds %q, want x", b)
	}
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "r.txt")
	if _, err := openOutput("report", bad, &stdout); cli.Code(err) != cli.ExitUsage || !strings.Contains(err.Error(), "report: -o "+bad) {
		t.Errorf("-o %s: %v, want a usage error naming it", bad, err)
	}
}
