package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readResultsAt is readResults of the file at path.
func readResultsAt(t *testing.T, path string) (results.Header, []results.Result, []results.Event) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readResults(t, f)
}

// interruptedAttackReturns waits for an attack whose context was canceled
// to return done's nil error, within 10 s.
func interruptedAttackReturns(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("interrupted attack: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("attack did not return within 10 s of the interrupt")
	}
}

// readResults reads a results stream: its header and records.
func readResults(t *testing.T, r io.Reader) (results.Header, []results.Result, []results.Event) {
	t.Helper()
	rd, err := results.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var rs []results.Result
	var evs []results.Event
	for {
		var res results.Result
		var ev results.Event
		kind, err := rd.Next(&res, &ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if kind == results.RecordResult {
			rs = append(rs, res)
		} else {
			evs = append(evs, ev)
		}
	}
	if err := rd.Truncated(); err != nil {
		t.Fatalf("stream truncated: %v", err)
	}
	return rd.Header(), rs, evs
}

func okServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	return srv
}

func TestAttackWritesEveryAttemptToTheFile(t *testing.T) {
	srv := okServer(t)
	out := filepath.Join(t.TempDir(), "r.mpk")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"attack", "--url", srv.URL + "/x", "--rate", "200", "--duration", "1s", "--seed", "7", "--tenants", "5", "--quiet", "-o", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("attack: %v\n%s", err, stderr.String())
	}
	h, rs, _ := readResultsAt(t, out)
	if h.Seed != 7 || h.Shard.Count != 1 || len(h.Phases) != 1 || h.SLO != 10*time.Second || len(h.Scenario) == 0 {
		t.Fatalf("header %+v", h)
	}
	finals := 0
	for _, r := range rs {
		if r.Final && r.Outcome == results.OutcomeOK && r.Tenant != "" {
			finals++
		}
	}
	if len(rs) != 200 || finals != 200 {
		t.Fatalf("%d records, %d ok finals with a tenant; want 200", len(rs), finals)
	}
	if !strings.Contains(stderr.String(), "seed 7") {
		t.Fatalf("seed not printed: %s", stderr.String())
	}
}

// TestAttackSaysWhyTheGeneratorDroppedRequests: offered far more than
// its two connections to a slow server carry, the generator drops the
// excess, and the warning says it was its own backlog, not the cap.
func TestAttackSaysWhyTheGeneratorDroppedRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(20 * time.Millisecond) }))
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"attack", "--url", srv.URL, "--rate", "800", "--duration", "1s", "--connections", "2", "--quiet", "-o", "-"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("attack: %v\n%s", err, stderr.String())
	}
	_, rs, _ := readResults(t, &stdout)
	dropped := 0
	for _, r := range rs {
		if r.Outcome == results.OutcomeGeneratorDropped {
			dropped++
		}
	}
	want := fmt.Sprintf("attack: warning: %d requests were not sent (generator_dropped): %d because the requests waiting to be sent stayed more than 10ms behind", dropped, dropped)
	if dropped == 0 || !strings.Contains(stderr.String(), want) {
		t.Fatalf("%d dropped; stderr:\n%s\nwant it to contain %q", dropped, stderr.String(), want)
	}
}

func TestAttackStreamsToStdoutAndSummarisesWithoutOutput(t *testing.T) {
	srv := okServer(t)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"attack", "--url", srv.URL, "--rate", "50", "--duration", "500ms", "--quiet", "-o", "-"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	h, rs, _ := readResults(t, &stdout)
	if len(rs) != 25 || h.Seed == 0 {
		t.Fatalf("%d records, seed %d; want 25 and a random seed", len(rs), h.Seed)
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"attack", "--url", srv.URL, "--rate", "50", "--duration", "500ms", "--quiet"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "requests") || !strings.Contains(stdout.String(), "25") {
		t.Fatalf("summary:\n%s", stdout.String())
	}
}

