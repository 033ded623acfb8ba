package backlog

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// BenchmarkEnqueuePop measures one Enqueue plus one Pop with 1 000
// messages queued, per discipline and option.
func BenchmarkEnqueuePop(b *testing.B) {
	cases := []struct {
		name string
		edit func(*Config)
	}{
		{"fifo", func(c *Config) {}},
		{"lifo", func(c *Config) { c.Discipline = LIFO }},
		{"priority", func(c *Config) { c.Discipline = Priority; c.AgeThreshold = dist.Duration(500 * time.Microsecond) }},
		{"ttl", func(c *Config) { c.TTL = dist.Duration(time.Millisecond) }},
		{"backpressure", func(c *Config) { c.BackpressureDepth = 5000; c.BackpressureAge = dist.Duration(time.Hour) }},
		{"surge", func(c *Config) { c.Capacity = 500; c.SurgeCapacity = 1000 }},
		{"shuffle-8x2", func(c *Config) { c.Queues = 8; c.ShardSize = 2 }},
		{"shuffle-100x5", func(c *Config) { c.Queues = 100; c.ShardSize = 5 }},
	}
	tenants := make([]string, 64)
	for i := range tenants {
		tenants[i] = fmt.Sprint("tenant-", i)
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := DefaultConfig()
			tc.edit(&c)
			q, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			now := t0
			for i := range 1000 {
				if _, err := q.Enqueue(now, Message{Tenant: tenants[i%len(tenants)]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now = now.Add(time.Microsecond)
				if _, err := q.Enqueue(now, Message{Tenant: tenants[i%len(tenants)]}); err != nil {
					b.Fatal(err)
				}
				if _, _, ok := q.Pop(now); !ok {
					b.Fatal("empty")
				}
				i++
			}
		})
	}
}

// BenchmarkServeHTTP measures the enqueue handler (decode, enqueue,
// answer), with a consumer-free backlog popped every call.
func BenchmarkServeHTTP(b *testing.B) {
	c := DefaultConfig()
	s, err := NewService(c, Options{Consumers: 1})
	if err != nil {
		b.Fatal(err)
	}
	const body = `{"tenant":"acme","room":"lobby","body":"hello"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/api/messages", strings.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatal(w.Code)
		}
		s.Backlog().Pop(t0)
	}
}

// BenchmarkShardOf measures the tenant-to-queues assignment.
func BenchmarkShardOf(b *testing.B) {
	var buf [MaxShardSize]int
	b.ReportAllocs()
	for b.Loop() {
		ShardOf(1, "tenant-12345", 100, 5, buf[:0])
	}
}
