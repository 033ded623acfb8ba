package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

func TestBurstShareSplitsEveryBurstExactly(t *testing.T) {
	for n := range 23 {
		for count := 1; count <= 5; count++ {
			sum, lo, hi := 0, n, 0
			for i := range count {
				k := burstShare(n, workload.Shard{Index: i, Count: count})
				sum += k
				lo, hi = min(lo, k), max(hi, k)
			}
			if sum != n || hi-lo > 1 {
				t.Errorf("burst %d over %d shards: shares sum to %d, spread %d..%d", n, count, sum, lo, hi)
			}
		}
	}
}

func TestResultsNameKeepsShardsApart(t *testing.T) {
	for _, c := range []struct {
		shard workload.Shard
		want  string
	}{
		{workload.Shard{}, "protected.mpk"},
		{workload.Shard{Index: 0, Count: 1}, "protected.mpk"},
		{workload.Shard{Index: 2, Count: 4}, "protected.shard-2-of-4.mpk"},
	} {
		if got := resultsName("protected", c.shard); got != c.want {
			t.Errorf("resultsName(%v) = %q, want %q", c.shard, got, c.want)
		}
	}
}

func TestRequestBound(t *testing.T) {
	exp := retry.Backoff{Kind: retry.BackoffExponential, Base: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}
	for _, c := range []struct {
		name string
		p    retry.Policy
		want time.Duration
	}{
		{"deadline", retry.Policy{Deadline: 3 * time.Second, AttemptTimeout: time.Second, MaxAttempts: 5}, 3 * time.Second},
		{"attempts and backoff", retry.Policy{AttemptTimeout: time.Second, MaxAttempts: 3, Backoff: exp}, 3*time.Second + 2*2*time.Second},
		{"one attempt", retry.Policy{AttemptTimeout: 500 * time.Millisecond}, 500 * time.Millisecond},
		{"unbounded", retry.Policy{}, maxRequestBound},
		{"capped", retry.Policy{Deadline: time.Hour}, maxRequestBound},
	} {
		if got := requestBound(c.p); got != c.want {
			t.Errorf("%s: requestBound = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestVariantStartsLeaveRoomForEachVariant(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	first := &prepared{phases: []workload.Phase{workload.Constant(10*time.Second, 100), workload.Constant(5*time.Second, 50)},
		policy: retry.Policy{AttemptTimeout: 2 * time.Second}}
	second := &prepared{phases: []workload.Phase{workload.Constant(time.Second, 10)}, policy: retry.Policy{Deadline: time.Second}}
	got := variantStarts(at, []*prepared{first, second, first})
	want := []time.Time{
		at,
		at.Add(15*time.Second + 2*time.Second + variantSettle),
		at.Add(15*time.Second + 2*time.Second + variantSettle + time.Second + time.Second + variantSettle),
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("variant %d starts at %v, want %v", i, got[i], want[i])
		}
	}
}

// shardEntries is a timeline with one fault of each kind of target.
func shardEntries(t *testing.T) faults.Timeline {
	t.Helper()
	specs := []faults.Spec{
		{Name: "slow-db", Kind: "latency", Target: "db", At: dur(time.Second), For: dur(time.Second), Multiplier: 3},
		{Name: "surge", Kind: "surge", Target: faults.TargetLoad, At: dur(time.Second), For: dur(time.Second), Multiplier: 2},
		{Name: "burst", Kind: "burst", Target: faults.TargetLoad, At: dur(2 * time.Second), Requests: 10},
		{Name: "cut", Kind: "abort", Target: proxyName, At: dur(time.Second), For: dur(time.Second), Status: 503},
		{Name: "narrow", Kind: "capacity", Target: faults.TargetService, At: dur(time.Second), For: dur(time.Second), Concurrency: 4},
	}
	var tl faults.Timeline
	for _, s := range specs {
		e, err := s.Entry()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		tl.Entries = append(tl.Entries, e)
	}
	return tl
}

func TestShardTimelineAppliesSharedFaultsOnce(t *testing.T) {
	tl := shardEntries(t)
	in := faults.Injectors{
		Target:  &faults.TargetInjector{},
		Proxies: map[string]faults.Injector{proxyName: &faults.LoadInjector{}},
		Load:    &faults.LoadInjector{},
	}
	names := func(tl faults.Timeline) string {
		var out []string
		for _, e := range tl.Entries {
			out = append(out, e.Name)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		opts   Options
		want   string
		target bool
	}{
		{Options{}, "slow-db,surge,burst,cut,narrow", true},
		{Options{Shard: workload.Shard{Index: 0, Count: 3}}, "slow-db,surge,burst,cut,narrow", true},
		{Options{Shard: workload.Shard{Index: 1, Count: 3}}, "surge,burst,cut", false},
		{Options{Shard: workload.Shard{Index: 1, Count: 3}, FaultShard: 1}, "slow-db,surge,burst,cut,narrow", true},
		{Options{Shard: workload.Shard{Index: 0, Count: 3}, FaultShard: 2}, "surge,burst,cut", false},
	} {
		got, gotIn, err := shardTimeline(tl, in, &c.opts)
		if err != nil {
			t.Fatalf("shard %v: %v", c.opts.Shard, err)
		}
		if names(got) != c.want || (gotIn.Target != nil) != c.target || gotIn.Load == nil || gotIn.Proxies[proxyName] == nil {
			t.Errorf("shard %v, fault shard %d: applies %s (target injector %v), want %s (%v)",
				c.opts.Shard, c.opts.FaultShard, names(got), gotIn.Target != nil, c.want, c.target)
		}
	}
	if len(tl.Entries) != 5 {
		t.Errorf("shardTimeline changed the scenario's timeline: %d entries", len(tl.Entries))
	}
	// Without an admin API, the dependency fault is refused on every
	// shard, not only on the fault shard.
	in.Target = nil
	_, _, err := shardTimeline(tl, in, &Options{Shard: workload.Shard{Index: 1, Count: 2}})
	if err == nil || !strings.Contains(err.Error(), `faults[0].target: "db"`) || !strings.Contains(err.Error(), "target.admin") {
		t.Errorf("shard 1/2 without an admin API: %v, want slow-db refused", err)
	}
}

func TestPlayRefusesEmbeddedTargetWhenSharded(t *testing.T) {
	runs := resolve(t, smallScenario, profiles.Options{})
	_, err := Play(context.Background(), runs, Options{Shard: workload.Shard{Index: 1, Count: 2}, OutDir: t.TempDir()})
	var cfgErr *ConfigError
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "target.embedded") || !strings.Contains(err.Error(), "target.url") {
		t.Errorf("Play of an embedded target on shard 1/2: %v, want a ConfigError naming target.embedded and target.url", err)
	}
	_, err = Play(context.Background(), runs, Options{Shard: workload.Shard{Index: 0, Count: 2}, FaultShard: 2, OutDir: t.TempDir()})
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "fault shard 2") {
		t.Errorf("fault shard 2 of 2: %v, want a ConfigError", err)
	}
}

