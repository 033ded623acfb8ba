package backlog

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func newBacklog(t *testing.T, edit func(*Config)) *Backlog {
	t.Helper()
	c := DefaultConfig()
	if edit != nil {
		edit(&c)
	}
	b, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEnqueue(t *testing.T, b *Backlog, now time.Time, tenant, body string) uint64 {
	t.Helper()
	id, err := b.Enqueue(now, Message{Tenant: tenant, Body: body})
	if err != nil {
		t.Fatalf("enqueue %s at %v: %v", body, now.Sub(t0), err)
	}
	return id
}

// popAll pops until empty and returns "body:verdict" strings.
func popAll(b *Backlog, now time.Time) []string {
	var out []string
	for {
		m, v, ok := b.Pop(now)
		if !ok {
			return out
		}
		out = append(out, m.Body+":"+v.String())
	}
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestDisciplineOrder(t *testing.T) {
	tests := []struct {
		d    Discipline
		want []string
	}{
		{FIFO, []string{"a:delivered", "b:delivered", "c:delivered", "d:delivered"}},
		{LIFO, []string{"d:delivered", "c:delivered", "b:delivered", "a:delivered"}},
		// a and b are 300 ms old at 400 ms, past the 250 ms threshold: aged,
		// served after the fresh c and d, each group oldest first.
		{Priority, []string{"c:delivered", "d:delivered", "a:delivered", "b:delivered"}},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			b := newBacklog(t, func(c *Config) { c.Discipline = tt.d; c.AgeThreshold = dist.Duration(250 * time.Millisecond) })
			for i, body := range []string{"a", "b", "c", "d"} {
				mustEnqueue(t, b, at(100*i), "t", body)
			}
			if got := popAll(b, at(400)); !equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDisciplineSwitchLive(t *testing.T) {
	b := newBacklog(t, nil)
	for i, body := range []string{"a", "b", "c"} {
		mustEnqueue(t, b, at(i), "t", body)
	}
	if m, _, _ := b.Pop(at(5)); m.Body != "a" {
		t.Fatalf("FIFO pop = %q, want a", m.Body)
	}
	c := b.Config()
	c.Discipline = LIFO
	if err := b.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := b.Pop(at(5)); m.Body != "c" {
		t.Errorf("LIFO pop after switch = %q, want c", m.Body)
	}
	c.Queues = 2
	c.ShardSize = 1
	if err := b.SetConfig(c); err == nil {
		t.Error("SetConfig changing queues: want an error")
	}
	c = b.Config()
	c.Capacity = 0
	if err := b.SetConfig(c); err == nil {
		t.Error("SetConfig with capacity 0: want an error")
	}
}

func TestTTLExpiresOldestFirst(t *testing.T) {
	for _, onExpiry := range []bool{false, true} {
		t.Run(fmt.Sprint("dead_letter_on_expiry=", onExpiry), func(t *testing.T) {
			b := newBacklog(t, func(c *Config) {
				c.Discipline = LIFO
				c.TTL = dist.Duration(time.Second)
				c.DeadLetterOnExpiry = onExpiry
			})
			mustEnqueue(t, b, at(0), "t", "old")
			mustEnqueue(t, b, at(100), "t", "older-but-alive")
			mustEnqueue(t, b, at(1500), "t", "new")
			verdict := "expired"
			if onExpiry {
				verdict = "dead_lettered"
			}
			// At 1050 ms "old" is past its TTL: shed first even under LIFO;
			// then LIFO order for the living.
			want := []string{"old:" + verdict, "new:delivered", "older-but-alive:delivered"}
			if got := popAll(b, at(1050)); !equal(got, want) {
				t.Errorf("pops = %v, want %v", got, want)
			}
			st := b.Stats(at(1050))
			if st.Counters.Expired != 1 {
				t.Errorf("expired = %d, want 1", st.Counters.Expired)
			}
			wantDead := 0
			if onExpiry {
				wantDead = 1
			}
			if st.DeadLetterDepth != wantDead {
				t.Errorf("dead-letter depth = %d, want %d", st.DeadLetterDepth, wantDead)
			}
		})
	}
}

func TestBackpressure(t *testing.T) {
	t.Run("depth", func(t *testing.T) {
		b := newBacklog(t, func(c *Config) { c.BackpressureDepth = 2 })
		mustEnqueue(t, b, at(0), "t", "a")
		mustEnqueue(t, b, at(0), "t", "b")
		if _, err := b.Enqueue(at(0), Message{Tenant: "t"}); !errors.Is(err, ErrBackpressure) {
			t.Fatalf("third enqueue: err = %v, want ErrBackpressure", err)
		}
		b.Pop(at(1))
		mustEnqueue(t, b, at(1), "t", "c")
		if got := b.Stats(at(1)).Counters.Backpressure; got != 1 {
			t.Errorf("backpressure count = %d, want 1", got)
		}
	})
	t.Run("age", func(t *testing.T) {
		b := newBacklog(t, func(c *Config) { c.BackpressureAge = dist.Duration(500 * time.Millisecond) })
		mustEnqueue(t, b, at(0), "t", "a")
		mustEnqueue(t, b, at(499), "t", "b")
		if _, err := b.Enqueue(at(500), Message{Tenant: "t"}); !errors.Is(err, ErrBackpressure) {
			t.Fatalf("enqueue at oldest age 500 ms: err = %v, want ErrBackpressure", err)
		}
		b.Pop(at(500)) // takes a; b is 1 ms old
		mustEnqueue(t, b, at(500), "t", "c")
	})
}

// TestPredictiveBackpressureBoundsOldestAge offers 2.5 messages per
// dequeue, for 10 s, to a queue drained at a fixed 100 messages a second.
// Refusing only on the oldest message's age lets it reach about 2.5 × the
// threshold; predicting each message's wait from the measured drain keeps
// it near the threshold, while the queue never runs dry.
func TestPredictiveBackpressureBoundsOldestAge(t *testing.T) {
	const (
		threshold = 300 * time.Millisecond
		drain     = 10 * time.Millisecond // one dequeue every 10 ms
		arrive    = 4 * time.Millisecond  // one arrival every 4 ms: 2.5×
		run       = 10 * time.Second
	)
	for _, d := range []Discipline{FIFO, Priority} {
		t.Run(d.String(), func(t *testing.T) {
			b := newBacklog(t, func(c *Config) {
				c.Discipline = d
				c.BackpressureAge = dist.Duration(threshold)
			})
			var maxAge time.Duration
			offered, refused, dry := 0, 0, 0
			for now := time.Duration(0); now < run; now += time.Millisecond {
				if now%arrive == 0 {
					offered++
					if _, err := b.Enqueue(t0.Add(now), Message{Tenant: "t"}); errors.Is(err, ErrBackpressure) {
						refused++
					} else if err != nil {
						t.Fatalf("enqueue at %v: %v", now, err)
					}
				}
				if now%drain == 0 && now > 0 {
					if _, _, ok := b.Pop(t0.Add(now)); !ok && now > time.Second {
						dry++
					}
				}
				maxAge = max(maxAge, b.Stats(t0.Add(now)).OldestAge)
			}
			t.Logf("%s: %d of %d refused, largest oldest age %v (threshold %v)", d, refused, offered, maxAge, threshold)
			if limit := threshold * 12 / 10; maxAge > limit {
				t.Errorf("largest oldest age %v, want ≤ threshold × 1.2 = %v", maxAge, limit)
			}
			if dry > 0 {
				t.Errorf("the queue ran dry %d times after the first second: backpressure refused work the drain could serve", dry)
			}
			// The drain serves 1 in 2.5 offered: about 60% must be refused.
			if lo, hi := offered/2, offered*7/10; refused < lo || refused > hi {
				t.Errorf("%d of %d refused, want %d..%d", refused, offered, lo, hi)
			}
		})
	}
}

func TestSurgeLaneServedLast(t *testing.T) {
	b := newBacklog(t, func(c *Config) { c.Capacity = 2; c.SurgeCapacity = 1 })
	mustEnqueue(t, b, at(0), "t", "a")
	mustEnqueue(t, b, at(1), "t", "b")
	mustEnqueue(t, b, at(2), "t", "surge")
	if _, err := b.Enqueue(at(3), Message{Tenant: "t"}); !errors.Is(err, ErrFull) {
		t.Fatalf("enqueue beyond surge capacity: err = %v, want ErrFull", err)
	}
	if st := b.Stats(at(3)); st.SurgeDepth != 1 || st.Depth != 3 || st.Counters.Full != 1 {
		t.Errorf("stats = %+v, want surge depth 1, depth 3, full 1", st)
	}
	b.Pop(at(4)) // a: the normal lanes have room again
	mustEnqueue(t, b, at(5), "t", "c")
	want := []string{"b:delivered", "c:delivered", "surge:delivered"}
	if got := popAll(b, at(6)); !equal(got, want) {
		t.Errorf("pops = %v, want %v", got, want)
	}
}

func TestShuffleShardingShortestAndRoundRobin(t *testing.T) {
	b := newBacklog(t, func(c *Config) { c.Queues = 8; c.ShardSize = 2; c.Seed = 7 })
	shard := ShardOf(7, "hot", 8, 2, nil)
	for i := range 10 {
		mustEnqueue(t, b, at(i), "hot", fmt.Sprint("hot", i))
	}
	st := b.Stats(at(10))
	for q, qs := range st.Queues {
		d := qs.Depth[LaneFresh]
		inShard := q == shard[0] || q == shard[1]
		if inShard && d != 5 || !inShard && d != 0 {
			t.Errorf("queue %d depth %d (hot tenant's queues %v): want 5 in each of its queues, 0 elsewhere", q, d, shard)
		}
	}
	// A tenant with no queue in common with "hot".
	var cold string
	var coldShard []int
	for i := 0; cold == ""; i++ {
		name := fmt.Sprint("cold", i)
		s := ShardOf(7, name, 8, 2, nil)
		if s[0] != shard[0] && s[0] != shard[1] && s[1] != shard[0] && s[1] != shard[1] {
			cold, coldShard = name, s
		}
	}
	mustEnqueue(t, b, at(10), cold, "cold")
	// Round robin over the three non-empty queues: the cold message comes
	// within the first three pops despite ten hot messages queued before it.
	var first []string
	for range 3 {
		m, _, _ := b.Pop(at(11))
		first = append(first, m.Body)
	}
	found := false
	for _, body := range first {
		found = found || body == "cold"
	}
	if !found {
		t.Errorf("first three pops %v (cold queues %v, hot %v): want the cold message among them", first, coldShard, shard)
	}
}

func TestFailDeadLetters(t *testing.T) {
	b := newBacklog(t, func(c *Config) { c.DeadLetterCapacity = 2 })
	for i := range 3 {
		if v := b.Fail(Message{ID: uint64(i)}); v != DeadLettered {
			t.Errorf("Fail = %v, want dead_lettered", v)
		}
	}
	st := b.Stats(at(0))
	if st.DeadLetterDepth != 2 || st.Counters.DeadLettered != 3 || st.Counters.DeadLetterOverrun != 1 {
		t.Errorf("stats %+v: want depth 2, dead-lettered 3, overrun 1", st)
	}
	nodlq := newBacklog(t, func(c *Config) { c.DeadLetterCapacity = 0 })
	if v := nodlq.Fail(Message{}); v != Dropped {
		t.Errorf("Fail without dead-letter queue = %v, want dropped", v)
	}
}

func TestStatsOldestAge(t *testing.T) {
	b := newBacklog(t, func(c *Config) { c.Discipline = LIFO })
	if st := b.Stats(at(0)); st.OldestAge != 0 || st.Depth != 0 {
		t.Fatalf("empty stats = %+v", st)
	}
	mustEnqueue(t, b, at(100), "t", "a")
	mustEnqueue(t, b, at(200), "t", "b")
	if got := b.Stats(at(1000)).OldestAge; got != 900*time.Millisecond {
		t.Errorf("oldest age = %v, want 900ms", got)
	}
}

func TestShardOfStableAndDistinct(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{8, 2}, {100, 5}, {16, 16}, {1, 1}} {
		for i := range 200 {
			tenant := fmt.Sprint("t", i)
			a := ShardOf(3, tenant, tc.n, tc.k, nil)
			b := ShardOf(3, tenant, tc.n, tc.k, make([]int, 0, tc.k))
			if !equal(toStrings(a), toStrings(b)) {
				t.Fatalf("ShardOf not stable: %v vs %v", a, b)
			}
			seen := map[int]bool{}
			for _, q := range a {
				if q < 0 || q >= tc.n || seen[q] {
					t.Fatalf("ShardOf(n=%d,k=%d) = %v: want %d distinct queues in range", tc.n, tc.k, a, tc.k)
				}
				seen[q] = true
			}
		}
	}
	if a, b := ShardOf(1, "x", 100, 5, nil), ShardOf(2, "x", 100, 5, nil); equal(toStrings(a), toStrings(b)) {
		t.Errorf("seeds 1 and 2 gave the same shard %v", a)
	}
}

func toStrings(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprint(x)
	}
	return out
}

func TestOverlapExactMatchesMeasured(t *testing.T) {
	tests := []struct {
		n, k  int
		exact []float64 // from the talk: 8 queues/2 → 53.6/42.8/3.6 %
	}{
		{8, 2, []float64{0.5357, 0.4286, 0.0357}},
		{100, 5, []float64{0.7696, 0.2114, 0.0183, 0.0006, 0, 0}},
	}
	for _, tt := range tests {
		exact := ExactOverlap(tt.n, tt.k)
		measured := MeasuredOverlap(1, tt.n, tt.k, 1500)
		sum := 0.0
		for s := range exact {
			sum += exact[s]
			if math.Abs(exact[s]-tt.exact[s]) > 0.0005 {
				t.Errorf("N=%d K=%d exact[%d] = %.4f, want %.4f", tt.n, tt.k, s, exact[s], tt.exact[s])
			}
			if math.Abs(measured[s]-exact[s]) > 0.01 {
				t.Errorf("N=%d K=%d measured[%d] = %.4f, exact %.4f: the assignment is not uniform", tt.n, tt.k, s, measured[s], exact[s])
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("N=%d K=%d exact sums to %v", tt.n, tt.k, sum)
		}
	}
}
