package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target/backlog"
)

// The two remaining queue experiments of issue 5, shortened, as real
// target and loadgen processes: shuffle-sharding isolates a hot tenant,
// and backpressure bounds the age of the backlog by refusing producers.

// hotTenant is the X-Tenant of the hot producer; the others are loadgen's
// t0…t7.
const (
	hotTenant   = "hot"
	coldTenants = 8
	// coldRate is each cold tenant's rate; the hot one sends 10× that.
	coldRate = 15
	// hotSeconds is the length of the shuffle-sharding runs.
	hotSeconds = 5
)

// tenantAges is a run of the shuffle-sharding experiment: the delivery
// ages of each tenant's messages, and the generators' lag.
type tenantAges struct {
	ages   map[string][]time.Duration
	lagP99 float64
}

// p99 returns the 99th percentile of the delivery ages of the given
// tenants together, in ms.
func (r tenantAges) p99(tenants ...string) float64 {
	var all []time.Duration
	for _, t := range tenants {
		all = append(all, r.ages[t]...)
	}
	if len(all) == 0 {
		return math.NaN()
	}
	slices.Sort(all)
	i := int(math.Ceil(0.99*float64(len(all)))) - 1
	return float64(all[i]) / float64(time.Millisecond)
}

// 8 queues, shard size 2, 8 consumers at 20–60 ms a message (200/s);
// eight tenants at 15/s and one hot tenant at 10× that: 270/s, more than
// the consumers can take. (Many consumers, each slow: a message of a quiet
// queue then waits little for the next free consumer, beside the 20–60 ms of
// its own processing that the run without a hot tenant shows too; and
// the spread keeps the consumers from freeing up in lockstep, which would
// make a message wait a whole processing time for the next one.) With one
// FIFO queue, every tenant's messages wait behind the hot tenant's
// backlog, far beyond three times the delivery age p99 of the run where
// the hot tenant sends like everyone else. With shuffle-sharding the hot
// tenant fills only its own two queues: the tenants that share neither of
// them keep their p99 within 3× of that run's. (A tenant's p99 is about
// the slowest of its 60–90 messages: with a build running beside the
// test, isolated tenants reached 127–146 ms against a base of 60 ms,
// while one FIFO queue gave 1,950 ms; 3× keeps the test to the ten-fold
// difference it is about.) (base: the hot tenant sends at
// everyone's rate; hot: 8 queues and the hot tenant; fifo: one queue and
// the hot tenant; all three at once.)
func TestEndToEndBacklogShuffleSharding(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	sharded := []string{"--queues", "8", "--shard-size", "2"}
	seed := queueSeed(t, sharded...)
	hotShard := backlog.ShardOf(seed, hotTenant, 8, 2, nil)
	var isolated, all []string
	for i := range coldTenants {
		name := "t" + itoa(i)
		all = append(all, name)
		shard := backlog.ShardOf(seed, name, 8, 2, nil)
		if !slices.ContainsFunc(shard, func(q int) bool { return slices.Contains(hotShard, q) }) {
			isolated = append(isolated, name)
		}
	}
	t.Logf("queue seed %d: %s uses queues %v; tenants sharing neither: %v", seed, hotTenant, hotShard, isolated)
	require.NotEmpty(t, isolated, "with this seed every tenant shares a queue with the hot one: the experiment needs another hot tenant name")

	body := filepath.Join(t.TempDir(), "msg.json")
	require.NoError(t, os.WriteFile(body, []byte(`{"room":"lobby","body":"hello"}`), 0o644))
	// The three runs share the machine at once: the comparison of base
	// and hot is between runs under the same load.
	var mu sync.Mutex
	runs := map[string]tenantAges{}
	t.Run("runs", func(t *testing.T) {
		for _, r := range []struct {
			name      string
			hotFactor int
			args      []string
		}{
			{"base", 1, sharded},
			{"hot", 10, sharded},
			{"fifo", 10, []string{"--queues", "1", "--shard-size", "1"}},
		} {
			t.Run(r.name, func(t *testing.T) {
				t.Parallel()
				ages := measureTenants(t, r.name, body, r.hotFactor, r.args...)
				mu.Lock()
				defer mu.Unlock()
				runs[r.name] = ages
			})
		}
	})
	if t.Failed() {
		return
	}
	base, hot, fifo := runs["base"], runs["hot"], runs["fifo"]

	limit := 3 * base.p99(all...)
	t.Logf("delivery age p99: %.1f ms without a hot tenant (limit %.1f ms); with it: sharded isolated %.1f ms, sharded all cold %.1f ms, one FIFO queue %.1f ms",
		base.p99(all...), limit, hot.p99(isolated...), hot.p99(all...), fifo.p99(all...))
	for _, name := range all {
		t.Logf("%s: %d messages, p99 %.1f ms without a hot tenant, %.1f ms sharded, %.1f ms one FIFO queue",
			name, len(hot.ages[name]), base.p99(name), hot.p99(name), fifo.p99(name))
	}
	for _, name := range isolated {
		assert.LessOrEqual(t, hot.p99(name), limit, "%s shares no queue with the hot tenant: its p99 stays within 3× of the run without one", name)
	}
	for _, name := range all {
		assert.Greater(t, fifo.p99(name), limit, "%s: with one shared FIFO queue the hot tenant's backlog delays everyone", name)
	}
}

