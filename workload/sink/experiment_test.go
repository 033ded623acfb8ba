package sink_test

// The experiments of issue 5, shortened: a backlog.Service on 127.0.0.1
// delivering to a Sink, driven open-loop by a small in-test pacer. They
// assert orderings and generous ratios, not exact timings.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target/backlog"
	"github.com/goodput-dev/goodput/workload/sink"
)

// send is one message of a schedule: when it is due and for whom.
type send struct {
	at     time.Duration
	tenant string
}

// uniform returns rate·dur sends for tenant, evenly spaced from from.
func uniform(from, dur time.Duration, rate float64, tenant string) []send {
	n := int(rate * dur.Seconds())
	out := make([]send, n)
	for i := range out {
		out[i] = send{at: from + time.Duration(float64(i)/rate*float64(time.Second)), tenant: tenant}
	}
	return out
}

func schedule(parts ...[]send) []send {
	all := slices.Concat(parts...)
	slices.SortStableFunc(all, func(a, b send) int { return int(a.at - b.at) })
	return all
}

// work is a consumer's processing time: a timer, cut short by ctx.
func work(d time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// rig is a backlog.Service delivering to a Sink, both on 127.0.0.1.
type rig struct {
	svc   *backlog.Service
	sink  *sink.Sink
	rec   *records
	url   string
	start time.Time
}

func newRig(t *testing.T, cfg backlog.Config, consumers int, proc time.Duration) *rig {
	t.Helper()
	start := time.Now()
	s, rec := startSink(t, start, nil)
	cfg.DeliverTo = s.URL()
	svc, err := backlog.NewService(cfg, backlog.Options{Consumers: consumers, Process: work(proc)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service Run: %v", err)
		}
		ts.Close()
	})
	return &rig{svc: svc, sink: s, rec: rec, url: ts.URL + "/api/messages", start: start}
}

// drive sends the schedule open-loop (each message at start + at, whatever
// the service does), registers each 202 with the sink and returns how many
// were shed (429).
func (r *rig) drive(t *testing.T, sched []send) (shed int) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	var shedN atomic.Int64
	sem := make(chan struct{}, 64)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i, s := range sched {
		if d := time.Until(r.start.Add(s.at)); d > 0 {
			timer.Reset(d)
			<-timer.C
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			id := uint64(i + 1)
			req, err := http.NewRequest(http.MethodPost, r.url, strings.NewReader(`{"room":"lobby","body":"hi"}`))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("X-Request-Id", strconv.FormatUint(id, 10))
			req.Header.Set("X-Tenant", s.tenant)
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("POST message %d: %v", id, err)
				return
			}
			resp.Body.Close()
			// What a runner's recording sink would see, passed to the sink
			// as the lead's wrapper does: 202s register, the rest are ignored.
			r.sink.Observe(&results.Result{RequestID: id, Attempt: 1, Final: true, Route: "messages", Tenant: s.tenant, Intended: s.at, Status: uint16(resp.StatusCode)})
			switch resp.StatusCode {
			case http.StatusAccepted:
			case http.StatusTooManyRequests:
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("message %d: 429 without Retry-After", id)
				}
				shedN.Add(1)
			default:
				t.Errorf("message %d: status %d", id, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	return int(shedN.Load())
}

// ages returns the delivery ages of delivered records whose intended start
// is in [from, to) and whose tenant passes keep (nil keeps all), sorted.
func ages(rs []results.Result, from, to time.Duration, keep func(string) bool) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		if r.Outcome == results.OutcomeDelivered && r.Intended >= from && r.Intended < to && (keep == nil || keep(r.Tenant)) {
			out = append(out, r.Age)
		}
	}
	slices.Sort(out)
	return out
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// Surge schedule: 25/s for 0.6 s, 500/s for 0.4 s (5× the 100/s of 4
// consumers × 40 ms), then 25/s for 1 s. Baseline = messages before the
// surge; post = messages from 0.2 s after it (leaving the pacer time to
// catch up with the surge). Rates are low so that a loaded CI machine
// still keeps up; the exact bounds are in target/backlog's simulation.
const (
	surgeConsumers = 4
	surgeProc      = 40 * time.Millisecond
	surgeFrom      = 600 * time.Millisecond
	surgeTo        = 1000 * time.Millisecond
	postFrom       = 1200 * time.Millisecond
	postTo         = 2000 * time.Millisecond
)

func surgeSchedule() []send {
	return schedule(
		uniform(0, surgeFrom, 25, "t"),
		uniform(surgeFrom, surgeTo-surgeFrom, 500, "t"),
		uniform(surgeTo, postTo-surgeTo, 25, "t"),
	)
}

// surgeRun plays the surge against cfg and returns the records, the
// depth left when the last message was sent, and the sink's counts once
// everything was settled.
func surgeRun(t *testing.T, cfg backlog.Config) ([]results.Result, int, sink.Counts) {
	r := newRig(t, cfg, surgeConsumers, surgeProc)
	r.drive(t, surgeSchedule())
	depth := r.svc.Backlog().Stats(time.Now()).Depth
	counts := r.sink.Drain(context.Background(), 20*time.Second)
	return r.rec.snapshot(), depth, counts
}

