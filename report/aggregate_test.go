package report

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// steadyRun returns n requests at rate rps, each answered ok after lat.
func steadyRun(n int, rps float64, lat time.Duration) []results.Result {
	out := make([]results.Result, n)
	for i := range out {
		at := time.Duration(float64(i) * float64(time.Second) / rps)
		out[i] = results.Result{RequestID: uint64(i + 1), Attempt: 1, Final: true, Intended: at, Start: at, End: at + lat, Status: 200}
	}
	return out
}

func TestAggregatorSteadyRun(t *testing.T) {
	a := NewAggregator(Options{})
	h := results.Header{SLO: 100 * time.Millisecond, Phases: []results.PhaseInfo{{Name: "steady", Duration: 3 * time.Second, FromRPS: 200, ToRPS: 200}}}
	if err := a.AddHeader(h); err != nil {
		t.Fatal(err)
	}
	for _, r := range steadyRun(600, 200, 40*time.Millisecond) {
		a.AddResult(&r)
	}
	s := a.Summary()
	if s.Requests != 600 || s.Attempts != 600 || s.DurationS != 3 {
		t.Fatalf("requests %d attempts %d duration %v", s.Requests, s.Attempts, s.DurationS)
	}
	if s.OfferedRPS != 200 || s.GoodputRPS != 200 || s.GoodputRatio != 1 || s.ThroughputRPS != 200 || s.Amplification != 1 {
		t.Fatalf("rates: %+v", s)
	}
	if s.Outcomes["ok"] != 600 || s.Outcomes["shed"] != 0 || len(s.Outcomes) != int(results.NumOutcomes) {
		t.Fatalf("outcomes %v", s.Outcomes)
	}
	if s.StatusCodes["200"] != 600 || len(s.StatusCodes) != 1 {
		t.Fatalf("status codes %v", s.StatusCodes)
	}
	if math.Abs(s.Latency.P50-40) > 0.04 || math.Abs(s.Latency.Max-40) > 0.04 {
		t.Fatalf("latency %+v, want 40ms", s.Latency)
	}
	// Three windows of schedule, and a fourth where the last answers arrive.
	if len(s.Windows) != 4 || s.Windows[3].Requests != 0 || s.Windows[3].ThroughputRPS == 0 {
		t.Fatalf("%d windows, want 3 and a tail: %+v", len(s.Windows), s.Windows)
	}
	for i, w := range s.Windows[:3] {
		if w.Requests != 200 || w.OfferedRPS != 200 || w.GoodputRatio != 1 {
			t.Fatalf("window %+v", w)
		}
		// 200 rps × 40 ms: 8 in flight (less in the first window, which
		// nothing spills into); Little's law holds.
		if (i > 0 && math.Abs(w.InFlightMean-8) > 0.01) || math.Abs(w.LittleRatio-1) > 0.05 {
			t.Fatalf("window at %vs: in-flight %v, Little ratio %v", w.StartS, w.InFlightMean, w.LittleRatio)
		}
	}
	if len(s.Phases) != 1 || s.Phases[0].Requests != 600 || s.Phases[0].OfferedRPS != 200 {
		t.Fatalf("phases %+v", s.Phases)
	}
	if len(s.Warnings) != 0 {
		t.Fatalf("warnings %v", s.Warnings)
	}
}