// queueSeed reads the tenant-to-queues seed the target resolves for args.
func queueSeed(t *testing.T, args ...string) uint64 {
	t.Helper()
	bin, _ := binaries(t)
	var cfg struct {
		Messages struct {
			Queue struct {
				Seed uint64 `yaml:"seed"`
			} `yaml:"queue"`
		} `yaml:"messages"`
	}
	require.NoError(t, yaml.Unmarshal(runBin(t, bin, append([]string{"--print-config"}, args...)...), &cfg))
	return cfg.Messages.Queue.Seed
}

// measureTenants runs attackTenants until the generators kept their
// schedule, at most measureRetries times.
func measureTenants(t *testing.T, name, body string, hotFactor int, targetArgs ...string) tenantAges {
	t.Helper()
	var lag float64
	for attempt := 1; attempt <= measureRetries; attempt++ {
		r := attackTenants(t, body, hotFactor, targetArgs...)
		if lag = r.lagP99; lag <= busyLagMs {
			return r
		}
		t.Logf("%s: attempt %d: generator lag p99 %.0f ms: the machine is too busy, measuring again", name, attempt, lag)
	}
	t.Fatalf("%s: the machine stayed too busy to measure (generator lag p99 %.0f ms)", name, lag)
	return tenantAges{}
}

// attackTenants starts a target with 8 consumers at 20–60 ms a message and
// the given flags and runs two loadgen attacks at once: eight tenants at
// coldRate each, recorded with a delivery sink, and the hot tenant at
// hotFactor × coldRate. One sink receives every delivery (the target has
// one delivery URL), so the hot attack's request ids must not be the cold
// one's: it sends its own id on another header and X-Request-Id
// "1000000{seq}", above any cold id, which the sink records as unmatched
// deliveries (with the tenant and age the target reports) instead of
// mistaking them for cold ones. It returns the delivery ages of each
// tenant, read from the cold attack's results.
func attackTenants(t *testing.T, body string, hotFactor int, targetArgs ...string) tenantAges {
	t.Helper()
	_, loadgen := binaries(t)
	api, admin := startTarget(t, append([]string{"--consumers", "8", "--db-pool", "16", "--db-latency", "uniform:20ms-60ms"}, targetArgs...)...)
	dir := t.TempDir()
	cold, hot := filepath.Join(dir, "cold.mpk"), filepath.Join(dir, "hot.mpk")
	common := []string{"attack", "--url", api + "/api/messages", "--method", "POST", "--body-file", body,
		"--duration", itoa(hotSeconds) + "s", "--timeout", "2s", "--max-attempts", "1", "--seed", "7", "--quiet",
		"--header", "Content-Type:application/json"}
	var wg sync.WaitGroup
	wg.Go(func() {
		runBin(t, loadgen, append(common, "--rate", itoa(hotFactor*coldRate), "--header", "X-Tenant:"+hotTenant,
			"--wire-header", "request-id=X-Hot-Request-Id", "--header", "X-Request-Id:1000000{seq}", "-o", hot)...)
	})
	runBin(t, loadgen, append(common, "--rate", itoa(coldTenants*coldRate),
		"--tenants", itoa(coldTenants), "-o", cold,
		"--sink", "127.0.0.1:0", "--sink-grace", "15s", "--target-admin", admin)...)
	wg.Wait()

	r := tenantAges{ages: map[string][]time.Duration{}}
	for _, out := range []string{cold, hot} {
		var s messagesSummary
		require.NoError(t, json.Unmarshal(runBin(t, loadgen, "report", "--format", "json", out), &s))
		require.Zero(t, s.Generator.Dropped, "the generator hit its in-flight cap")
		require.Equal(t, s.Requests, s.Outcomes["ok"], "every message accepted: %v", nonZero(s.Outcomes))
		r.lagP99 = max(r.lagP99, s.Generator.LagP99MS)
		if out == cold {
			require.NotNil(t, s.Delivery)
			require.Zero(t, s.Delivery.Undelivered, "every cold message delivered within the grace")
		}
	}
	f, err := os.Open(cold)
	require.NoError(t, err)
	defer f.Close()
	rd, err := results.NewReader(f)
	require.NoError(t, err)
	var res results.Result
	var ev results.Event
	for {
		kind, err := rd.Next(&res, &ev)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if kind == results.RecordResult && res.Outcome == results.OutcomeDelivered {
			r.ages[res.Tenant] = append(r.ages[res.Tenant], res.Age)
		}
	}
	for i := range coldTenants {
		require.NotEmpty(t, r.ages["t"+itoa(i)], "deliveries of tenant t%d recorded with their tenant", i)
	}
	return r
}

