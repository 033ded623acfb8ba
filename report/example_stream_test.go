package report_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/results"
)

// A generator writes a header and one record per attempt; a report reads
// them back into an Aggregator and renders the Summary.
func Example() {
	var buf bytes.Buffer
	w, err := results.NewWriter(&buf, results.Header{Label: "demo", Seed: 1, SLO: 100 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	for i := range 10 {
		at := time.Duration(i) * 100 * time.Millisecond
		r := results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Intended: at, Start: at,
			End: at + time.Duration(15+10*i)*time.Millisecond, Status: 200}
		if err := w.WriteResult(&r); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}

	rd, err := results.NewReader(&buf)
	if err != nil {
		panic(err)
	}
	agg := report.NewAggregator(report.Options{})
	if err := agg.AddHeader(rd.Header()); err != nil {
		panic(err)
	}
	if err := report.ReadInto(context.Background(), agg, rd); err != nil {
		panic(err)
	}
	s := agg.Summary()
	fmt.Printf("%d requests, goodput ratio %.1f, p50 %.0fms, max %.0fms\n", s.Requests, s.GoodputRatio, s.Latency.P50, s.Latency.Max)
	// Output:
	// 10 requests, goodput ratio 0.9, p50 55ms, max 105ms
}
