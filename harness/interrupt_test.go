package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"

	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target"
)

// startReference starts the reference target on 127.0.0.1 for a test and
// returns its API and admin URLs; it stops when the test ends.
func startReference(t *testing.T) (api, admin string) {
	t.Helper()
	cfg, err := target.Preset(target.PresetUnprotected)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := target.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api, admin, _ = e2e.Serve(t, srv)
	return api, admin
}

// TestInterruptRollsBackAndReports cancels a play while a fault is in
// place: the results are kept with an interrupted event, the reports are
// written for the partial run, and the dependency is restored.
func TestInterruptRollsBackAndReports(t *testing.T) {
	api, admin := startReference(t)
	yaml := fmt.Sprintf(`
target: {url: %q, admin: %q}
requests: [{name: items, path: "/api/items/1"}]
phases: [{name: steady, duration: 30s, rate: 50}]
faults: [{name: slow-db, kind: delay, target: db, at: 200ms, for: 20s, delay: 40ms}]
assert: [goodput_ratio >= 0.5]
report: {formats: [text, json]}
`, api, admin)
	runs := resolve(t, yaml, profiles.Options{})
	client := &targetadmin.Client{BaseURL: admin}
	before, err := client.Dep(context.Background(), "db")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupt once the fault is in place, as Ctrl-C would.
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if c, err := client.Dep(ctx, "db"); err == nil && c.AddLatency > 0 {
				break
			}
			waitCtx, stop := context.WithTimeout(ctx, 20*time.Millisecond)
			<-waitCtx.Done()
			stop()
		}
		cancel()
	}()
	dir := t.TempDir()
	var stdout bytes.Buffer
	out, err := Play(ctx, runs, Options{Name: "interrupt", OutDir: dir, Stdout: &stdout})
	if err != nil {
		t.Fatalf("Play: %v", err)
	}
	if !out.Interrupted || !out.Variants[0].Summary.Interrupted {
		t.Errorf("interrupted = %v / %v, want true", out.Interrupted, out.Variants[0].Summary.Interrupted)
	}
	after, err := client.Dep(context.Background(), "db")
	if err != nil {
		t.Fatal(err)
	}
	if after.AddLatency != before.AddLatency {
		t.Errorf("db add_latency = %v after the run, want %v restored", after.AddLatency, before.AddLatency)
	}
	if _, err := os.Stat(dir + "/report.json"); err != nil {
		t.Errorf("report.json not written: %v", err)
	}
	// The results file holds the fault's application, its rollback and the
	// interruption.
	f, err := os.Open(out.Variants[0].ResultsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := results.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[results.EventKind]int{}
	var res results.Result
	var ev results.Event
	for {
		k, err := rd.Next(&res, &ev)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if k == results.RecordEvent {
			kinds[ev.Kind]++
		}
	}
	for _, k := range []results.EventKind{results.EventFaultApplied, results.EventFaultRemoved, results.EventInterrupted} {
		if kinds[k] != 1 {
			t.Errorf("%v events: %d, want 1 (all: %v)", k, kinds[k], kinds)
		}
	}
}
