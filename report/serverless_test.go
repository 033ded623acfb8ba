package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// functionRun is a 4 s run against a function platform in two phases:
// "quiet" (10 requests/s, the first one cold, the others warm) and
// "surge" (20/s: every fourth attempt throttled, 4 for scaling and 6 for
// the account, and half of the others cold). Warm attempts take 50 ms,
// cold ones 300 ms of which 250 ms are init.
func functionRun() (results.Header, []results.Result) {
	h := results.Header{Version: results.FormatVersion, Label: "fn", Seed: 1, SLO: time.Second, Phases: []results.PhaseInfo{
		{Name: "quiet", Offset: 0, Duration: 2 * time.Second, FromRPS: 10, ToRPS: 10},
		{Name: "surge", Offset: 2 * time.Second, Duration: 2 * time.Second, FromRPS: 20, ToRPS: 20},
	}}
	var recs []results.Result
	add := func(phase uint16, intended time.Duration, cold bool, throttle string) {
		r := results.Result{RequestID: uint64(len(recs) + 1), Attempt: 1, Final: true, Phase: phase, Route: "POST /fn/work",
			Intended: intended, Start: intended, End: intended + 50*time.Millisecond, Status: 200,
			Timing: results.ServerTiming{App: 50 * time.Millisecond}}
		switch {
		case throttle != "":
			r.End, r.Status, r.Outcome, r.Throttle, r.Timing = intended+time.Millisecond, 429, results.OutcomeShed, throttle, results.ServerTiming{}
		case cold:
			r.End, r.Timing.Init = intended+300*time.Millisecond, 250*time.Millisecond
		}
		recs = append(recs, r)
	}
	for i := range 20 {
		add(0, time.Duration(i)*100*time.Millisecond, i == 0, "")
	}
	for j := range 40 {
		throttle := ""
		if j%4 == 0 {
			throttle = "account"
			if j < 16 {
				throttle = "scaling"
			}
		}
		add(1, 2*time.Second+time.Duration(j)*50*time.Millisecond, j%4 == 1 || j%4 == 2 && j < 20, throttle)
	}
	return h, recs
}

func summarise(t *testing.T, h results.Header, recs []results.Result) *Summary {
	t.Helper()
	a := NewAggregator(Options{})
	if err := a.AddHeader(h); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		a.AddResult(&recs[i])
	}
	return a.Summary()
}

func TestColdStartsThrottlesAndConcurrency(t *testing.T) {
	h, recs := functionRun()
	s := summarise(t, h, recs)
	if c := s.ColdStarts; c == nil || c.Count != 16 || !near(c.Ratio, 16.0/50) {
		t.Fatalf("cold_starts %+v, want 16 of the 50 attempts that ran", c)
	}
	if got, want := fmt.Sprint(s.Throttles), "map[account:6 scaling:4]"; got != want {
		t.Errorf("throttles %s, want %s", got, want)
	}
	if p := s.Phases; len(p) != 2 || !near(p[0].ColdRatio, 1.0/20) || !near(p[1].ColdRatio, 15.0/30) {
		t.Errorf("phase cold ratios %v, %v; want 0.05 and 0.5", p[0].ColdRatio, p[1].ColdRatio)
	}
	wantCold := []float64{1.0 / 10, 0, 10.0 / 15, 5.0 / 15, 0} // window 4: the last attempts end
	for i, w := range s.Windows {
		if i >= len(wantCold) || !near(w.ColdRatio, wantCold[i]) {
			t.Errorf("window %d cold ratio %v, want %v (of %d windows)", i, w.ColdRatio, wantCold, len(s.Windows))
		}
	}
	// Window 0: one 300 ms and nine 50 ms attempts ended; window 1: ten of 50 ms.
	if c0, c1 := s.Windows[0].Concurrency, s.Windows[1].Concurrency; !near(c0, 0.75) || !near(c1, 0.5) {
		t.Errorf("concurrency %v, %v; want 0.75 and 0.5", c0, c1)
	}
	if l := s.LatencyCold; l == nil || !near(l.P50, 300) || !near(l.Max, 300) {
		t.Errorf("latency_cold_ms %+v, want 300 ms", l)
	}
	if l := s.LatencyWarm; l == nil || !near(l.P99, 50) {
		t.Errorf("latency_warm_ms %+v, want 50 ms", l)
	}
	if st := s.ServerTiming; st == nil || st.Attempts != 50 || !near(st.Init, 16*250.0/50) {
		t.Errorf("server_timing_ms %+v, want init mean 80 ms over 50 attempts", st)
	}
	figs := PhaseFigures(s)
	if figs["surge"]["cold_ratio"] != 0.5 || FiguresOf(s)["cold_ratio"] != s.ColdStarts.Ratio {
		t.Errorf("cold_ratio figures: surge %v, run %v", figs["surge"]["cold_ratio"], FiguresOf(s)["cold_ratio"])
	}

	var txt bytes.Buffer
	if err := WriteText(&txt, s, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cold starts   16 (32.0%", "throttles     account: 6, scaling: 4", "concurrency   mean ", "  cold  attempts  p50 300"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.String())
		}
	}
}

func TestWarmRunHasNoColdOrThrottleKeys(t *testing.T) {
	h, recs := functionRun()
	var warm []results.Result
	for _, r := range recs {
		if !r.Cold() && r.Throttle == "" {
			warm = append(warm, r)
		}
	}
	s := summarise(t, h, warm)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cold_starts", "latency_warm_ms", "latency_cold_ms", "throttles"} {
		if _, ok := m[k]; ok {
			t.Errorf("a warm run without throttles has %q", k)
		}
	}
	w0 := m["windows"].([]any)[0].(map[string]any)
	if _, ok := w0["cold_ratio"]; ok || w0["concurrency"] == nil {
		t.Errorf("window 0 %v: want concurrency and no cold_ratio", w0)
	}
	if v, ok := FiguresOf(s)["cold_ratio"]; !ok || v != 0 {
		t.Errorf("cold_ratio figure %v (measured %v), want 0: the service sent Server-Timing", v, ok)
	}
}

func TestThrottleReasonsAreBounded(t *testing.T) {
	h, _ := functionRun()
	var recs []results.Result
	for i := range 40 {
		recs = append(recs, results.Result{RequestID: uint64(i), Attempt: 1, Final: true, Status: 429,
			Outcome: results.OutcomeShed, Throttle: fmt.Sprintf("reason-%02d", i%20)})
	}
	s := summarise(t, h, recs)
	if len(s.Throttles) != maxThrottleReasons+1 || s.Throttles[otherThrottle] != 8 {
		t.Errorf("%d reasons, other %d; want %d and 8 (4 reasons × 2)", len(s.Throttles), s.Throttles[otherThrottle], maxThrottleReasons+1)
	}
}
