package metrics_test

import (
	"testing"
	"time"

	"github.com/goodput-dev/goodput/harness/metrics"
	"github.com/goodput-dev/goodput/results"
)

// BenchmarkObserve is the per-record cost of live metrics on the hot path:
// it must not allocate.
func BenchmarkObserve(b *testing.B) {
	run, err := metrics.NewRegistry().Run(metrics.RunConfig{Label: "bench", Schedule: schedule(b), SLO: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	recs := []results.Result{
		{Attempt: 1, Final: true, Route: "get", Start: time.Millisecond, End: 12 * time.Millisecond},
		{Attempt: 1, Route: "get", Outcome: results.OutcomeShed, Start: time.Millisecond, End: 2 * time.Millisecond},
		{Attempt: 2, Final: true, Route: "post", Phase: 1, Start: 30 * time.Millisecond, End: 90 * time.Millisecond},
		{Final: true, Route: "post", Outcome: results.OutcomeGeneratorDropped},
	}
	for i := range recs {
		run.Observe(&recs[i]) // resolve the routes
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		run.Observe(&recs[i%len(recs)])
	}
}

// BenchmarkObserveParallel is the same from every core at once.
func BenchmarkObserveParallel(b *testing.B) {
	run, err := metrics.NewRegistry().Run(metrics.RunConfig{Label: "bench", Schedule: schedule(b)})
	if err != nil {
		b.Fatal(err)
	}
	r := results.Result{Attempt: 1, Final: true, Route: "get", Start: time.Millisecond, End: 12 * time.Millisecond}
	run.Observe(&r)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := r
		for pb.Next() {
			run.Observe(&r)
		}
	})
}
