package workload

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/results"
)

func TestShardedRunnersPlayTheUnshardedScheduleExactly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	start := time.Now().Add(100 * time.Millisecond)
	var wg sync.WaitGroup
	sinks := make([]memSink, 4)
	for i := range 4 {
		cfg := constantConfig(srv.URL, 200, time.Second)
		cfg.Shard = Shard{Index: i, Count: 4}
		cfg.Start = start
		cfg.Tenants = Tenants{Count: 50, Zipf: 1.1}
		r := newRunner(t, cfg)
		wg.Go(func() {
			if err := r.Run(context.Background(), &sinks[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var union []time.Duration
	ids := map[uint64]bool{}
	for i := range sinks {
		for _, r := range sinks[i].results() {
			if ids[r.RequestID] {
				t.Fatalf("request id %d on two shards", r.RequestID)
			}
			ids[r.RequestID] = true
			union = append(union, r.Intended)
		}
	}
	slices.Sort(union)
	full := IntendedStarts(constantConfig(srv.URL, 200, time.Second).Schedule, ArrivalUniform, 1, Shard{})
	if !slices.Equal(union, full) {
		t.Fatalf("union of 4 shards: %d intended starts, unsharded %d, or they differ", len(union), len(full))
	}
}

func TestProgressPrintsALineEveryPeriodOffATerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 10, 12*time.Second)
		cfg.Client = pc.Client
		r := newRunner(t, cfg)
		live := NewLive(time.Second)
		var out bytes.Buffer
		p := &Progress{W: &out, Every: 5 * time.Second, Total: 12 * time.Second, Runner: r, Live: live}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { p.Run(ctx) })
		err := NewStream(nil, live, 0).Serve(func(s Recorder) error { return r.Run(context.Background(), s) })
		stop()
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "5s/12s  offered 10/s  achieved 10/s  goodput 10/s") || !strings.Contains(lines[1], "errors 0") {
			t.Fatalf("progress output:\n%s", out.String())
		}
	})
}

func TestALateShardDropsWhatItMissedInsteadOfBursting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pc := newPipeClient(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer pc.Close()
		cfg := constantConfig("http://svc/", 100, 2*time.Second)
		cfg.Client = pc.Client
		cfg.Start = time.Now().Add(-time.Second) // the agreed instant has passed
		var sink memSink
		if err := newRunner(t, cfg).Run(context.Background(), &sink); err != nil {
			t.Fatal(err)
		}
		tl := count(t, sink.results())
		if tl.requests != 200 || tl.finals[results.OutcomeGeneratorDropped] != 100 || tl.finals[results.OutcomeOK] != 100 {
			t.Fatalf("finals %v, want 100 dropped (the first second) and 100 ok", tl.finals)
		}
		if sink.events[0].Kind != results.EventNote || sink.events[0].Name != "late start" {
			t.Fatalf("events %+v", sink.events)
		}
	})
}
