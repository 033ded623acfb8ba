package report

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// syntheticHeader is the header of syntheticRun.
func syntheticHeader() results.Header {
	return results.Header{
		Version:  results.FormatVersion,
		Tool:     "goodput/test",
		Host:     "gen-1",
		Start:    time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Seed:     7,
		Label:    "golden",
		Scenario: []byte(`{"name":"surge","target":"http://127.0.0.1:8080"}`),
		SLO:      100 * time.Millisecond,
		Phases: []results.PhaseInfo{
			{Name: "warmup", Offset: 0, Duration: 2 * time.Second, FromRPS: 50, ToRPS: 100},
			{Name: "steady", Offset: 2 * time.Second, Duration: 4 * time.Second, FromRPS: 100, ToRPS: 100},
			{Name: "surge", Offset: 6 * time.Second, Duration: 2 * time.Second, FromRPS: 300, ToRPS: 300},
			{Name: "recover", Offset: 8 * time.Second, Duration: 4 * time.Second, FromRPS: 100, ToRPS: 100},
		},
		Shard: results.ShardInfo{Index: 0, Count: 1},
	}
}

// syntheticRun generates a deterministic 12-second run: a warm-up ramp, a
// steady phase, a surge with a slow dependency (shed attempts retried,
// timeouts, drops) and a recovery, with tenants and Server-Timing.
func syntheticRun(seed uint64) (results.Header, []record) {
	h := syntheticHeader()
	rng := rand.New(rand.NewPCG(seed, 99))
	var recs []record
	ev := func(kind results.EventKind, at time.Duration, name, target string) {
		recs = append(recs, record{kind: results.RecordEvent, ev: results.Event{Kind: kind, At: at, Scheduled: at.Truncate(time.Second), Name: name, Target: target, Detail: "latency +80ms"}})
	}
	ev(results.EventPhaseStarted, 0, "warmup", "load")
	ev(results.EventFaultApplied, 6*time.Second+3*time.Millisecond, "slow-db", "db")
	ev(results.EventFaultRemoved, 8*time.Second+2*time.Millisecond, "slow-db", "db")
	tenants := []string{"acme", "acme", "acme", "globex", "globex", "initech", "umbrella"}
	var id uint64
	for pi, p := range h.Phases {
		for t := time.Duration(0); t < p.Duration; {
			rate := p.FromRPS + (p.ToRPS-p.FromRPS)*t.Seconds()/p.Duration.Seconds()
			intended := p.Offset + t
			t += time.Duration(float64(time.Second) / rate)
			id++
			base := results.Result{RequestID: id, Phase: uint16(pi), Route: "GET /items", Tenant: tenants[rng.IntN(len(tenants))], Intended: intended}
			if id%3 == 0 {
				base.Route = "POST /orders"
			}
			surge := p.Name == "surge"
			if surge && rng.IntN(50) == 0 {
				r := base
				r.Final, r.Start, r.End, r.Outcome = true, intended, intended, results.OutcomeGeneratorDropped
				recs = append(recs, record{kind: results.RecordResult, res: r})
				continue
			}
			start := intended + time.Duration(rng.IntN(2000))*time.Microsecond
			for attempt := uint16(1); ; attempt++ {
				r := base
				r.Attempt, r.Start = attempt, start
				lat := time.Duration((5 + 20*rng.ExpFloat64()) * float64(time.Millisecond))
				if surge {
					lat += 80 * time.Millisecond
				}
				r.End, r.Status, r.Outcome, r.BytesIn = start+lat, 200, results.OutcomeOK, 512
				r.Timing = results.ServerTiming{Queue: lat / 5, App: lat / 5, Dep: lat / 2}
				switch x := rng.IntN(100); {
				case surge && x < 25 && attempt < 3:
					r.End, r.Status, r.Outcome, r.BytesIn = start+time.Millisecond, 503, results.OutcomeShed, 0
					r.Timing = results.ServerTiming{Queue: time.Millisecond / 2}
				case surge && x < 30:
					r.End, r.Status, r.Outcome, r.BytesIn = start+250*time.Millisecond, 0, results.OutcomeClientTimeout, 0
					r.Timing = results.ServerTiming{}
				case x == 99:
					r.Status, r.Outcome = 500, results.OutcomeServerError
				}
				r.Final = r.Outcome != results.OutcomeShed
				recs = append(recs, record{kind: results.RecordResult, res: r})
				if r.Final {
					break
				}
				start = r.End + 20*time.Millisecond
			}
		}
	}
	ev(results.EventNote, 12*time.Second, "done", "")
	return h, recs
}

// syntheticFile returns syntheticRun(seed) encoded as a results stream.
func syntheticFile(t testing.TB, seed uint64) []byte {
	t.Helper()
	h, recs := syntheticRun(seed)
	data, _ := encodeStream(t, h, recs)
	return data
}

// aggregate feeds streams to one aggregator and returns its summary.
func aggregate(t testing.TB, opts Options, streams ...[]byte) *Summary {
	t.Helper()
	a := NewAggregator(opts)
	for _, data := range streams {
		rd, err := results.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.AddHeader(rd.Header()); err != nil {
			t.Fatal(err)
		}
		if err := ReadInto(context.Background(), a, rd); err != nil {
			t.Fatal(err)
		}
	}
	return a.Summary()
}