func TestAttackRetryFlagsAmplify(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	args := []string{"attack", "--url", srv.URL, "--rate", "100", "--duration", "1s", "--quiet", "-o", "-",
		"--max-attempts", "3", "--retry-on", "503", "--backoff", "none", "--jitter", "none"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	_, rs, _ := readResults(t, &stdout)
	if len(rs) != 300 || n.Load() != 300 {
		t.Fatalf("%d records, server saw %d; want 300 (3 attempts × 100)", len(rs), n.Load())
	}
}

func TestAttackBadUsage(t *testing.T) {
	srv := okServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close()
	tests := []struct {
		args []string
		code int
		text string
	}{
		{[]string{"--rate", "-1"}, cli.ExitUsage, "--rate"},
		{[]string{"--rate", "1e12"}, cli.ExitUsage, "--rate"},
		{[]string{"--rate", "0"}, cli.ExitUsage, "--rate"},
		{[]string{"--phase", "10s@x"}, cli.ExitUsage, "--phase"},
		{[]string{"--phase", "0s@10"}, cli.ExitUsage, "--phase"},
		{[]string{"--arrival", "bursty"}, cli.ExitUsage, "--arrival"},
		{[]string{"--retry-budget", "ratio:-1"}, cli.ExitUsage, "--retry-budget"},
		{[]string{"--retry-on", "600"}, cli.ExitUsage, "--retry-on"},
		{[]string{"--backoff", "linear"}, cli.ExitUsage, "--backoff"},
		{[]string{"--jitter", "some"}, cli.ExitUsage, "--jitter"},
		{[]string{"--throttle", "sre:0"}, cli.ExitUsage, "--throttle"},
		{[]string{"--hedge-after", "p200"}, cli.ExitUsage, "--hedge-after"},
		{[]string{"--tenant-dist", "zipf:-1"}, cli.ExitUsage, "--tenant-dist"},
		{[]string{"--max-attempts", "0"}, cli.ExitUsage, "--max-attempts"},
		{[]string{"--max-inflight", "0"}, cli.ExitUsage, "--max-inflight"},
		{[]string{"--procs", "0"}, cli.ExitUsage, "--procs"},
		{[]string{"--procs", "many"}, cli.ExitUsage, "--procs"},
		{[]string{"--header", "nocolon"}, cli.ExitUsage, "--header"},
		{[]string{"--body-file", "/no/such/file"}, cli.ExitUsage, "--body-file"},
		{[]string{"--shard", "4/4"}, cli.ExitUsage, "--shard"},
		{[]string{"--start-at", "tomorrow"}, cli.ExitUsage, "--start-at"},
		{[]string{"--start-at", "2026-01-01T00:00:00Z"}, cli.ExitUsage, "in the past"},
		{[]string{"--url", dead}, cli.ExitRun, ln.Addr().String()},
	}
	for _, tt := range tests {
		args := append([]string{"attack", "--url", srv.URL, "--duration", "100ms", "--quiet"}, tt.args...)
		start := time.Now()
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if code := cli.Code(err); code != tt.code || err == nil || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%v: exit %d, %v; want exit %d naming %q", tt.args, code, err, tt.code, tt.text)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("%v: took %v", tt.args, time.Since(start))
		}
	}
}

func TestAttackInterruptedKeepsEveryCompletedAttempt(t *testing.T) {
	tenth := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 10 {
			close(tenth)
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.mpk")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"attack", "--url", srv.URL, "--rate", "100", "--duration", "1m", "--quiet", "-o", out}, io.Discard, io.Discard)
	}()
	select {
	case <-tenth:
	case <-time.After(10 * time.Second):
		t.Fatal("no traffic within 10 s")
	}
	cancel()
	interruptedAttackReturns(t, done)
	_, rs, evs := readResultsAt(t, out)
	if len(rs) < 10 || evs[len(evs)-1].Kind != results.EventInterrupted {
		t.Fatalf("%d records, events %+v", len(rs), evs)
	}
	finals := map[uint64]int{}
	for _, r := range rs {
		if r.Final {
			finals[r.RequestID]++
		}
	}
	for id, c := range finals {
		if c != 1 {
			t.Fatalf("request %d: %d final records", id, c)
		}
	}
}

