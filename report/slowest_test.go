package report

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// retriedRequest returns the attempts of one request: attempts−1 shed
// attempts, each followed by a wait, then a final ok attempt; every
// attempt lasts step and carries Server-Timing.
func retriedRequest(id uint64, intended time.Duration, attempts int, step, wait time.Duration) []results.Result {
	var out []results.Result
	at := intended + time.Millisecond // the generator's lag
	for i := 1; i <= attempts; i++ {
		r := results.Result{RequestID: id, Attempt: uint16(i), Route: "GET /items", Intended: intended, Start: at, End: at + step,
			Status: 503, Outcome: results.OutcomeShed, Timing: results.ServerTiming{Queue: step / 4, App: step / 4, Dep: step / 4}}
		if i == attempts {
			r.Final, r.Status, r.Outcome = true, 200, results.OutcomeOK
		}
		out = append(out, r)
		at = r.End + wait
	}
	return out
}

func TestSlowestTracesTheSlowestRequestsWithTheirAttempts(t *testing.T) {
	// 200 requests, interleaved: request i has 1 + i%3 attempts of i ms
	// each, 5 ms apart. The slowest are the highest ids with 3 attempts.
	var byReq [][]results.Result
	for i := range 200 {
		byReq = append(byReq, retriedRequest(uint64(i+1), time.Duration(i)*time.Millisecond, 1+i%3, time.Duration(i+1)*time.Millisecond, 5*time.Millisecond))
	}
	var stream []results.Result
	for more := true; more; {
		more = false
		for i := range byReq {
			if len(byReq[i]) > 0 {
				stream = append(stream, byReq[i][0])
				byReq[i] = byReq[i][1:]
				more = true
			}
		}
	}
	tr := newSlowestTracer(3, pendingRequests)
	for i := range stream {
		tr.add(&stream[i])
	}
	got := tr.requests()
	require.Len(t, got, 3)
	// Latency = 1 ms lag + a×step + (a−1)×5 ms.
	latency := func(i int) float64 { a := 1 + i%3; return float64(1 + a*(i+1) + (a-1)*5) }
	want := make([]int, 200)
	for i := range want {
		want[i] = i
	}
	slices.SortFunc(want, func(a, b int) int { return cmp.Or(cmp.Compare(latency(b), latency(a)), cmp.Compare(a, b)) })
	for k, r := range got {
		i := want[k]
		assert.Equal(t, uint64(i+1), r.RequestID, "rank %d", k)
		assert.InDelta(t, latency(i), r.LatencyMs, 1e-9, "rank %d", k)
		assert.Equal(t, "ok", r.Outcome)
		require.Len(t, r.Attempts, 1+i%3, "request %d keeps every attempt", r.RequestID)
		assert.False(t, r.Incomplete)
		step := float64(i + 1)
		for j, a := range r.Attempts {
			assert.Equal(t, j+1, a.Attempt)
			wantWait := 5.0
			if j == 0 {
				wantWait = 1 // the lag from intended start
			}
			assert.InDelta(t, wantWait, a.WaitMs, 1e-9, "request %d attempt %d", r.RequestID, a.Attempt)
			assert.InDelta(t, step, a.EndMs-a.StartMs, 1e-9)
			require.NotNil(t, a.ServerTiming)
			assert.InDelta(t, step/4, a.ServerTiming.Queue, 1e-9)
			assert.Equal(t, j == len(r.Attempts)-1, a.Final)
		}
		assert.Equal(t, "shed", r.Attempts[0].Outcome)
		assert.Equal(t, 503, r.Attempts[0].Status)
	}
}

func TestSlowestIsExactAcrossShardsInAnyOrder(t *testing.T) {
	// Two shards with disjoint ids, fed in either order, give the same
	// slowest requests as one pass over a sorted list.
	rng := rand.New(rand.NewPCG(5, 6))
	shard := func(base uint64) []results.Result {
		var out []results.Result
		for i := range 500 {
			lat := time.Duration(rng.IntN(1000)) * time.Millisecond
			out = append(out, retriedRequest(base+uint64(i), time.Duration(i)*time.Millisecond, 1+rng.IntN(2), lat, time.Millisecond)...)
		}
		return out
	}
	a, b := shard(1), shard(1_000_000)
	ids := func(first, second []results.Result) []uint64 {
		tr := newSlowestTracer(10, 8)
		for _, s := range [][]results.Result{first, second} {
			for i := range s {
				tr.add(&s[i])
			}
		}
		var out []uint64
		for _, r := range tr.requests() {
			out = append(out, r.RequestID)
		}
		return out
	}
	var finals []results.Result
	for _, r := range append(slices.Clone(a), b...) {
		if r.Final {
			finals = append(finals, r)
		}
	}
	slices.SortFunc(finals, func(x, y results.Result) int {
		return cmp.Or(cmp.Compare(y.Latency(), x.Latency()), cmp.Compare(x.RequestID, y.RequestID))
	})
	var want []uint64
	for _, r := range finals[:10] {
		want = append(want, r.RequestID)
	}
	assert.Equal(t, want, ids(a, b))
	assert.Equal(t, want, ids(b, a))
}