func TestAggregatorGoodputUsesSLOFromIntendedStart(t *testing.T) {
	a := NewAggregator(Options{SLO: 50 * time.Millisecond})
	if err := a.AddHeader(results.Header{SLO: time.Second}); err != nil {
		t.Fatal(err)
	}
	rs := []results.Result{
		// ok in 30 ms from a late start: 60 ms from intended start, over the SLO.
		{RequestID: 1, Attempt: 1, Final: true, Intended: 0, Start: 30 * time.Millisecond, End: 60 * time.Millisecond, Status: 200},
		// ok in 40 ms from intended start.
		{RequestID: 2, Attempt: 1, Final: true, Intended: 0, Start: 0, End: 40 * time.Millisecond, Status: 200},
		// shed, then ok on retry within the SLO: counts, with two attempts.
		{RequestID: 3, Attempt: 1, Intended: 0, Start: 0, End: time.Millisecond, Status: 503, Outcome: results.OutcomeShed},
		{RequestID: 3, Attempt: 2, Final: true, Intended: 0, Start: 10 * time.Millisecond, End: 50 * time.Millisecond, Status: 200},
		// failed.
		{RequestID: 4, Attempt: 1, Final: true, Intended: 0, Start: 0, End: time.Millisecond, Status: 500, Outcome: results.OutcomeServerError},
	}
	for _, r := range rs {
		a.AddResult(&r)
	}
	s := a.Summary()
	if s.Requests != 4 || s.Attempts != 5 || s.GoodputRatio != 0.5 || s.Amplification != 1.25 {
		t.Fatalf("requests %d attempts %d goodput ratio %v amplification %v", s.Requests, s.Attempts, s.GoodputRatio, s.Amplification)
	}
	if s.Outcomes["ok"] != 3 || s.Outcomes["shed"] != 0 || s.AttemptOutcomes["shed"] != 1 || s.AttemptOutcomes["ok"] != 3 {
		t.Fatalf("outcomes %v attempt outcomes %v", s.Outcomes, s.AttemptOutcomes)
	}
	if s.SLOMs != 50 || s.ShedRatio != 0.2 {
		t.Fatalf("slo %v shed ratio %v", s.SLOMs, s.ShedRatio)
	}
	if s.Latency.Max < 59.9 || s.Latency.Max > 60.1 {
		t.Fatalf("latency max %v, want 60 (from intended start)", s.Latency.Max)
	}
}