func TestAttackShardFromTheEnvironmentAndStartAt(t *testing.T) {
	srv := okServer(t)
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	var stdout, stderr bytes.Buffer
	before := time.Now()
	args := []string{"attack", "--url", srv.URL, "--rate", "100", "--duration", "1s", "--shards", "4", "--seed", "3", "--start-at", "+300ms", "--quiet", "-o", "-"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	h, rs, _ := readResults(t, &stdout)
	if h.Shard.Index != 1 || h.Shard.Count != 4 {
		t.Fatalf("header shard %+v", h.Shard)
	}
	if d := h.Start.Sub(before); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("header start %v after the call, want ≈ 300ms", d)
	}
	if len(rs) != 25 {
		t.Fatalf("%d records, want 25 (shard 1 of 4 of 100)", len(rs))
	}
	for _, r := range rs {
		if r.RequestID%4 != 1 || r.Lag() < 0 {
			t.Fatalf("record %+v not of shard 1", r)
		}
	}
	if off := h.Shard.ClockOffset; off < 0 || off > time.Second {
		t.Fatalf("clock offset %v of a shard that waited for its start, want ≈ 0", off)
	}
	// A shard that begins after the agreed instant says how late it was.
	stdout.Reset()
	past := time.Now().Add(-600 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	args = []string{"attack", "--url", srv.URL, "--rate", "100", "--duration", "2s", "--shards", "4", "--start-at", past, "--quiet", "-o", "-"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	h, _, _ = readResults(t, &stdout)
	if off := h.Shard.ClockOffset; off < 600*time.Millisecond || off > 10*time.Second {
		t.Fatalf("clock offset %v of a shard that began 600ms late, want ≥ 600ms", off)
	}
	if err := run(context.Background(), []string{"attack", "--url", srv.URL, "--quiet"}, &stdout, &stderr); cli.Code(err) != cli.ExitUsage || !strings.Contains(err.Error(), "--shards") {
		t.Fatalf("JOB_COMPLETION_INDEX without --shards: %v", err)
	}
}

func TestAttackWireHeaderRenamesTheContractHeaders(t *testing.T) {
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Correlation-Id") != "" && r.Header.Get("X-Request-Id") == "" &&
			r.Header.Get("Grpc-Timeout-Ms") != "" && r.Header.Get("X-Timeout-Ms") == "" {
			seen.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"attack", "--url", srv.URL, "--rate", "50", "--duration", "200ms", "--quiet",
		"--wire-header", "request-id=X-Correlation-Id", "--wire-header", "timeout-ms=Grpc-Timeout-Ms", "-o", filepath.Join(t.TempDir(), "r.mpk")},
		&stdout, &stderr)
	if err != nil {
		t.Fatalf("attack: %v\n%s", err, stderr.String())
	}
	if got := seen.Load(); got != 10 {
		t.Errorf("%d of 10 requests carried the renamed headers (and not the defaults)", got)
	}

	err = run(context.Background(), []string{"attack", "--url", srv.URL, "--wire-header", "trace=X-Trace"}, &stdout, &stderr)
	if cli.Code(err) != cli.ExitUsage || !strings.Contains(err.Error(), "--wire-header") || !strings.Contains(err.Error(), "request-id") {
		t.Errorf("unknown role: got %v, want a usage error naming the flag and the valid roles", err)
	}
}

// Regression: with the disk full the error was clear, but the load went on
// for the whole duration although nothing of it could be kept.
func TestAttackStopsWhenTheResultsCannotBeWritten(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	srv := okServer(t)
	start := time.Now()
	err := run(context.Background(), []string{"attack", "--url", srv.URL, "--rate", "200", "--duration", "1m", "--quiet", "-o", "/dev/full"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Equal(t, cli.ExitRun, cli.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "no space left on device")
	assert.Less(t, time.Since(start), 30*time.Second, "the load stops at the first failed write, not after its 1m schedule")
}

// fullAfter accepts n bytes, then fails every write as a full disk does.
type fullAfter struct {
	mu sync.Mutex
	n  int
}

func (f *fullAfter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, syscall.ENOSPC
	}
	f.n -= len(p)
	return len(p), nil
}

func TestAttackStopsWhenTheDiskFillsMidRun(t *testing.T) {
	srv := okServer(t)
	start := time.Now()
	out := &fullAfter{n: 20 << 10}
	err := run(context.Background(), []string{"attack", "--url", srv.URL, "--rate", "200", "--duration", "1m", "--quiet", "-o", "-"}, out, io.Discard)
	require.Error(t, err)
	assert.Equal(t, cli.ExitRun, cli.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "no space left on device")
	assert.Less(t, time.Since(start), 30*time.Second, "the load stops at the first failed write, not after its 1m schedule")
}

func TestAttackPlaysAVegetaTargetsFileInTurn(t *testing.T) {
	type seen struct{ method, path, body, token string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, string(b), r.Header.Get("X-Token")})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	body := filepath.Join(dir, "order.json")
	require.NoError(t, os.WriteFile(body, []byte(`{"sku": 42}`), 0o644))
	targets := filepath.Join(dir, "targets.http")
	require.NoError(t, os.WriteFile(targets, []byte("GET "+srv.URL+"/a\n\nPOST "+srv.URL+"/b\nX-Token: t0k\n@"+body+"\n\nGET "+srv.URL+"/c?q=1\n"), 0o644))

	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"attack", "--targets", targets, "--rate", "60", "--duration", "1s", "--quiet", "-o", "-"}, &stdout, &stderr), stderr.String())
	_, rs, _ := readResults(t, &stdout)
	routes := map[string]int{}
	for _, r := range rs {
		routes[r.Route]++
	}
	assert.Equal(t, map[string]int{"GET /a": 20, "POST /b": 20, "GET /c": 20}, routes)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 60)
	count := map[seen]int{}
	for _, g := range got {
		count[g]++
	}
	assert.Equal(t, map[seen]int{{"GET", "/a", "", ""}: 20, {"POST", "/b", `{"sku": 42}`, "t0k"}: 20, {"GET", "/c", "", ""}: 20}, count,
		"the server saw each method, body and header as written")

	for _, args := range [][]string{{"--targets", targets, "--url", srv.URL}, {"--targets", filepath.Join(dir, "none")}, {"--targets", targets, "--targets-format", "yaml"}} {
		err := run(context.Background(), append([]string{"attack", "--rate", "10", "--duration", "100ms", "--quiet"}, args...), io.Discard, io.Discard)
		assert.Equal(t, cli.ExitUsage, cli.Code(err), "%v: %v", args, err)
	}
}

func TestReportAssertsPerRoute(t *testing.T) {
	srv := okServer(t)
	dir := t.TempDir()
	targets, res := filepath.Join(dir, "targets.http"), filepath.Join(dir, "run.mpk")
	require.NoError(t, os.WriteFile(targets, []byte("GET "+srv.URL+"/a\n\nGET "+srv.URL+"/b\n"), 0o644))
	require.NoError(t, run(context.Background(), []string{"attack", "--targets", targets, "--rate", "40", "--duration", "500ms", "--quiet", "-o", res}, io.Discard, io.Discard))
	check := func(assertion string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"report", "--assert", assertion, res}, &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	out, err := check(`route("GET /a").p99 < 1s`)
	require.NoError(t, err, out)
	out, err = check(`route("GET /a").requests > 1000000`)
	assert.Equal(t, cli.ExitAssertion, cli.Code(err), "%v\n%s", err, out)
	assert.Contains(t, out, `route("GET /a").requests = 10, want > 1000000`)
}