func surgeConfig(d backlog.Discipline) backlog.Config {
	c := backlog.DefaultConfig()
	c.Discipline = d
	c.AgeThreshold = dist.Duration(100 * time.Millisecond)
	return c
}

func TestExperimentFIFOSurgeKeepsFreshMessagesLate(t *testing.T) {
	rs, _, counts := surgeRun(t, surgeConfig(backlog.FIFO))
	base := ages(rs, 0, surgeFrom, nil)
	post := ages(rs, postFrom, postTo, nil)
	t.Logf("FIFO: baseline p99 %v, post-surge p50 %v p99 %v, counts %+v", quantile(base, .99), quantile(post, .5), quantile(post, .99), counts)
	if counts.Undelivered != 0 || counts.Delivered != len(surgeSchedule()) {
		t.Fatalf("counts %+v: want every message delivered once the backlog drained", counts)
	}
	if p50, limit := quantile(post, .5), 5*quantile(base, .99); p50 < limit {
		t.Errorf("post-surge p50 age %v, want ≥ 5 × baseline p99 = %v: FIFO should keep fresh messages behind the backlog", p50, limit)
	}
	// Every post-surge message waits for the whole surge backlog: at most
	// a consumer pool's worth of surge messages arrive after the first
	// post-surge one.
	var firstPost time.Duration = -1
	for _, r := range rs {
		if r.Intended >= postFrom && (firstPost < 0 || r.End < firstPost) {
			firstPost = r.End
		}
	}
	after := 0
	for _, r := range rs {
		if r.Intended >= surgeFrom && r.Intended < surgeTo && r.End > firstPost {
			after++
		}
	}
	if after > 2*surgeConsumers {
		t.Errorf("%d surge messages delivered after the first post-surge one, want ≤ %d", after, 2*surgeConsumers)
	}
}

func TestExperimentLIFOAndPriorityDeliverFreshMessagesFast(t *testing.T) {
	for _, d := range []backlog.Discipline{backlog.LIFO, backlog.Priority} {
		t.Run(d.String(), func(t *testing.T) {
			rs, depth, counts := surgeRun(t, surgeConfig(d))
			base := ages(rs, 0, surgeFrom, nil)
			post := ages(rs, postFrom, postTo, nil)
			bp99, pp50 := quantile(base, .99), quantile(post, .5)
			t.Logf("%v: baseline p99 %v, post-surge p50 %v p99 %v, depth at end of sending %d, counts %+v", d, bp99, pp50, quantile(post, .99), depth, counts)
			if counts.Undelivered != 0 || counts.Delivered != len(surgeSchedule()) {
				t.Fatalf("counts %+v: want every message delivered once the backlog drained", counts)
			}
			// Half the post-surge messages within 2 × the no-surge p99
			// (FIFO: 5× and more); the simulation checks the p99.
			if pp50 > 2*bp99 {
				t.Errorf("post-surge p50 age %v, want ≤ 2 × baseline p99 = %v", pp50, 2*bp99)
			}
			if depth < 30 {
				t.Errorf("backlog depth %d when sending ended, want ≥ 30: the backlog should still be draining behind fresh messages", depth)
			}
			// The backlog drained behind: surge messages were still being
			// delivered after the last post-surge one was.
			var lastPost, lastSurge time.Duration
			for _, r := range rs {
				if r.Intended >= surgeFrom && r.Intended < surgeTo {
					lastSurge = max(lastSurge, r.End)
				}
				if r.Intended >= postFrom {
					lastPost = max(lastPost, r.End)
				}
			}
			if lastSurge <= lastPost {
				t.Errorf("last surge message at %v, last post-surge one at %v: want the backlog to finish last", lastSurge, lastPost)
			}
		})
	}
}

func TestExperimentTTLShedsBacklog(t *testing.T) {
	const ttl = 300 * time.Millisecond
	c := surgeConfig(backlog.FIFO)
	c.TTL = dist.Duration(ttl)
	rs, _, counts := surgeRun(t, c)
	all := ages(rs, 0, postTo, nil)
	t.Logf("TTL: delivered p50 %v max %v, counts %+v", quantile(all, .5), quantile(all, 1), counts)
	if counts.Expired < 50 {
		t.Errorf("expired %d, want ≥ 50 of the surge's backlog", counts.Expired)
	}
	if counts.Undelivered != 0 || counts.Expired+counts.Delivered != len(surgeSchedule()) {
		t.Errorf("counts %+v: want every message delivered or expired", counts)
	}
	// A consumer takes a message only while it is younger than its TTL.
	if limit := ttl + surgeProc + 300*time.Millisecond; quantile(all, 1) > limit {
		t.Errorf("max delivered age %v, want ≤ TTL + processing + 300ms = %v", quantile(all, 1), limit)
	}
	for _, r := range rs {
		if r.Outcome == results.OutcomeExpired && r.Age <= ttl {
			t.Errorf("request %d expired at age %v ≤ TTL %v", r.RequestID, r.Age, ttl)
			break
		}
	}
}