func TestAggregatorPercentilesMatchHdrHistogram(t *testing.T) {
	data := syntheticFile(t, 1)
	s := aggregate(t, Options{}, data)
	_, recs := syntheticRun(1)
	want := hdr.New(histLowest, histHighest, histDigits)
	for _, r := range recs {
		if r.kind == results.RecordResult && r.res.Final && r.res.Outcome == results.OutcomeOK {
			if err := want.RecordValue(int64(r.res.Latency() / time.Microsecond)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := s.Latency.P99; got != float64(want.ValueAtPercentile(99))/1000 {
		t.Fatalf("p99 %v, want %v", got, float64(want.ValueAtPercentile(99))/1000)
	}
	if !(0 < s.Latency.P50 && s.Latency.P50 <= s.Latency.P90 && s.Latency.P90 <= s.Latency.P99 && s.Latency.P99 <= s.Latency.P999 && s.Latency.P999 <= s.Latency.Max) {
		t.Fatalf("percentiles not ordered: %+v", s.Latency)
	}
	if s.LatencyHistogram().TotalCount() != want.TotalCount() {
		t.Fatalf("histogram holds %d values, want %d", s.LatencyHistogram().TotalCount(), want.TotalCount())
	}
}

// splitStream writes the records of a run into two shard streams, each
// record going to a random one.
func splitStream(t *testing.T, h results.Header, recs []record, seed uint64) ([]byte, []byte) {
	rng := rand.New(rand.NewPCG(seed, 0))
	var parts [2][]record
	for _, r := range recs {
		i := rng.IntN(2)
		parts[i] = append(parts[i], r)
	}
	h0, h1 := h, h
	h0.Shard, h1.Shard = results.ShardInfo{Index: 0, Count: 2}, results.ShardInfo{Index: 1, Count: 2}
	h1.Host = "gen-2"
	a, _ := encodeStream(t, h0, parts[0])
	b, _ := encodeStream(t, h1, parts[1])
	return a, b
}

func TestMergedHalvesEqualTheWhole(t *testing.T) {
	h, recs := syntheticRun(3)
	whole, _ := encodeStream(t, h, recs)
	a, b := splitStream(t, h, recs, 3)
	want := aggregate(t, Options{}, whole)
	got := aggregate(t, Options{}, a, b)
	if got.Shards != 2 || got.Files != 2 || len(got.Hosts) != 2 {
		t.Fatalf("shards %d files %d hosts %v", got.Shards, got.Files, got.Hosts)
	}
	got.Shards, got.Files, got.Hosts = want.Shards, want.Files, want.Hosts
	if !reflect.DeepEqual(got.Latency, want.Latency) {
		t.Fatalf("latency of the merge %+v, of the whole %+v", got.Latency, want.Latency)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Fatalf("summary of the merged halves differs from the whole:\n%s\n%s", gj, wj)
	}
	if !got.LatencyHistogram().Equals(want.LatencyHistogram()) {
		t.Fatal("merged histogram differs from the whole's")
	}
}

func TestAddHeaderRefusesOtherRuns(t *testing.T) {
	base := syntheticHeader()
	other := base
	other.Scenario = []byte(`{"name":"other"}`)
	other.Label = "other-run"
	a := NewAggregator(Options{})
	if err := a.AddHeader(base); err != nil {
		t.Fatal(err)
	}
	err := a.AddHeader(other)
	if err == nil || !strings.Contains(err.Error(), `"golden"`) || !strings.Contains(err.Error(), `"other-run"`) {
		t.Fatalf("different scenario: err = %v, want one naming both labels", err)
	}
	reseeded := base
	reseeded.Seed = 8
	if err := a.AddHeader(reseeded); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("different seed: err = %v", err)
	}

	s0, s1 := base, base
	s0.Shard, s1.Shard = results.ShardInfo{Index: 0, Count: 2}, results.ShardInfo{Index: 1, Count: 2}
	s1.Seed = 8 // shards may derive their own seeds
	b := NewAggregator(Options{})
	if err := b.AddHeader(s0); err != nil {
		t.Fatal(err)
	}
	if err := b.AddHeader(s1); err != nil {
		t.Fatalf("two shards of one run refused: %v", err)
	}
	s3 := s1
	s3.Shard.Count = 3
	if err := b.AddHeader(s3); err == nil {
		t.Fatal("a shard of a 3-shard run accepted with shards of a 2-shard run")
	}
}

func TestAddHeaderWarnsAboutShards(t *testing.T) {
	h := syntheticHeader()
	h.Shard = results.ShardInfo{Index: 0, Count: 3}
	late := h
	late.Shard.Index = 1
	late.Start = h.Start.Add(5 * time.Second)
	a := NewAggregator(Options{})
	for _, x := range []results.Header{h, late, h} {
		if err := a.AddHeader(x); err != nil {
			t.Fatal(err)
		}
	}
	w := strings.Join(a.Summary().Warnings, "\n")
	for _, want := range []string{"started 5s apart", "shard 0 appears in two streams", "only 2 of 3 shards"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
}

func TestAggregatorDisturbancesAndWarnings(t *testing.T) {
	a := NewAggregator(Options{})
	if err := a.AddHeader(results.Header{Phases: []results.PhaseInfo{{Name: "p", Duration: 10 * time.Second}}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []results.Event{
		{Kind: results.EventFaultApplied, At: 2 * time.Second, Name: "slow", Target: "db"},
		{Kind: results.EventFaultApplied, At: 3 * time.Second, Name: "errors", Target: "cache"},
		{Kind: results.EventFaultRemoved, At: 4 * time.Second, Name: "slow", Target: "db"},
		{Kind: results.EventFaultFailed, At: 5 * time.Second, Name: "kill", Target: "queue", Detail: "connection refused"},
		{Kind: results.EventInterrupted, At: 6 * time.Second},
	} {
		a.AddEvent(&e)
	}
	drop := results.Result{RequestID: 1, Final: true, Outcome: results.OutcomeGeneratorDropped, Intended: time.Second, Start: time.Second, End: time.Second}
	a.AddResult(&drop)
	late := results.Result{RequestID: 2, Attempt: 1, Final: true, Intended: time.Second, Start: time.Second + 50*time.Millisecond, End: 2 * time.Second, Status: 200}
	a.AddResult(&late)
	s := a.Summary()
	want := []Disturbance{
		{Name: "slow", Target: "db", StartS: 2, EndS: 4, Removed: true},
		{Name: "errors", Target: "cache", StartS: 3, EndS: 6}, // never removed: ends with the run, interrupted at 6s
	}
	if !reflect.DeepEqual(s.Disturbances, want) {
		t.Fatalf("disturbances %+v, want %+v", s.Disturbances, want)
	}
	if s.Generator.Dropped != 1 || s.Generator.LagP99Ms < 49.9 || !s.Interrupted {
		t.Fatalf("generator %+v interrupted %v", s.Generator, s.Interrupted)
	}
	w := strings.Join(s.Warnings, "\n")
	for _, want := range []string{"dropped 1 requests", "generator lag p99 is 50.0ms", `fault "kill" on "queue" failed`, "interrupted"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
}

func TestAggregatorLongAttemptSpreadsInFlight(t *testing.T) {
	a := NewAggregator(Options{Window: time.Second})
	if err := a.AddHeader(results.Header{}); err != nil {
		t.Fatal(err)
	}
	r := results.Result{RequestID: 1, Attempt: 1, Final: true, Intended: 500 * time.Millisecond, Start: 500 * time.Millisecond, End: 3500 * time.Millisecond, Outcome: results.OutcomeClientTimeout}
	a.AddResult(&r)
	s := a.Summary()
	var got []float64
	for _, w := range s.Windows {
		got = append(got, w.InFlightMean)
	}
	if want := []float64{0.5, 1, 1, 0.5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("in-flight per window %v, want %v", got, want)
	}
	if s.Windows[3].AttemptOutcomes["client_timeout"] != 1 || s.Windows[0].Outcomes["client_timeout"] != 1 || s.ThroughputRPS != 0 {
		t.Fatalf("timeout counted wrongly: %+v", s.Windows)
	}
}

func TestTopTenants(t *testing.T) {
	a := NewAggregator(Options{})
	if err := a.AddHeader(results.Header{}); err != nil {
		t.Fatal(err)
	}
	add := func(tenant string, n int, o results.Outcome) {
		for range n {
			r := results.Result{Attempt: 1, Final: true, Tenant: tenant, Outcome: o, Status: 200}
			a.AddResult(&r)
		}
	}
	add("big", 50, results.OutcomeOK)
	add("mid", 20, results.OutcomeShed)
	add("small", 5, results.OutcomeOK)
	for i := range 1000 { // more one-off tenants than the sketch holds
		add(strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), 1, results.OutcomeOK)
	}
	top := a.Summary().TopTenants
	if len(top.ByAttempts) != topTenants || top.ByAttempts[0] != (TenantCount{"big", 50}) || top.ByAttempts[1].Tenant != "mid" {
		t.Fatalf("by attempts %+v", top.ByAttempts)
	}
	if len(top.ByFailures) != 1 || top.ByFailures[0] != (TenantCount{"mid", 20}) {
		t.Fatalf("by failures %+v", top.ByFailures)
	}
}

func TestSummaryJSONHasContractKeys(t *testing.T) {
	s := aggregate(t, Options{}, syntheticFile(t, 1))
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"requests", "attempts", "duration_s", "offered_rps", "throughput_rps", "goodput_rps", "goodput_ratio",
		"outcomes", "attempt_outcomes", "status_codes", "latency_ms", "generator", "seed", "amplification",
		"windows", "phases", "disturbances", "top_tenants", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary JSON lacks %q", k)
		}
	}
	lat := m["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "max", "mean"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %q", k)
		}
	}
	gen := m["generator"].(map[string]any)
	for _, k := range []string{"lag_p99_ms", "dropped"} {
		if _, ok := gen[k]; !ok {
			t.Errorf("generator lacks %q", k)
		}
	}
}

// TestReadIntoFlagsDamagedAndIncompleteStreams: a cut, a flipped byte or
// garbage after the end made no difference to the summary (issue #19).
func TestReadIntoFlagsDamagedAndIncompleteStreams(t *testing.T) {
	data := syntheticFile(t, 1)
	summarize := func(data []byte) *Summary {
		rd, err := results.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		a := NewAggregator(Options{})
		if err := a.AddHeader(rd.Header()); err != nil {
			t.Fatal(err)
		}
		if err := ReadInto(context.Background(), a, rd); err != nil {
			t.Fatalf("ReadInto = %v, want damage reported in the summary", err)
		}
		return a.Summary()
	}
	if s := summarize(data); !s.Complete || s.DamagedBlocks != 0 || slices.ContainsFunc(s.Warnings, func(w string) bool { return strings.Contains(w, "results stream") }) {
		t.Fatalf("whole stream: complete %v, damaged %d, warnings %q", s.Complete, s.DamagedBlocks, s.Warnings)
	}
	flipped := bytes.Clone(data)
	flipped[len(data)/2] ^= 0x04
	for name, tc := range map[string]struct {
		data    []byte
		damaged bool
		warn    string
	}{
		"garbage after the end": {append(bytes.Clone(data), 0x91, 0xc1), false, "after the end-of-run trailer"},
		"flipped byte":          {flipped, true, "damaged at byte"},
		"cut":                   {data[:len(data)*3/4], false, "incomplete: "},
	} {
		s := summarize(tc.data)
		if s.Complete || (s.DamagedBlocks > 0) != tc.damaged || !slices.ContainsFunc(s.Warnings, func(w string) bool { return strings.Contains(w, tc.warn) }) {
			t.Errorf("%s: complete %v, damaged blocks %d, warnings %q: want incomplete, a warning saying %q", name, s.Complete, s.DamagedBlocks, s.Warnings, tc.warn)
		}
	}
}

// BenchmarkReadAggregate measures the report path, decoding and
// aggregating one record, on a run of about 140 requests per second with
// retries, tenants and events (goal: at least 2 million records per
// second; ReadInto decodes on one core while it aggregates on another).
func BenchmarkReadAggregate(b *testing.B) {
	h, recs := syntheticRun(1)
	// Repeat the 12-second run to get a longer, window-rich stream.
	var all []record
	for rep := range 20 {
		for _, r := range recs {
			if r.kind == results.RecordResult {
				r.res.Intended += time.Duration(rep) * 12 * time.Second
				r.res.Start += time.Duration(rep) * 12 * time.Second
				r.res.End += time.Duration(rep) * 12 * time.Second
				all = append(all, r)
			}
		}
	}
	withErrorText(all)
	data, _ := encodeStream(b, h, all)
	benchReadAggregate(b, data, len(all))
}

// withErrorText gives the failed attempts of recs the error text a
// generator records for them, as a run's would have.
func withErrorText(recs []record) {
	for i := range recs {
		r := &recs[i].res
		switch r.Outcome {
		case results.OutcomeConnError:
			r.Error = []string{"connection refused", "EOF on a reused connection"}[i%2]
		case results.OutcomeClientTimeout:
			r.Error = "timeout"
		}
	}
}

// BenchmarkReadAggregateHighRate is the same at 10,000 requests per second,
// where windows record into dense histograms.
func BenchmarkReadAggregateHighRate(b *testing.B) {
	recs := benchRecords(200000)
	all := make([]record, len(recs))
	for i := range recs {
		all[i] = record{kind: results.RecordResult, res: recs[i]}
	}
	data, _ := encodeStream(b, syntheticHeader(), all)
	benchReadAggregate(b, data, len(all))
}

func benchReadAggregate(b *testing.B, data []byte, records int) {
	b.SetBytes(int64(len(data) / records))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		rd, err := results.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		a := NewAggregator(Options{})
		if err := a.AddHeader(rd.Header()); err != nil {
			b.Fatal(err)
		}
		// ReadInto is the report's path: it decodes a batch ahead on a
		// goroutine of its own.
		if err := ReadInto(context.Background(), a, rd); err != nil {
			b.Fatal(err)
		}
		_ = a.Summary()
		n += records
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}

func TestMergeHeaders(t *testing.T) {
	h := syntheticHeader()
	s0, s1, s2 := h, h, h
	s0.Shard, s1.Shard, s2.Shard = results.ShardInfo{Index: 0, Count: 3}, results.ShardInfo{Index: 1, Count: 3}, results.ShardInfo{Index: 2, Count: 3}
	s1.Host, s1.Start = "gen-2", h.Start.Add(-time.Millisecond)
	s2.Host = "gen-3"
	m01, err := results.MergeHeaders([]results.Header{s1, s0})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m01.Merged, []int{0, 1}) || m01.Host != "gen-1,gen-2" || !m01.Start.Equal(s1.Start) || m01.Shard.Count != 3 {
		t.Fatalf("merged header %+v", m01)
	}
	// A merged stream merges again with the remaining shard.
	all, err := results.MergeHeaders([]results.Header{m01, s2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all.Merged, []int{0, 1, 2}) || all.Host != "gen-1,gen-2,gen-3" {
		t.Fatalf("merged header %+v", all)
	}
	if _, err := results.MergeHeaders([]results.Header{m01, s1}); err == nil || !strings.Contains(err.Error(), "both hold shard 1") {
		t.Fatalf("duplicate shard: err = %v", err)
	}
	other := s2
	other.Scenario = []byte("{}")
	if _, err := results.MergeHeaders([]results.Header{s0, other}); err == nil {
		t.Fatal("headers of different runs merged")
	}
}

// TestWindowHistogramsExactOutOfOrder checks the dense "hot window" path:
// whatever the order records arrive in, each window's histogram holds
// exactly its values.
func TestWindowHistogramsExactOutOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	a := NewAggregator(Options{Window: 100 * time.Millisecond})
	if err := a.AddHeader(results.Header{}); err != nil {
		t.Fatal(err)
	}
	const windows = 30
	want := make([]*hdr.Histogram, windows)
	for i := range want {
		want[i] = hdr.New(histLowest, histHighest, histDigits)
	}
	for n := range 60000 {
		// Mostly in time order, with one record in five from an earlier window.
		at := time.Duration(n) * 50 * time.Microsecond
		if rng.IntN(5) == 0 {
			at = time.Duration(rng.Int64N(int64(at) + 1))
		}
		lat := time.Duration(rng.ExpFloat64() * float64(30*time.Millisecond))
		r := results.Result{Attempt: 1, Final: true, Intended: at, Start: at, End: at + lat, Status: 200}
		a.AddResult(&r)
		if err := want[int(at/(100*time.Millisecond))].RecordValue(micros(lat)); err != nil {
			t.Fatal(err)
		}
		if n == 30000 {
			_ = a.Summary() // a summary mid-way changes nothing
		}
	}
	s := a.Summary()
	for i := range windows {
		got := hdr.New(histLowest, histHighest, histDigits)
		s.Windows[i].LatencyHistogram().MergeInto(got)
		if !got.Equals(want[i]) {
			t.Fatalf("window %d: histogram of %d values, want %d values", i, got.TotalCount(), want[i].TotalCount())
		}
	}
}

