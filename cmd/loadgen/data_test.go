package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// dataServer records the paths and X-Name headers it is sent, in order.
func dataServer(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("X-Name"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// checkRows checks that the requests took the rows of 1,ann 2,bob 3,cy in
// order, wrapping, path and header from the same row. With a uniform
// arrival at a low rate requests arrive in order.
func checkRows(t *testing.T, seen []string) {
	t.Helper()
	rows := []string{"/u/1 ann", "/u/2 bob", "/u/3 cy"}
	if len(seen) < 4 {
		t.Fatalf("only %d requests: %v", len(seen), seen)
	}
	for i, s := range seen {
		if s != rows[i%3] {
			t.Fatalf("request %d took %q, want %q (all: %v)", i, s, rows[i%3], seen)
		}
	}
}

func writeUsers(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(path, []byte("id,name\n1,ann\n2,bob\n3,cy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunDataRowsInOrder(t *testing.T) {
	srv, seen := dataServer(t)
	dir := t.TempDir()
	writeUsers(t, dir)
	path := filepath.Join(dir, "data.yaml")
	src := "target: {url: \"" + srv.URL + "\"}\n" +
		"data: [{name: users, file: users.csv}]\n" +
		"requests:\n  - name: a\n    path: /u/{data:users.id}\n    headers: {X-Name: \"{data:users.name}\"}\n" +
		"phases: [{name: p, duration: 1s, rate: 8}]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "run", path, "--quiet", "--out", t.TempDir()); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkRows(t, seen())
}

func TestAttackData(t *testing.T) {
	srv, seen := dataServer(t)
	users := writeUsers(t, t.TempDir())
	out := filepath.Join(t.TempDir(), "r.mpk")
	_, stderr, code := runCLI(t, "attack", "--url", srv.URL+"/u/{data:users.id}", "--header", "X-Name: {data:users.name}",
		"--data", "users="+users, "--rate", "8", "--duration", "1s", "--quiet", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkRows(t, seen())

	_, stderr, code = runCLI(t, "attack", "--url", srv.URL+"/u/{data:users.idd}", "--data", "users="+users, "--rate", "8", "--duration", "1s", "-o", out)
	if code != 2 || !strings.Contains(stderr, `no column "idd"`) || !strings.Contains(stderr, users) {
		t.Errorf("unknown column: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "attack", "--url", srv.URL+"/u/{data:user.id}", "--data", "users="+users, "--rate", "8", "--duration", "1s", "-o", out)
	if code != 2 || !strings.Contains(stderr, `no data named "user"`) {
		t.Errorf("unknown data: exit %d, %s", code, stderr)
	}
}
