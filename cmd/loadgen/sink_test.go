package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target"
)

// messagesTarget serves the reference target in-process on 127.0.0.1 with
// fast dependencies (db stalled when stall is set) until the test ends; it
// returns the server and its API and admin URLs.
func messagesTarget(t *testing.T, stall bool) (srv *target.Server, api, admin string) {
	t.Helper()
	cfg, err := target.Preset(target.PresetUnprotected)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(time.Millisecond)}
	cfg.DB.Stall = stall
	cfg.Messages.Consumers = 2
	// Generous: http.Server.Shutdown counts a connection that has not sent
	// its first request as busy for up to 5 s, and an interrupted attack may
	// leave one behind on a loaded machine.
	cfg.DrainTimeout = dist.Duration(10 * time.Second)
	if srv, err = target.New(cfg); err != nil {
		t.Fatal(err)
	}
	api, admin, _ = e2e.Serve(t, srv)
	return srv, api, admin
}

// messageBody writes a POST /api/messages body to a file.
func messageBody(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg.json")
	if err := os.WriteFile(f, []byte(`{"room":"lobby","body":"hi"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Every accepted message gets one delivery record in the results stream,
// tied to its request, with its age; the target's delivery URL is put
// back afterwards.
func TestAttackSinkRecordsDeliveries(t *testing.T) {
	srv, api, admin := messagesTarget(t, false)
	out := filepath.Join(t.TempDir(), "r.mpk")
	var stderr strings.Builder
	err := run(context.Background(), []string{"attack", "--url", api + "/api/messages", "--method", "POST",
		"--body-file", messageBody(t), "--rate", "100", "--duration", "1s", "--tenants", "3", "--quiet",
		"--sink", "127.0.0.1:0", "--sink-grace", "10s", "--target-admin", admin, "-o", out}, io.Discard, &stderr)
	if err != nil {
		t.Fatalf("attack: %v\n%s", err, stderr.String())
	}
	_, rs, _ := readResultsAt(t, out)
	accepted := map[uint64]results.Result{}
	for _, r := range rs {
		if r.Final && r.Status == 202 {
			accepted[r.RequestID] = r
		}
	}
	if len(accepted) < 90 {
		t.Fatalf("%d messages accepted, want about 100", len(accepted))
	}
	delivered := 0
	for _, r := range rs {
		if r.Attempt != 0 || r.Final {
			continue
		}
		if r.Outcome != results.OutcomeDelivered {
			t.Errorf("request %d: outcome %v, want delivered", r.RequestID, r.Outcome)
			continue
		}
		req, ok := accepted[r.RequestID]
		switch {
		case !ok:
			t.Errorf("delivery of request %d, which was not accepted", r.RequestID)
		case r.Intended != req.Intended || r.Tenant != req.Tenant || r.Route != req.Route:
			t.Errorf("delivery %+v does not carry its request's %+v", r, req)
		case r.Age <= 0 || r.End < req.Intended+r.Age/2:
			t.Errorf("delivery of request %d: age %v, end %v, intended %v", r.RequestID, r.Age, r.End, req.Intended)
		}
		delivered++
	}
	if delivered != len(accepted) {
		t.Errorf("%d deliveries recorded for %d accepted messages", delivered, len(accepted))
	}
	if !strings.Contains(stderr.String(), "attack: delivery sink on http://127.0.0.1:") ||
		!strings.Contains(stderr.String(), " 0 undelivered") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if got := srv.Config().Messages.Queue.DeliverTo; got != "" {
		t.Errorf("deliver_to %q after the attack, want it put back to \"\"", got)
	}
}

// Ctrl-C during an attack with a sink stops it cleanly: the results are
// kept, and every message accepted so far is accounted for (here, with
// the target's processing stalled, as undelivered).
func TestAttackSinkInterruptedKeepsResults(t *testing.T) {
	srv, api, admin := messagesTarget(t, true)
	out := filepath.Join(t.TempDir(), "r.mpk")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"attack", "--url", api + "/api/messages", "--method", "POST",
			"--body-file", messageBody(t), "--rate", "100", "--duration", "1m", "--quiet",
			"--sink", "127.0.0.1:0", "--target-admin", admin, "-o", out}, io.Discard, io.Discard)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for accepted(t, admin) < 20 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("no 20 messages accepted within 10 s")
		}
	}
	cancel()
	interruptedAttackReturns(t, done)
	_, rs, evs := readResultsAt(t, out)
	var ok, undelivered int
	for _, r := range rs {
		switch {
		case r.Final && r.Status == 202:
			ok++
		case r.Attempt == 0 && !r.Final && r.Outcome == results.OutcomeUndelivered:
			undelivered++
		}
	}
	if ok < 20 || undelivered != ok {
		t.Errorf("%d accepted, %d recorded undelivered: want every accepted message accounted for", ok, undelivered)
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != results.EventInterrupted {
		t.Errorf("events %+v, want the interruption last", evs)
	}
	if got := srv.Config().Messages.Queue.DeliverTo; got != "" {
		t.Errorf("deliver_to %q after the interrupted attack, want it put back", got)
	}
}

var acceptedMetric = regexp.MustCompile(`(?m)^goodput_backlog_messages_total\{event="accepted"\} (\d+)$`)

// accepted reads how many messages the target has accepted from its
// /metrics.
func accepted(t *testing.T, admin string) int {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := acceptedMetric.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no accepted messages counter on /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func TestAttackSinkBadUsage(t *testing.T) {
	srv := okServer(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAdmin := "http://" + closed.Addr().String()
	closed.Close()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--sink", "127.0.0.1:0"}, cli.ExitUsage, "--target-admin"},
		{[]string{"--target-admin", srv.URL}, cli.ExitUsage, "--sink"},
		{[]string{"--sink", "127.0.0.1:0", "--target-admin", "127.0.0.1:8081"}, cli.ExitUsage, "--target-admin"},
		{[]string{"--sink", "127.0.0.1:0", "--target-admin", srv.URL, "--sink-grace", "-1s"}, cli.ExitUsage, "--sink-grace"},
		{[]string{"--sink", "256.0.0.1:0", "--target-admin", srv.URL}, cli.ExitUsage, "--sink"},
		{[]string{"--sink", "127.0.0.1:0", "--target-admin", srv.URL, "--shard", "1/2"}, cli.ExitUsage, "unsharded"},
		{[]string{"--sink", "127.0.0.1:0", "--target-admin", deadAdmin}, cli.ExitRun, "deliver to"},
	} {
		var stderr strings.Builder
		err := run(context.Background(), append([]string{"attack", "--url", srv.URL, "--rate", "10", "--duration", "1s", "--quiet"}, tt.args...), io.Discard, &stderr)
		if cli.Code(err) != tt.code || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: exit %d, error %v; want exit %d naming %q", tt.args, cli.Code(err), err, tt.code, tt.want)
		}
	}
}

var staleLine = regexp.MustCompile(`attack: deliveries: (\d+) accepted, (\d+) delivered, .* (\d+) undelivered .* (\d+) unmatched, \d+ late, (\d+) stale`)

// TestAttackSinkIgnoresTheLastRunsBacklog is the regression test of an
// attack counting messages an earlier attack left queued on the target as
// its own: their request ids restart at 1, so each settled one of the new
// run's messages. The first attack leaves its messages behind a stalled
// database; the second lifts the stall once the target delivers to its
// sink, receives both backlogs, and records only its own.
func TestAttackSinkIgnoresTheLastRunsBacklog(t *testing.T) {
	srv, api, admin := messagesTarget(t, true)
	body := messageBody(t)
	attack := func(ctx context.Context, out, grace string, stderr io.Writer) error {
		return run(ctx, []string{"attack", "--url", api + "/api/messages", "--method", "POST",
			"--body-file", body, "--rate", "50", "--duration", "400ms", "--quiet",
			"--sink", "127.0.0.1:0", "--sink-grace", grace, "--target-admin", admin, "-o", out}, io.Discard, stderr)
	}
	var first strings.Builder
	if err := attack(context.Background(), filepath.Join(t.TempDir(), "first.mpk"), "0s", &first); err != nil {
		t.Fatalf("first attack: %v\n%s", err, first.String())
	}
	m := staleLine.FindStringSubmatch(first.String())
	if m == nil || m[1] == "0" || m[2] != "0" {
		t.Fatalf("first attack: want messages accepted and none delivered (stalled):\n%s", first.String())
	}
	left, _ := strconv.Atoi(m[1])

	out := filepath.Join(t.TempDir(), "second.mpk")
	var second strings.Builder
	done := make(chan error, 1)
	go func() { done <- attack(context.Background(), out, "20s", &second) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for srv.Config().Messages.Queue.DeliverTo == "" {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the second attack did not point the target at its sink within 10 s")
		}
	}
	ac := &targetadmin.Client{BaseURL: admin}
	db, err := ac.Dep(context.Background(), "db")
	if err != nil {
		t.Fatal(err)
	}
	db.Stall = false
	if _, err := ac.PutDep(context.Background(), "db", db); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second attack: %v\n%s", err, second.String())
	}
	m = staleLine.FindStringSubmatch(second.String())
	if m == nil {
		t.Fatalf("second attack: no deliveries line:\n%s", second.String())
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if n(2) != n(1) || n(3) != 0 || n(4) != 0 || n(5) != left {
		t.Errorf("second attack: %d accepted, %d delivered, %d undelivered, %d unmatched, %d stale; want all of its own delivered and the first attack's %d stale\n%s",
			n(1), n(2), n(3), n(4), n(5), left, second.String())
	}
	_, rs, _ := readResultsAt(t, out)
	deliveries := 0
	for _, r := range rs {
		if r.Attempt == 0 && !r.Final {
			deliveries++
			if r.Outcome != results.OutcomeDelivered {
				t.Errorf("request %d: %v, want delivered", r.RequestID, r.Outcome)
			}
		}
	}
	if deliveries != n(1) {
		t.Errorf("%d delivery records for %d accepted messages", deliveries, n(1))
	}
}
