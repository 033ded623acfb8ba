package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// envProfile sends a bearer token taken from the environment.
func envProfile(t *testing.T, url string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "env.yaml")
	src := "target: {url: \"" + url + "\"}\n" +
		"requests:\n  - name: a\n    path: /\n    headers: {Authorization: \"Bearer ${GOODPUT_TEST_TOKEN}\"}\n" +
		"phases:\n  - name: p\n    duration: 1s\n    rate: ${GOODPUT_TEST_RATE:-20}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunEnvSecretNotPrinted(t *testing.T) {
	const secret = "tok-5ecret-value"
	t.Setenv("GOODPUT_TEST_TOKEN", secret)
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+secret {
			sent.Add(1)
		}
	}))
	defer srv.Close()
	path := envProfile(t, srv.URL)

	out, stderr, code := runCLI(t, "run", path, "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	if strings.Contains(out+stderr, secret) || !strings.Contains(out, "${GOODPUT_TEST_TOKEN}") {
		t.Errorf("dry run shows the secret or not the variable:\n%s", out)
	}

	dir := t.TempDir()
	out, stderr, code = runCLI(t, "run", path, "--quiet", "--out", dir)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	if sent.Load() == 0 {
		t.Error("the target never saw the expanded token")
	}
	if strings.Contains(out+stderr, secret) {
		t.Errorf("run output shows the secret:\n%s\n%s", out, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var mpk int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a folder
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret", f)
		}
		if strings.HasSuffix(f, ".mpk") {
			mpk++
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			h, _, _ := readResults(t, fh)
			fh.Close()
			if sc := string(h.Scenario); !strings.Contains(sc, "Bearer ${GOODPUT_TEST_TOKEN}") {
				t.Errorf("results header scenario does not show the variable: %s", sc)
			}
		}
	}
	if mpk == 0 {
		t.Errorf("no results file in %v", files)
	}
}

func TestRunEnvUnsetExits2(t *testing.T) {
	path := envProfile(t, "http://127.0.0.1:1")
	_, stderr, code := runCLI(t, "run", path, "--dry-run")
	want := path + ":5:30: requests[0].headers.Authorization: environment variable GOODPUT_TEST_TOKEN is not set"
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, want)
	}
}