func TestSlowestMemoryStaysWithinItsBound(t *testing.T) {
	// 1M requests of two attempts each, interleaved 8000 requests deep:
	// far more requests in flight than the tracer buffers.
	if testing.Short() {
		t.Skip("1M requests")
	}
	const n, depth = 1_000_000, 8000
	tr := newSlowestTracer(10, pendingRequests)
	rng := rand.New(rand.NewPCG(1, 2))
	peak := 0
	for i := range n + depth {
		if i < n { // first attempt of request i
			r := results.Result{RequestID: uint64(i), Attempt: 1, Intended: time.Duration(i), Start: time.Duration(i), End: time.Duration(i) + time.Millisecond, Outcome: results.OutcomeShed, Status: 503}
			tr.add(&r)
		}
		if j := i - depth; j >= 0 { // final attempt of request j
			lat := time.Duration(rng.IntN(1_000_000)) * time.Microsecond
			r := results.Result{RequestID: uint64(j), Attempt: 2, Final: true, Intended: time.Duration(j), Start: time.Duration(j) + 2*time.Millisecond, End: time.Duration(j) + lat, Status: 200}
			tr.add(&r)
		}
		if i%4096 == 0 {
			peak = max(peak, tr.held())
		}
	}
	peak = max(peak, tr.held())
	assert.LessOrEqual(t, peak, tr.bound())
	assert.LessOrEqual(t, len(tr.pending), pendingRequests)
	got := tr.requests()
	require.Len(t, got, 10)
	for _, r := range got {
		// The first attempts of all but the last pendingRequests requests
		// were forgotten before their final record came: the trace says so.
		assert.Equal(t, r.RequestID < n-pendingRequests, r.Incomplete, "request %d", r.RequestID)
		assert.Len(t, r.Attempts, map[bool]int{true: 1, false: 2}[r.Incomplete])
		assert.Equal(t, 2, r.AttemptsMade)
	}
}

func TestSlowestKeepsALateHedge(t *testing.T) {
	// The winning hedge is final; the losing attempt is recorded after it.
	tr := newSlowestTracer(1, pendingRequests)
	win := results.Result{RequestID: 7, Attempt: 2, Final: true, Intended: 0, Start: 50 * time.Millisecond, End: 80 * time.Millisecond, Status: 200}
	lose := results.Result{RequestID: 7, Attempt: 1, Intended: 0, Start: 0, End: 100 * time.Millisecond, Outcome: results.OutcomeCanceled}
	tr.add(&win)
	tr.add(&lose)
	got := tr.requests()
	require.Len(t, got, 1)
	require.Len(t, got[0].Attempts, 2)
	assert.Equal(t, 1, got[0].Attempts[0].Attempt, "attempts in order of their start")
	assert.InDelta(t, -50, got[0].Attempts[1].WaitMs, 1e-9, "a hedge overlaps its predecessor: a negative wait")
	assert.False(t, got[0].Incomplete)
}

func TestSlowestOption(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, DefaultSlowest}, {-1, 0}, {3, 3}} {
		assert.Equal(t, c.want, slowestOption(c.in), "%d", c.in)
	}
	tr := newSlowestTracer(0, 4)
	r := results.Result{RequestID: 1, Attempt: 1, Final: true, End: time.Second}
	tr.add(&r)
	assert.Empty(t, tr.requests())
}

func TestSummaryListsSlowest(t *testing.T) {
	s := aggregate(t, Options{Slowest: 4}, syntheticFile(t, 1))
	require.Len(t, s.Slowest, 4)
	for i := 1; i < len(s.Slowest); i++ {
		assert.GreaterOrEqual(t, s.Slowest[i-1].LatencyMs, s.Slowest[i].LatencyMs)
	}
	assert.GreaterOrEqual(t, s.Slowest[0].LatencyMs, s.Latency.Max*0.999, "at least as slow as the slowest ok request (HdrHistogram's max is within 0.1%)")
}

// BenchmarkSlowestTracer measures the tracer's cost per record: it sees
// every record of a run.
func BenchmarkSlowestTracer(b *testing.B) {
	recs := benchRecords(1 << 16)
	tr := newSlowestTracer(DefaultSlowest, pendingRequests)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tr.add(&recs[i%len(recs)])
		i++
	}
}
