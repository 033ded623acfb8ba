package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// lateRun is two phases of 1 s with an SLO of 100 ms. The first phase has
// 10 requests: 6 ok within the SLO, 3 ok after it (one of them on a retry
// that started after a shed first attempt), 1 shed. The second has 4
// requests, all ok within the SLO.
func lateRun(t *testing.T) *Summary {
	t.Helper()
	a := NewAggregator(Options{})
	h := results.Header{SLO: 100 * time.Millisecond, Phases: []results.PhaseInfo{
		{Name: "surge", Duration: time.Second, FromRPS: 10, ToRPS: 10},
		{Name: "after", Offset: time.Second, Duration: time.Second, FromRPS: 4, ToRPS: 4},
	}}
	if err := a.AddHeader(h); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	var id uint64
	add := func(phase int, at, lat time.Duration, o results.Outcome) {
		id++
		r := results.Result{RequestID: id, Attempt: 1, Phase: uint16(phase), Final: true, Intended: at, Start: at, End: at + lat, Status: 200, Outcome: o}
		if o == results.OutcomeShed {
			r.Status = 503
		}
		a.AddResult(&r)
	}
	for i := range 6 {
		add(0, time.Duration(i)*100*ms, 20*ms, results.OutcomeOK)
	}
	add(0, 600*ms, 100*ms, results.OutcomeOK) // exactly the SLO: goodput
	add(0, 700*ms, 101*ms, results.OutcomeOK) // just after: late
	add(0, 800*ms, 900*ms, results.OutcomeShed)
	// A request shed once, then answered ok on its retry 1.2 s after its
	// intended start: late, though its last attempt took 20 ms.
	id++
	first := results.Result{RequestID: id, Attempt: 1, Intended: 900 * ms, Start: 900 * ms, End: 901 * ms, Status: 503, Outcome: results.OutcomeShed}
	retry := results.Result{RequestID: id, Attempt: 2, Final: true, Intended: 900 * ms, Start: 2080 * ms, End: 2100 * ms, Status: 200, Outcome: results.OutcomeOK}
	a.AddResult(&first)
	a.AddResult(&retry)
	// Fill the surge phase's ok-but-late count to 3 with one more.
	add(0, 950*ms, 500*ms, results.OutcomeOK)
	for i := range 4 {
		add(1, time.Second+time.Duration(i)*250*ms, 10*ms, results.OutcomeOK)
	}
	return a.Summary()
}

func TestLateSuccessesAreNeitherGoodputNorFailed(t *testing.T) {
	s := lateRun(t)
	if s.Requests != 15 {
		t.Fatalf("requests %d, want 15", s.Requests)
	}
	// 11 goodput (7 + 4), 3 late, 1 failed, over 2 s.
	if s.GoodputRPS != 5.5 || s.LateRPS != 1.5 {
		t.Errorf("goodput %v/s late %v/s, want 5.5/s and 1.5/s", s.GoodputRPS, s.LateRPS)
	}
	if want := 3.0 / 15; s.LateRatio != want {
		t.Errorf("late_ratio %v, want %v", s.LateRatio, want)
	}
	if got := failedRPS(s.OfferedRPS, s.GoodputRPS, s.LateRPS); got != 0.5 {
		t.Errorf("failed %v/s, want 0.5/s", got)
	}
	surge, after := s.Phases[0], s.Phases[1]
	if surge.Requests != 11 || surge.GoodputRPS != 7 || surge.LateRPS != 3 || surge.LateRatio != 3.0/11 {
		t.Errorf("surge phase: requests %d goodput %v late %v (%v), want 11, 7, 3 (3/11)", surge.Requests, surge.GoodputRPS, surge.LateRPS, surge.LateRatio)
	}
	if after.LateRPS != 0 || after.LateRatio != 0 || after.GoodputRPS != 4 {
		t.Errorf("after phase: goodput %v late %v (%v), want 4, 0 (0)", after.GoodputRPS, after.LateRPS, after.LateRatio)
	}
	// Requests count in the window of their intended start: the late retry
	// belongs to window 0, though it ended in window 2.
	w0 := s.Windows[0]
	if w0.GoodputRPS != 7 || w0.LateRPS != 3 || w0.LateRatio != 3.0/11 {
		t.Errorf("window 0: goodput %v late %v (%v), want 7, 3 (3/11)", w0.GoodputRPS, w0.LateRPS, w0.LateRatio)
	}
	for _, w := range s.Windows[1:] {
		if w.LateRPS != 0 {
			t.Errorf("window at %vs: late %v/s, want 0", w.StartS, w.LateRPS)
		}
	}
}

func TestLateWithoutSLOIsZero(t *testing.T) {
	a := NewAggregator(Options{})
	if err := a.AddHeader(results.Header{Phases: []results.PhaseInfo{{Name: "p", Duration: time.Second}}}); err != nil {
		t.Fatal(err)
	}
	r := results.Result{RequestID: 1, Attempt: 1, Final: true, End: time.Hour, Status: 200}
	a.AddResult(&r)
	if s := a.Summary(); s.LateRPS != 0 || s.GoodputRPS != 1 {
		t.Fatalf("without an SLO every success is goodput: goodput %v late %v", s.GoodputRPS, s.LateRPS)
	}
}

func TestLateRatioMetricAndComparison(t *testing.T) {
	s := lateRun(t)
	f := FiguresOf(s)
	if f["late_ratio"] != 3.0/15 || f["late_rps"] != 1.5 {
		t.Fatalf("figures late_ratio %v late_rps %v", f["late_ratio"], f["late_rps"])
	}
	if pf := PhaseFigures(s)["surge"]; pf["late_ratio"] != 3.0/11 {
		t.Fatalf("surge late_ratio %v, want 3/11", pf["late_ratio"])
	}
	c := Compare([]CompareRun{{Label: "a", Figures: f}, {Label: "b", Figures: Figures{"late_ratio": 0.1}}})
	var row *CompareRow
	for i := range c.Rows {
		if c.Rows[i].Metric == "late_ratio" {
			row = &c.Rows[i]
		}
	}
	if row == nil {
		t.Fatal("comparison has no late_ratio row")
	}
	if row.Better != "lower" || len(row.Best) != 1 || row.Best[0] != 1 {
		t.Fatalf("late_ratio row: better %q best %v, want lower and run 1", row.Better, row.Best)
	}
}

func TestTextReportShowsGoodputLateFailed(t *testing.T) {
	var b strings.Builder
	if err := WriteText(&b, lateRun(t), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"goodput 73.33% 5.5 rps ok within the SLO",
		"late 20.00% 1.5 rps ok after the SLO",
		"failed 6.67% 0.5 rps not ok",
		"surge 0.0s 1.0s 11.0 7.0 3.0 1.0 63.6%",
	} {
		if !slices.ContainsFunc(strings.Split(b.String(), "\n"), func(l string) bool {
			return strings.HasPrefix(strings.Join(strings.Fields(l), " "), want)
		}) {
			t.Errorf("text report has no line %q:\n%s", want, b.String())
		}
	}
}
