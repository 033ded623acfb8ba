package retry_test

import (
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/workload/retry"
)

// Exponential backoff from 100 ms, capped at 1 s, with equal jitter at a
// fixed draw u = 0.5: d = b/2 + u·b/2.
func ExamplePolicy_RetryDelay() {
	p := retry.Policy{
		Backoff: retry.Backoff{Kind: retry.BackoffExponential, Base: 100 * time.Millisecond, Max: time.Second, Multiplier: 2},
		Jitter:  retry.JitterEqual,
	}
	for n := 1; n <= 5; n++ {
		fmt.Println(n, p.RetryDelay(n, 0, 0, false, 0.5))
	}
	// Output:
	// 1 75ms
	// 2 150ms
	// 3 300ms
	// 4 600ms
	// 5 750ms
}

// The gRPC token bucket 10/0.1: retries stop after 5 failures in a row.
func ExampleTokenBucket() {
	b := retry.NewTokenBucket(10, 0.1)
	now := time.Now()
	for i := 1; i <= 6; i++ {
		b.Failure(now)
		_, ok := b.Retry(now, false)
		fmt.Printf("failure %d: %v tokens, retry %v\n", i, b.Tokens(), ok)
	}
	// Output:
	// failure 1: 9 tokens, retry true
	// failure 2: 8 tokens, retry true
	// failure 3: 7 tokens, retry true
	// failure 4: 6 tokens, retry true
	// failure 5: 5 tokens, retry false
	// failure 6: 4 tokens, retry false
}