// One consumer at 10 ms a message (100/s) gets a sustained surge of 250
// messages/s for 3 s. Without backpressure the backlog, and the age of its
// oldest message, grow for the whole surge (seconds). With backpressure
// the target refuses producers (429 + Retry-After), which loadgen records
// as shed, and the oldest-message age (sampled from /metrics throughout)
// stays bounded:
//   - --backpressure-depth 30 (30 messages, 300 ms of work): under the
//     300 ms that depth means (plus one message's processing);
//   - --backpressure-age 300ms: a message is refused when the oldest
//     message is 300 ms old or when its own predicted wait (messages ahead
//     × the queue's measured drain interval) exceeds 300 ms, so the
//     oldest-message age stays near the threshold too (under 1.5 × it),
//     not threshold × offered / capacity as an oldest-age check alone.
//
// The three run at once, each its own target and loadgen.
func TestEndToEndBacklogBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	const threshold = 300 * time.Millisecond
	body := filepath.Join(t.TempDir(), "msg.json")
	require.NoError(t, os.WriteFile(body, []byte(`{"tenant":"t0","room":"lobby","body":"hello"}`), 0o644))
	var mu sync.Mutex
	results := map[string]messagesSummary{}
	oldest := map[string]float64{} // ms
	t.Run("variants", func(t *testing.T) {
		for _, v := range []struct {
			name string
			args []string
		}{
			{"none", nil},
			{"depth", []string{"--backpressure-depth", "30"}},
			{"age", []string{"--backpressure-age", threshold.String()}},
		} {
			t.Run(v.name, func(t *testing.T) {
				t.Parallel()
				var s messagesSummary
				var age, lag float64
				for attempt := 1; attempt <= measureRetries; attempt++ {
					s, age = attackSurge(t, body, v.args...)
					if lag = s.Generator.LagP99MS; lag <= busyLagMs {
						break
					}
					t.Logf("%s: attempt %d: generator lag p99 %.0f ms: the machine is too busy, measuring again", v.name, attempt, lag)
				}
				require.LessOrEqual(t, lag, busyLagMs, "%s: the machine stayed too busy to measure", v.name)
				mu.Lock()
				defer mu.Unlock()
				results[v.name], oldest[v.name] = s, 1000*age
			})
		}
	})
	if t.Failed() {
		return
	}
	for _, name := range []string{"none", "depth", "age"} {
		s := results[name]
		d := s.Delivery
		t.Logf("%s: %d requests, outcomes %v, delivered %d, undelivered %d, delivery age p50 %.0f ms p99 %.0f ms max %.0f ms, largest oldest-message age %.0f ms, generator lag p99 %.0f ms",
			name, s.Requests, nonZero(s.Outcomes), d.Delivered, d.Undelivered, d.AgeMS.P50, d.AgeMS.P99, d.AgeMS.Max, oldest[name], s.Generator.LagP99MS)
		assert.Zero(t, d.Undelivered, "%s: every accepted message delivered within the grace", name)
		assert.EqualValues(t, s.Outcomes["ok"], d.Delivered, name)
	}
	ms := float64(threshold / time.Millisecond)
	assert.Zero(t, results["none"].Outcomes["shed"], "without backpressure every message is accepted")
	assert.Greater(t, oldest["none"], 4*ms, "without backpressure the backlog's oldest message grows far past the threshold")
	assert.Greater(t, results["none"].Delivery.AgeMS.Max, 4*ms)

	assert.Less(t, oldest["depth"], 1.5*ms, "depth backpressure: the oldest message stays under the threshold its depth means")
	assert.Less(t, results["depth"].Delivery.AgeMS.Max, 1.5*ms, "depth backpressure: no message is delivered much older than that")
	assert.Less(t, oldest["age"], 1.5*ms, "age backpressure: predicting each message's wait keeps the oldest message under the threshold too")
	for _, name := range []string{"depth", "age"} {
		s := results[name]
		shed := float64(s.Outcomes["shed"]) / float64(s.Requests)
		assert.Greater(t, shed, 0.3, "%s: the excess over the consumer's capacity is refused with 429, recorded as shed", name)
		assert.Less(t, shed, 0.9, "%s: about the consumer's capacity is still accepted", name)
		assert.Less(t, 4*oldest[name], oldest["none"], "%s: the backlog's age is a fraction of the run without backpressure", name)
	}
}

