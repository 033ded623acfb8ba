package faults_test

import (
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/faults"
)

// A fault as the proxy's control API and profiles write it, turned into a
// timeline entry.
func ExampleDecodeSpec() {
	s, err := faults.DecodeSpec([]byte(`{"name":"slow-search","kind":"delay","target":"search","at":"10s","for":"30s","delay":"2s","jitter":"200ms"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := s.Entry()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s on %s from %v for %v: %+v\n", e.Name, e.Target, e.At, e.For, e.Fault)
	// Output:
	// slow-search on search from 10s for 30s: {Delay:2s Jitter:200ms Response:false}
}

// Bad definitions are refused before anything runs, each with its field.
func ExampleTimeline_Validate() {
	tl := &faults.Timeline{Entries: []faults.Entry{
		{Name: "brownout", Target: "db", At: 10 * time.Second, For: 20 * time.Second, Fault: faults.Capacity{Pool: 2}},
		{Name: "worse", Target: "db", At: 20 * time.Second, For: 5 * time.Second, Fault: faults.Capacity{Pool: 1}},
		{Name: "flaky", Target: "db", For: -time.Second, Fault: faults.Abort{Status: 503}, Probability: 1.5},
	}}
	fmt.Println(tl.Validate())
	// Output:
	// faults[2].for: -1s, want ≥ 0 (0 lasts until the run ends)
	// faults[2].probability: 1.5, want 0 < p ≤ 1
	// faults[1].at: "worse" (capacity on db from 20s) overlaps "brownout" (faults[0], capacity from 10s to 30s) on the same knob; move it or merge them
}
