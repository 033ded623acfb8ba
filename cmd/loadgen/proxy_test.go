package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/internal/cli"
)

func TestProxyFlagErrorsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy"}, "--upstream is required"},
		{[]string{"proxy", "--upstream", "127.0.0.1:8080"}, "want an absolute URL"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--control", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--control", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--fault", `{"name":"x","kind":"abort","status":99}`}, "--fault #1: status: 99"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--fault", `{"name":"x","kind":"explode"}`}, `kind: "explode"`},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--frobnicate"}, "frobnicate"},
		// Issue #19: nonsense the proxy used to accept (and then served:
		// on loopback ports of its choosing, until the deadline below).
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream", "ftp://127.0.0.1:21/"}, `--upstream "ftp://127.0.0.1:21/": scheme ftp, want http or https`},
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream", "http://:8080"}, `--upstream "http://:8080": no host`},
		{[]string{"proxy", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream", "http://127.0.0.1:99999"}, `--upstream "http://127.0.0.1:99999": port 99999, want 1..65535`},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--fault", `{"name":"x","kind":"delay","delay":"1000000h"}`}, "--fault #1: delay: 1000000h0m0s, want ≤ 1h0m0s"},
		{[]string{"proxy", "--upstream", "http://127.0.0.1:1", "--fault", `{"name":"a/b","kind":"stall"}`}, `--fault #1: name: "a/b"`},
	} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := run(ctx, tc.args, &stdout, &stderr)
		cancel()
		require.Error(t, err, "%v", tc.args)
		assert.Equal(t, cli.ExitUsage, cli.Exit("loadgen", err, io.Discard), "%v: %v", tc.args, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

var proxyLine = regexp.MustCompile(`^proxy: (http://127\.0\.0\.1:\d+) → \S+, control API on (http://127\.0\.0\.1:\d+), seed (\d+)$`)

// TestProxyProcessAppliesFaultsAndExitsCleanlyOnSIGINT runs the real
// binary, as a user does.
func TestProxyProcessAppliesFaultsAndExitsCleanlyOnSIGINT(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "loadgen")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer upstream.Close()

	cmd := exec.Command(bin, "proxy", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream", upstream.URL, "--seed", "7",
		"--fault", `{"name":"teapot","kind":"abort","status":418,"route":"/tea"}`)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the proxy prints its addresses")
	m := proxyLine.FindStringSubmatch(lines.Text())
	require.NotNil(t, m, "first line: %q", lines.Text())
	go func() {
		for lines.Scan() {
			if lines.Text() != "proxy: stopped, faults removed" {
				t.Errorf("unexpected output %q", lines.Text())
			}
		}
		exited <- cmd.Wait()
	}()
	data, control := m[1], m[2]
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	get := func(path string) int {
		resp, err := client.Get(data + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get("/"))
	assert.Equal(t, http.StatusTeapot, get("/tea"), "the --fault is in place")

	ctl := &faults.ProxyClient{BaseURL: control, HTTP: client}
	require.NoError(t, ctl.Add(t.Context(), faults.Spec{Name: "down", Kind: "abort", Status: 503}))
	assert.Equal(t, http.StatusServiceUnavailable, get("/"))
	list, err := ctl.List(t.Context())
	require.NoError(t, err)
	assert.Len(t, list, 2)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		require.NoError(t, err, "exit status 0 after SIGINT; stderr:\n%s", stderr.String())
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 15s after SIGINT; stderr:\n%s", stderr.String())
	}
	assert.Contains(t, stderr.String(), "fault added")
	_, err = client.Get(data + "/")
	assert.True(t, err != nil && !errors.Is(err, os.ErrDeadlineExceeded), "the proxy no longer listens")
}
