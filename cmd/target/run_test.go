package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/internal/e2e"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var listening = regexp.MustCompile(`^target: listening on (http://127\.0\.0\.1:\d+) \(admin (http://127\.0\.0\.1:\d+)\)\n$`)

// startRun runs run() in a goroutine and returns the API and admin URLs
// it printed, and a stop function that ends it and returns its error.
func startRun(t *testing.T, args ...string) (api, admin string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr e2e.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &stdout, &stderr) }()
	var m []string
	require.Eventually(t, func() bool {
		m = listening.FindStringSubmatch(stdout.String())
		return m != nil
	}, 10*time.Second, 5*time.Millisecond, "no listening line; stderr: %s", stderr.String())
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return m[1], m[2], stop
}

func TestRunServesItemsAndStopsCleanly(t *testing.T) {
	api, admin, stop := startRun(t, "--db-latency", "1ms")

	resp, err := http.Get(api + "/api/items/42")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"id":42,"name":"item-42"}`, string(body))
	assert.Contains(t, resp.Header.Get("Server-Timing"), "db;dur=")

	resp, err = http.Get(api + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Get(admin + "/admin/deps/db")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, stop())
	http.DefaultClient.CloseIdleConnections()
}

func TestRunBadUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("db:\n  pool: 4\n  no_such_field: 1\n"), 0o644))
	huge := filepath.Join(dir, "huge.yaml")
	require.NoError(t, os.WriteFile(huge, []byte("list:\n  max_page_size: 1000000000\n"), 0o644))
	tests := []struct {
		name string
		args []string
		want string // the message must name this
	}{
		{"unknown flag", []string{"--no-such-flag"}, "--no-such-flag"},
		{"bad pool", []string{"--db-pool", "0"}, "--db-pool"},
		{"bad latency", []string{"--search-latency", "lognormal:20ms"}, "--search-latency"},
		{"bad preset", []string{"--preset", "armoured"}, "--preset"},
		{"unknown field in file", []string{"--config", bad}, "no_such_field"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"public admin without token", []string{"--admin", "0.0.0.0:0"}, "admin_token"},
		{"stray argument", []string{"serve"}, "serve"},
		{"bad dependency url", []string{"--db-url", "db.local:5432"}, "--db-url"},
		{"priority without limiter", []string{"--priority"}, "admission.priority"},
		{"negative workers", []string{"--workers", "-1"}, "--workers"},
		{"overload window too long", []string{"--retry-aware", "--overload-window", "2m"}, "--overload-window: admission.overload_window: 2m0s, want 0s..1m0s"},
		// Regression: these crashed the target with "out of memory".
		{"huge workers", []string{"--workers", "1000000000000"}, "--workers: workers.workers: 1000000000000, want 1..10000"},
		{"huge db pool", []string{"--db-pool", "1000000000000"}, "--db-pool: db.pool: 1000000000000, want 1..10000"},
		{"huge queue size", []string{"--limiter", "static", "--queue-size", "1000000000000"}, "--queue-size: admission.queue_size: 1000000000000, want 0..100000"},
		{"huge consumers", []string{"--consumers", "100000000"}, "--consumers: messages.consumers: 100000000, want 1..1024"},
		{"huge page size in the file", []string{"--config", huge}, "list.max_page_size: 1000000000, want 1..100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			require.Error(t, err)
			assert.Equal(t, cli.ExitUsage, cli.Exit("target", err, &stderr))
			assert.Contains(t, stderr.String(), tt.want)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
		})
	}
}

func TestRunCannotListen(t *testing.T) {
	api, _, _ := startRun(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--listen", strings.TrimPrefix(api, "http://")}, &stdout, &stderr)
	require.Error(t, err)
	assert.Equal(t, cli.ExitRun, cli.Exit("target", err, &stderr))
	assert.Contains(t, stderr.String(), "--listen")
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--help"}, &stdout, &stderr)
	assert.True(t, errors.Is(err, cli.ErrHelp))
	assert.Equal(t, cli.ExitOK, cli.Exit("target", err, &stderr))
	assert.Contains(t, stdout.String(), "Examples:")
	assert.Contains(t, stdout.String(), "--db-latency")
}

func TestRunPrintConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "t.yaml")
	require.NoError(t, os.WriteFile(file, []byte("preset: protected\nsearch:\n  pool: 6\n"), 0o644))
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--config", file, "--db-pool", "12", "--search-latency", "uniform:10ms-30ms",
		"--bulkheads=false", "--admin-token", "hunter2", "--print-config"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	out := stdout.String()
	for _, want := range []string{"preset: protected", "pool: 12", "pool: 6", "dist: uniform", "limiter: gradient", "admin_token is set"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "hunter2")
	assert.Regexp(t, `(?s)bulkheads:\s+enabled: false`, out)

	// What --print-config prints is a configuration file target accepts.
	printed := filepath.Join(dir, "printed.yaml")
	require.NoError(t, os.WriteFile(printed, stdout.Bytes(), 0o644))
	var again bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"--config", printed, "--print-config"}, &again, &stderr))
	assert.Equal(t, strings.TrimPrefix(out, "# admin_token is set (not shown)\n"), again.String())
}

func TestRunVersionNamesTheBuild(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), args, &stdout, &stderr))
		assert.Regexp(t, `^target \S+.* \(go1\.\d+`, stdout.String(), args)
	}
}

// TestRunAdminTokenSources: the admin token, visible in ps when given as
// --admin-token, may also come from a file or the environment, in the
// order the help text gives.
func TestRunAdminTokenSources(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tokenFile := file("token", "from-file\n")
	crlf := file("crlf", "from-crlf\r\n")
	empty := file("empty", "\n")
	twoLines := file("two", "a\nb\n")
	inConfig := file("t.yaml", "admin_token: from-config\n")
	tests := []struct {
		name    string
		env     string
		args    []string
		want    string
		wantErr string
	}{
		{"none", "", nil, "", ""},
		{"flag", "", []string{"--admin-token", "from-flag"}, "from-flag", ""},
		{"file", "", []string{"--admin-token-file", tokenFile}, "from-file", ""},
		{"file with crlf", "", []string{"--admin-token-file", crlf}, "from-crlf", ""},
		{"env", "from-env", nil, "from-env", ""},
		{"config file", "", []string{"--config", inConfig}, "from-config", ""},
		{"env over config file", "from-env", []string{"--config", inConfig}, "from-env", ""},
		{"flag over env", "from-env", []string{"--admin-token", "from-flag"}, "from-flag", ""},
		{"file over env", "from-env", []string{"--admin-token-file", tokenFile}, "from-file", ""},
		{"flag and file", "", []string{"--admin-token", "x", "--admin-token-file", tokenFile}, "", "not both"},
		{"missing file", "", []string{"--admin-token-file", filepath.Join(dir, "nope")}, "", "--admin-token-file: open " + filepath.Join(dir, "nope")},
		{"empty file", "", []string{"--admin-token-file", empty}, "", "--admin-token-file: " + empty + " is empty"},
		{"two lines", "", []string{"--admin-token-file", twoLines}, "", "more than one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(adminTokenEnv, tt.env)
			cfg, _, err := parseArgs(tt.args, io.Discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, cli.ExitUsage, cli.Code(err))
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.AdminToken)
		})
	}
}

// TestRunAdminTokenFromFileGuardsAdmin: a token read from a file is the one
// the admin API asks for.
func TestRunAdminTokenFromFileGuardsAdmin(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600))
	_, admin, stop := startRun(t, "--admin-token-file", tokenFile)
	get := func(auth string) int {
		req, err := http.NewRequest(http.MethodGet, admin+"/admin/config", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, get(""))
	assert.Equal(t, http.StatusOK, get("Bearer s3cret"))
	require.NoError(t, stop())
	http.DefaultClient.CloseIdleConnections()
}
