package harness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
)

func TestPrepareReadsData(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte("id\n1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "p.yaml")
	src := "target: {url: http://127.0.0.1:1}\ndata: [{name: users, file: users.csv}]\n" +
		"requests: [{name: a, path: \"/u/{data:users.id}\"}]\nphases: [{name: p, duration: 1s, rate: 1}]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := profiles.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := doc.Resolve(profiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := prepare("a", runs[0].Scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.data) != 1 || p.data[0].Rows() != 2 {
		t.Fatalf("data %v, want users with 2 rows", p.data)
	}

	// A file that turned bad after the profile loaded is a configuration error.
	if err := os.WriteFile(csv, []byte("id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = prepare("a", runs[0].Scenario, 1)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "data[0]: data users: "+csv+": no rows") {
		t.Errorf("error %v, want a ConfigError naming the file", err)
	}
}
