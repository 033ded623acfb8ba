package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// laggedRun is len(lag) 1 s windows of 100 requests each (200 in the
// last), intended in the window's first 800 ms, whose first attempts
// started lag[i] (< 200 ms, so in the same window) after their intended
// start and took 2 ms.
func laggedRun(t *testing.T, slo time.Duration, lag []time.Duration) *Summary {
	t.Helper()
	a := NewAggregator(Options{SLO: slo})
	if err := a.AddHeader(results.Header{Version: results.FormatVersion, Start: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), SLO: slo, Shard: results.ShardInfo{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	id := uint64(0)
	for w, l := range lag {
		n := 100
		if w == len(lag)-1 {
			n = 200
		}
		for i := range n {
			id++
			at := time.Duration(w)*time.Second + time.Duration(i)*800*time.Millisecond/time.Duration(n)
			r := results.Result{RequestID: id, Attempt: 1, Final: true, Intended: at, Start: at + l, End: at + l + 2*time.Millisecond, Status: 200}
			a.AddResult(&r)
		}
	}
	return a.Summary()
}

func limitedWindows(s *Summary) []int {
	var out []int
	for i, w := range s.Windows {
		if w.GeneratorLimited {
			out = append(out, i)
		}
	}
	return out
}

// TestGeneratorLimitedWindowsAreFlagged: a window is flagged when its lag
// p99 exceeds max(5 ms, SLO ÷ 10), and the warning names the windows and
// the share of requests in them.
func TestGeneratorLimitedWindowsAreFlagged(t *testing.T) {
	lag := []time.Duration{30 * time.Millisecond, 8 * time.Millisecond, time.Millisecond, 12 * time.Millisecond}
	for _, tc := range []struct {
		slo     time.Duration
		lag     []time.Duration
		want    []int
		warning string
	}{
		{100 * time.Millisecond, lag, []int{0, 3}, "2 windows were generator-limited (lag p99 over 10ms), starting at 0s, 3s: 60.0% of requests"},
		{20 * time.Millisecond, lag, []int{0, 1, 3}, "3 windows were generator-limited (lag p99 over 5ms), starting at 0s, 1s, 3s: 80.0% of requests"},
		{0, lag, []int{0, 1, 3}, "lag p99 over 5ms"},
		{time.Second, []time.Duration{150 * time.Millisecond, 30 * time.Millisecond, 99 * time.Millisecond, time.Millisecond},
			[]int{0}, "1 windows were generator-limited (lag p99 over 100ms), starting at 0s: 20.0% of requests"},
	} {
		s := laggedRun(t, tc.slo, tc.lag)
		if got := limitedWindows(s); !slices.Equal(got, tc.want) {
			t.Errorf("SLO %v: limited windows %v, want %v", tc.slo, got, tc.want)
		}
		if s.Requests != 500 {
			t.Errorf("SLO %v: %d requests, want all 500: the flag drops nothing", tc.slo, s.Requests)
		}
		if w := strings.Join(s.Warnings, "\n"); !strings.Contains(w, tc.warning) {
			t.Errorf("SLO %v: warnings %q lack %q", tc.slo, w, tc.warning)
		}
	}
}

// TestNoGeneratorLimitedWarningWhenLagIsSmall: a run that kept its
// schedule flags nothing and says nothing.
func TestNoGeneratorLimitedWarningWhenLagIsSmall(t *testing.T) {
	s := laggedRun(t, 100*time.Millisecond, []time.Duration{time.Millisecond, 4 * time.Millisecond})
	if got := limitedWindows(s); len(got) != 0 {
		t.Errorf("limited windows %v, want none", got)
	}
	for _, w := range s.Warnings {
		if strings.Contains(w, "generator-limited") {
			t.Errorf("warning %q", w)
		}
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "generator_limited") {
		t.Errorf("JSON has generator_limited although no window is")
	}
}

// TestGeneratorLimitedWindowsAreShownInEveryFormat: JSON carries the
// flag, the text windows table marks the window, the HTML charts shade it.
func TestGeneratorLimitedWindowsAreShownInEveryFormat(t *testing.T) {
	s := laggedRun(t, 100*time.Millisecond, []time.Duration{30 * time.Millisecond, time.Millisecond, time.Millisecond})

	var js bytes.Buffer
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Windows []map[string]any `json:"windows"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Windows) < 3 || doc.Windows[0]["generator_limited"] != true || doc.Windows[1]["generator_limited"] != nil {
		t.Errorf("JSON windows %v: want generator_limited true in window 0 only", doc.Windows)
	}

	var txt bytes.Buffer
	if err := WriteText(&txt, s, TextOptions{Windows: true}); err != nil {
		t.Fatal(err)
	}
	var marked []string
	for _, line := range strings.Split(txt.String(), "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), "generator") {
			marked = append(marked, strings.Fields(line)[0])
		}
	}
	if !slices.Equal(marked, []string{"0.0s"}) {
		t.Errorf("text windows marked %v, want [0.0s]:\n%s", marked, txt.String())
	}

	if got := generatorLimitedSpans(s); !slices.Equal(got, []chartShade{{From: 0, To: 1, Label: "generator"}}) {
		t.Errorf("chart spans %v", got)
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, HTMLReport{Runs: []HTMLRun{{Summary: s}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "generator-limited") {
		t.Errorf("HTML has no generator-limited legend")
	}
}
