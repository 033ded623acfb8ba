package retry

import (
	"testing"
	"time"
)

func BenchmarkBudgets(b *testing.B) {
	for _, spec := range []string{"token:10,0.1", "aws", "ratio:0.1"} {
		bs, err := ParseBudget(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(spec, func(b *testing.B) {
			bu := bs.New()
			now := time.Unix(0, 0)
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Microsecond)
				bu.Request(now)
				bu.Failure(now)
				if spent, ok := bu.Retry(now, false); ok {
					bu.Success(now, spent)
				}
			}
		})
	}
}

func BenchmarkThrottleAllow(b *testing.B) {
	th := NewThrottle(ThrottleSpec{K: 2})
	now := time.Unix(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		if th.Allow(now, 0.5) {
			th.Accepted(now)
		}
	}
}

func BenchmarkRetryDelay(b *testing.B) {
	p := Default()
	p.Jitter = JitterDecorrelated
	b.ReportAllocs()
	var prev time.Duration
	for b.Loop() {
		prev = p.RetryDelay(3, prev, time.Second, true, 0.5)
	}
}