func TestExperimentBackpressureBoundsOldestAge(t *testing.T) {
	const threshold = 300 * time.Millisecond
	c := backlog.DefaultConfig()
	// Both thresholds: the age one refuses on the predicted wait (see
	// Config.BackpressureAge); the depth one is 90% of what the consumers
	// serve in it (100/s × 300 ms).
	c.BackpressureAge = dist.Duration(threshold)
	c.BackpressureDepth = 27
	r := newRig(t, c, surgeConsumers, surgeProc)
	// A sustained surge at 2× capacity for 1.5 s.
	shed := r.drive(t, uniform(0, 1500*time.Millisecond, 200, "t"))
	counts := r.sink.Drain(context.Background(), 10*time.Second)
	all := ages(r.rec.snapshot(), 0, 2*time.Second, nil)
	t.Logf("backpressure: shed %d, delivered %d, delivered age p50 %v max %v, counts %+v", shed, len(all), quantile(all, .5), quantile(all, 1), counts)
	if shed < 50 {
		t.Errorf("shed %d, want ≥ 50 (about half of 300)", shed)
	}
	// Age at delivery = wait (bounded by the threshold) + processing; the
	// slack absorbs a loaded machine's slower consumers.
	if limit := threshold + surgeProc + 200*time.Millisecond; quantile(all, .99) > limit {
		t.Errorf("p99 delivered age %v, want ≤ threshold + processing + 200ms = %v", quantile(all, .99), limit)
	}
	if counts.Undelivered != 0 || counts.Delivered != len(all) {
		t.Errorf("counts %+v: want every accepted message delivered", counts)
	}
}

func TestExperimentShuffleShardingIsolatesHotTenant(t *testing.T) {
	// Seven normal tenants; pick the first seed that leaves at least three
	// of them sharing no queue with "hot" (53.6% each on average).
	var (
		seed   uint64
		normal []string
		apart  map[string]bool
	)
	for nApart := 0; nApart < 3; {
		seed++
		hot := backlog.ShardOf(seed, "hot", 8, 2, nil)
		normal, apart, nApart = nil, map[string]bool{}, 0
		for i := range 7 {
			name := fmt.Sprint("tenant-", i)
			s := backlog.ShardOf(seed, name, 8, 2, nil)
			if !slices.Contains(hot, s[0]) && !slices.Contains(hot, s[1]) {
				apart[name] = true
				nApart++
			}
			normal = append(normal, name)
		}
	}
	isApart := func(tenant string) bool { return apart[tenant] }

	// 16 consumers × 200 ms = 80/s. Normal tenants 6/s each (42/s); the
	// hot tenant at 10× (60/s) pushes the total to 102/s. Consumers serve
	// the non-empty queues round robin, so a normal queue waits for about
	// one round of pops, (2 hot + the other busy queues) / 80 per second:
	// a large pool keeps that round short against the 200 ms of work.
	const dur = 2 * time.Second
	load := func(withHot bool) []send {
		var parts [][]send
		for _, name := range normal {
			parts = append(parts, uniform(0, dur, 6, name))
		}
		if withHot {
			parts = append(parts, uniform(0, dur, 60, "hot"))
		}
		return schedule(parts...)
	}
	run := func(queues, shard int, withHot bool) (p50, p99 time.Duration) {
		c := backlog.DefaultConfig()
		c.Queues, c.ShardSize, c.Seed = queues, shard, seed
		r := newRig(t, c, 16, 200*time.Millisecond)
		r.drive(t, load(withHot))
		r.sink.Drain(context.Background(), 10*time.Second)
		a := ages(r.rec.snapshot(), 0, dur, isApart)
		return quantile(a, .5), quantile(a, .99)
	}
	base50, base99 := run(8, 2, false)
	shard50, shard99 := run(8, 2, true)
	single50, single99 := run(1, 1, true)
	t.Logf("seed %d: p50/p99 age of the %d tenants apart from the hot one: no hot tenant %v/%v, shuffle-sharded %v/%v, single FIFO queue %v/%v",
		seed, len(apart), base50, base99, shard50, shard99, single50, single99)
	// The bound is 2 × the no-hot-tenant p99 (exact in target/backlog's
	// simulation); here 100 ms of slack absorbs one scheduler stall among
	// the few dozen messages that make the p99.
	if limit := 2*base99 + 100*time.Millisecond; shard99 > limit {
		t.Errorf("shuffle-sharded p99 %v, want ≤ 2 × no-hot-tenant p99 + 100ms = %v", shard99, limit)
	}
	if shard50 > 2*base50 {
		t.Errorf("shuffle-sharded p50 %v, want ≤ 2 × no-hot-tenant p50 %v", shard50, 2*base50)
	}
	if single99 <= 2*base99 || single50 <= 2*base50 {
		t.Errorf("single-queue p50/p99 %v/%v, want > 2 × no-hot-tenant %v/%v: the hot tenant should delay everyone", single50, single99, base50, base99)
	}
}