// A shard that is not the fault shard surges its own load, sends its share
// of a burst, and leaves the shared target's dependency alone; its results
// file is named and headed as its shard, from the agreed start.
func TestPlayShardAppliesOnlyItsOwnFaults(t *testing.T) {
	api, admin := startReference(t)
	yaml := fmt.Sprintf(`
seed: 9
target: {url: %q, admin: %q}
requests: [{name: items, path: "/api/items/1"}]
client: {timeout: 1s}
phases: [{name: steady, duration: 2s, rate: 100}]
faults:
  - {name: slow-db, kind: delay, target: db, at: 500ms, for: 1s, delay: 20ms}
  - {name: surge, kind: surge, target: load, at: 1s, for: 500ms, multiplier: 3}
  - {name: burst, kind: burst, target: load, at: 1500ms, requests: 21}
report: {formats: [text, json]}
`, api, admin)
	dir := t.TempDir()
	var stdout bytes.Buffer
	startAt := time.Now().Add(300 * time.Millisecond)
	shard := workload.Shard{Index: 1, Count: 2}
	out, err := Play(context.Background(), resolve(t, yaml, profiles.Options{}),
		Options{Name: "shardy", OutDir: dir, Stdout: &stdout, Shard: shard, StartAt: startAt})
	if err != nil {
		t.Fatalf("Play: %v\n%s", err, stdout.String())
	}
	path := filepath.Join(dir, "shardy.shard-1-of-2.mpk")
	if len(out.Variants) != 1 || out.Variants[0].ResultsFile != path {
		t.Fatalf("results in %+v, want %s", out.Files, path)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a shard wrote report.json (%v): reports judge the merged shards", err)
	}
	if !strings.Contains(stdout.String(), "loadgen merge "+filepath.Join(dir, "shardy.shard-*-of-2.mpk")) {
		t.Errorf("no merge hint:\n%s", stdout.String())
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := results.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	if h.Shard.Index != 1 || h.Shard.Count != 2 || !h.Start.Equal(startAt) || h.Shard.ClockOffset < 0 || h.Shard.ClockOffset > time.Second {
		t.Errorf("header start %v shard %+v, want shard 1/2 from %v, a small non-negative start lateness", h.Start, h.Shard, startAt)
	}
	var (
		res      results.Result
		ev       results.Event
		applied  []string
		requests int
		bursts   int
	)
	for {
		kind, err := r.Next(&res, &ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case kind == results.RecordEvent && ev.Kind == results.EventFaultApplied:
			applied = append(applied, ev.Name)
		case kind == results.RecordResult && res.Final:
			requests++
			if res.RequestID&(1<<63) != 0 {
				bursts++
			}
		}
	}
	if strings.Join(applied, ",") != "surge,burst" {
		t.Errorf("shard 1 applied %v, want its load faults only (surge, burst)", applied)
	}
	if bursts != 10 {
		t.Errorf("shard 1/2 sent %d burst requests, want 10 of 21", bursts)
	}
	// Its half of the schedule is 2s at 50/s: 100 requests; the surge (×3
	// for 500ms) adds 2×25, its share of the burst 10.
	if requests < 150 || requests > 170 {
		t.Errorf("shard 1/2 sent %d requests, want about 160", requests)
	}
}

func dur(d time.Duration) dist.Duration { return dist.Duration(d) }

// A shard that comes up after the agreed start records how late it began
// in its header, and drops (as generator_dropped) what it missed.
func TestPlayLateShardRecordsItsStartLateness(t *testing.T) {
	api, _ := startReference(t)
	yaml := fmt.Sprintf(`
seed: 4
target: {url: %q}
requests: [{name: items, path: "/api/items/1"}]
client: {timeout: 1s}
phases: [{name: steady, duration: 2s, rate: 100}]
`, api)
	dir := t.TempDir()
	startAt := time.Now().Add(-time.Second)
	out, err := Play(context.Background(), resolve(t, yaml, profiles.Options{}),
		Options{Name: "late", OutDir: dir, Shard: workload.Shard{Index: 0, Count: 2}, StartAt: startAt})
	if err != nil {
		t.Fatalf("Play: %v", err)
	}
	f, err := os.Open(out.Variants[0].ResultsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := results.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if off := r.Header().Shard.ClockOffset; off < time.Second || off > 3*time.Second {
		t.Errorf("ClockOffset = %v, want the shard's lateness, a little over 1s", off)
	}
	sum := out.Variants[0].Summary
	dropped := sum.Outcomes[results.OutcomeGeneratorDropped.String()]
	if sum.Requests < 95 || sum.Requests > 105 || dropped < 45 || dropped > 70 {
		t.Errorf("%d requests, %d generator_dropped: want its 100, about the first second's 50 dropped", sum.Requests, dropped)
	}
}
