package report

import (
	"slices"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// maxThrottleReasons bounds the throttle reasons counted apart; attempts
// throttled for any further reason count under otherThrottle.
const (
	maxThrottleReasons = 16
	otherThrottle      = "other"
)

// coldCount counts the attempts a service ran (answered, not shed) and
// those of them that were cold starts (results.Result.Cold).
type coldCount struct {
	ran, cold int64
}

func (c *coldCount) add(r *results.Result) {
	if r.Status == 0 || r.Outcome == results.OutcomeShed {
		return
	}
	c.ran++
	if r.Cold() {
		c.cold++
	}
}

func (c coldCount) ratio() float64 { return ratio(c.cold, c.ran) }

// coldAcc accumulates what the run's function platform said: cold starts,
// warm and cold attempt latency, throttles by reason.
type coldAcc struct {
	coldCount
	warm, coldLat *hdr.Histogram // attempt latency (start to end) of ran attempts, µs
	throttles     map[string]int64
}

func (c *coldAcc) add(r *results.Result) {
	c.coldCount.add(r)
	if r.Throttle != "" {
		if c.throttles == nil {
			c.throttles = make(map[string]int64)
		}
		reason := r.Throttle
		if _, ok := c.throttles[reason]; !ok && len(c.throttles) >= maxThrottleReasons {
			reason = otherThrottle
		}
		c.throttles[reason]++
	}
	if r.Status == 0 || r.Outcome == results.OutcomeShed {
		return
	}
	h := &c.warm
	if r.Cold() {
		h = &c.coldLat
	}
	if *h == nil {
		*h = newHist()
	}
	_ = (*h).RecordValue(micros(r.AttemptLatency()))
}

// ColdStarts counts the attempts that paid for a cold start: those whose
// Server-Timing carried an init duration.
type ColdStarts struct {
	Count int64   `json:"count"` // cold attempts
	Ratio float64 `json:"ratio"` // cold attempts ÷ attempts the service ran (answered, not shed)
}

// AttemptLatency is a latency distribution of attempts, from each
// attempt's start to its end, in milliseconds.
type AttemptLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func attemptLatencyOf(h *hdr.Histogram) *AttemptLatency {
	l := latencyOf(h)
	return &AttemptLatency{P50: l.P50, P90: l.P90, P99: l.P99, Max: l.Max}
}

// fillServerless sets the Summary's cold starts, warm and cold latency
// and throttles, when the run had any.
func (c *coldAcc) fill(s *Summary) {
	if len(c.throttles) > 0 {
		s.Throttles = make(map[string]int64, len(c.throttles))
		for k, n := range c.throttles {
			s.Throttles[k] = n
		}
	}
	if c.cold == 0 {
		return
	}
	s.ColdStarts = &ColdStarts{Count: c.cold, Ratio: c.ratio()}
	s.LatencyCold = attemptLatencyOf(c.coldLat)
	if c.warm != nil {
		s.LatencyWarm = attemptLatencyOf(c.warm)
	}
}

// throttleReasons returns the keys of m, sorted.
func throttleReasons(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeServerless writes the text report's lines on concurrency (every
// report), cold starts and throttles (when the run had them).
func writeServerless(t *textWriter, s *Summary) {
	var sum, peak float64
	for _, w := range s.Windows {
		sum += w.Concurrency
		peak = max(peak, w.Concurrency)
	}
	if n := len(s.Windows); n > 0 {
		t.printf("concurrency   mean %.1f, max %.1f (per %gs window: mean attempt duration × attempts per second)\n", sum/float64(n), peak, s.WindowS)
	}
	if c := s.ColdStarts; c != nil {
		t.printf("cold starts   %d (%.1f%% of the attempts the service ran)", c.Count, 100*c.Ratio)
		if s.ServerTiming != nil {
			t.printf(", init %sms mean over attempts with Server-Timing", fmtMs(s.ServerTiming.Init))
		}
		t.printf("\n")
		row := func(name string, l *AttemptLatency) {
			if l != nil {
				t.printf("  %-5s attempts  p50 %sms, p90 %sms, p99 %sms, max %sms\n", name, fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.Max))
			}
		}
		row("warm", s.LatencyWarm)
		row("cold", s.LatencyCold)
	}
	if len(s.Throttles) > 0 {
		t.printf("throttles     ")
		for i, k := range throttleReasons(s.Throttles) {
			if i > 0 {
				t.printf(", ")
			}
			t.printf("%s: %d", k, s.Throttles[k])
		}
		t.printf("\n")
	}
}
