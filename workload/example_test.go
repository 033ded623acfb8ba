package workload_test

import (
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/workload"
)

// A 1 s constant phase then a 1 s ramp: the first starts are evenly spaced
// at 4/s, then closer together as the rate climbs to 12/s.
func ExampleIntendedStarts() {
	s, err := workload.NewSchedule(workload.Constant(time.Second, 4), workload.Ramp(time.Second, 4, 12))
	if err != nil {
		panic(err)
	}
	starts := workload.IntendedStarts(s, workload.ArrivalUniform, 0, workload.Shard{})
	fmt.Println(len(starts), "requests, ∫rate dt =", s.Total())
	for _, t := range starts[:6] {
		fmt.Println(t.Round(time.Millisecond))
	}
	// Output:
	// 12 requests, ∫rate dt = 12
	// 0s
	// 250ms
	// 500ms
	// 750ms
	// 1s
	// 1.207s
}