func TestInterruptedRunLastsUntilTheInterruption(t *testing.T) {
	a := NewAggregator(Options{})
	if err := a.AddHeader(results.Header{Phases: []results.PhaseInfo{{Name: "steady", Duration: time.Minute, FromRPS: 200, ToRPS: 200}}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range steadyRun(400, 200, 10*time.Millisecond) {
		a.AddResult(&r)
	}
	a.AddEvent(&results.Event{Kind: results.EventInterrupted, At: 2 * time.Second})
	s := a.Summary()
	if s.DurationS != 2 || s.OfferedRPS != 200 || !s.Interrupted {
		t.Fatalf("duration %vs, offered %v rps, interrupted %v; want 2s, 200 rps, true", s.DurationS, s.OfferedRPS, s.Interrupted)
	}
}

func TestWindowTopTenants(t *testing.T) {
	a := NewAggregator(Options{})
	if err := a.AddHeader(results.Header{}); err != nil {
		t.Fatal(err)
	}
	add := func(at time.Duration, tenant string, n int, o results.Outcome) {
		for range n {
			r := results.Result{Attempt: 1, Final: true, Tenant: tenant, Outcome: o, Status: 200, Intended: at, Start: at, End: at}
			a.AddResult(&r)
		}
	}
	add(0, "a", 5, results.OutcomeOK)
	add(0, "b", 9, results.OutcomeShed)
	add(0, "c", 1, results.OutcomeOK)
	add(0, "d", 2, results.OutcomeOK)
	add(time.Second, "z", 1, results.OutcomeOK)
	add(2*time.Second, "", 1, results.OutcomeOK)
	s := a.Summary()
	got := s.Windows[0].TopTenants
	want := &TopTenants{ByAttempts: []TenantCount{{"b", 9}, {"a", 5}, {"d", 2}}, ByFailures: []TenantCount{{"b", 9}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("window 0 top tenants %+v, want %+v", got, want)
	}
	if w1 := s.Windows[1].TopTenants; w1 == nil || w1.ByAttempts[0] != (TenantCount{"z", 1}) || len(w1.ByFailures) != 0 {
		t.Fatalf("window 1 top tenants %+v", w1)
	}
	if s.Windows[2].TopTenants != nil {
		t.Fatalf("window without tenants has top tenants %+v", s.Windows[2].TopTenants)
	}
}
