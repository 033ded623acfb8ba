package backlog_test

import (
	"fmt"

	"github.com/goodput-dev/goodput/target/backlog"
)

// Two tenants given 2 of 8 queues each share none of them 53.6% of the
// time, and both only 3.6% of the time.
func ExampleExactOverlap() {
	for s, p := range backlog.ExactOverlap(8, 2) {
		fmt.Printf("share %d: %.1f%%\n", s, 100*p)
	}
	// Output:
	// share 0: 53.6%
	// share 1: 42.9%
	// share 2: 3.6%
}

func ExampleShardOf() {
	// The same seed and tenant always give the same queues.
	a := backlog.ShardOf(42, "acme", 8, 2, nil)
	b := backlog.ShardOf(42, "acme", 8, 2, nil)
	fmt.Println(len(a), a[0] == b[0] && a[1] == b[1], a[0] != a[1])
	// Output: 2 true true
}