// attackSurge starts a target with one consumer at 10 ms a message and the
// given flags, runs 3 s at 250 messages/s against it with a delivery sink,
// and returns loadgen's JSON report and the largest oldest-message age
// (seconds) the target's /metrics showed, sampled every 50 ms during the
// attack.
func attackSurge(t *testing.T, body string, targetArgs ...string) (messagesSummary, float64) {
	t.Helper()
	_, loadgen := binaries(t)
	api, admin := startTarget(t, append([]string{"--consumers", "1", "--db-latency", "10ms"}, targetArgs...)...)
	out := filepath.Join(t.TempDir(), "results.mpk")
	done := make(chan struct{})
	sampled := make(chan oldestSample, 1)
	go func() { sampled <- sampleOldest(admin, done) }()
	runBin(t, loadgen, "attack", "--url", api+"/api/messages", "--method", "POST", "--body-file", body,
		"--rate", "250", "--duration", "3s", "--timeout", "2s", "--max-attempts", "1",
		"--seed", "7", "--quiet", "-o", out, "--sink", "127.0.0.1:0", "--sink-grace", "15s", "--target-admin", admin)
	close(done)
	o := <-sampled
	require.NoError(t, o.err, "sampling the oldest-message age")
	require.Positive(t, o.samples, "the oldest-message age was sampled")
	var s messagesSummary
	require.NoError(t, json.Unmarshal(runBin(t, loadgen, "report", "--format", "json", out), &s))
	require.NotNil(t, s.Delivery, "the report has a delivery section")
	rejected := metric(t, admin, `goodput_backlog_rejected_total{reason="backpressure"}`)
	require.EqualValues(t, s.Outcomes["shed"], rejected, "every 429 of the backpressure is a shed record")
	return s, o.max
}

// oldestSample is what sampleOldest saw.
type oldestSample struct {
	max     float64 // the largest oldest-message age, seconds
	samples int
	err     error
}

// oldestSeries is the oldest-message age gauge of the target's one queue.
const oldestSeries = `goodput_backlog_oldest_age_seconds{queue="0"} `

// sampleOldest reads the target's oldest-message age from /metrics every
// 50 ms until done is closed.
func sampleOldest(admin string, done <-chan struct{}) oldestSample {
	var o oldestSample
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return o
		case <-tick.C:
		}
		v, err := scrape(admin, oldestSeries)
		if err != nil {
			o.err = err
			return o
		}
		o.max = max(o.max, v)
		o.samples++
	}
}

// scrape reads one sample (series ends with a space) of the target's
// /metrics; unlike metric it may run outside the test's goroutine.
func scrape(admin, series string) (float64, error) {
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		return 0, fmt.Errorf("get metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				return 0, fmt.Errorf("metric %s: %w", series, err)
			}
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, fmt.Errorf("metric %snot found", series)
}
