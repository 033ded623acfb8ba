package results_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// A generator writes a header and one record per attempt, and closes the
// stream; any reader gets them back in order, and knows it got them all.
func Example() {
	var buf bytes.Buffer
	w, err := results.NewWriter(&buf, results.Header{Label: "demo", Seed: 1})
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		at := time.Duration(i) * 100 * time.Millisecond
		r := results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Route: "GET /items",
			Intended: at, Start: at, End: at + 20*time.Millisecond, Status: 200}
		if err := w.WriteResult(&r); err != nil {
			panic(err)
		}
	}
	// Close writes the end-of-run trailer: without it, readers report the
	// stream incomplete (a killed writer never writes it).
	if err := w.Close(); err != nil {
		panic(err)
	}

	rd, err := results.NewReader(&buf)
	if err != nil {
		panic(err)
	}
	var res results.Result
	var ev results.Event
	for {
		kind, err := rd.Next(&res, &ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		if kind == results.RecordResult {
			fmt.Printf("request %d %s: %v %s\n", res.RequestID, res.Route, res.Latency(), res.Outcome)
		}
	}
	fmt.Println("run", rd.Header().Label, "complete:", rd.Integrity().Complete)
	// Output:
	// request 0 GET /items: 20ms ok
	// request 1 GET /items: 20ms ok
	// request 2 GET /items: 20ms ok
	// run demo complete: true
}
