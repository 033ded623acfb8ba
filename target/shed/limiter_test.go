package shed

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// feed sends n samples of rtt, one every step from *now, with InFlight at
// the limiter's current limit (the limit is being used).
func feed(l Limiter, now *time.Time, n int, step, rtt time.Duration, dropped bool) {
	for range n {
		*now = now.Add(step)
		l.Observe(*now, Sample{RTT: rtt, InFlight: l.Limit(), Dropped: dropped})
	}
}

func TestStatic(t *testing.T) {
	s := Static(7)
	s.Observe(t0, Sample{RTT: time.Hour, Dropped: true})
	if got := s.Limit(); got != 7 {
		t.Fatalf("Limit() = %d, want 7", got)
	}
}

func TestAIMDStepChangeOfLatency(t *testing.T) {
	a, err := NewAIMD(AIMDConfig{Initial: 20, Min: 2, Max: 100, LatencyThreshold: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	feed(a, &now, 200, time.Millisecond, 10*time.Millisecond, false)
	fast := a.Limit()
	if fast <= 20 {
		t.Fatalf("after 200 fast samples limit = %d, want > 20 (additive increase)", fast)
	}
	feed(a, &now, 1000, time.Millisecond, 50*time.Millisecond, false) // latency steps up past the threshold
	slow := a.Limit()
	if slow >= fast/2 {
		t.Fatalf("after 1 s of slow samples limit = %d, want < %d (multiplicative decrease)", slow, fast/2)
	}
	feed(a, &now, 300, time.Millisecond, 10*time.Millisecond, false) // and back down
	if got := a.Limit(); got <= slow {
		t.Fatalf("after latency recovered limit = %d, want > %d", got, slow)
	}
}

func TestAIMDDecreasesOncePerCooldown(t *testing.T) {
	a, err := NewAIMD(AIMDConfig{Initial: 100, Min: 1, Max: 100, Backoff: 0.5, Cooldown: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, 50},                      // first drop halves
		{50 * time.Millisecond, 50},  // same episode: no further cut
		{99 * time.Millisecond, 50},  // still within the cooldown
		{100 * time.Millisecond, 25}, // next cooldown: halves again
		{300 * time.Millisecond, 12},
	}
	for _, s := range steps {
		a.Observe(t0.Add(s.at), Sample{RTT: time.Millisecond, InFlight: 1, Dropped: true})
		if got := a.Limit(); got != s.want {
			t.Fatalf("at %v: limit %d, want %d", s.at, got, s.want)
		}
	}
}

func TestAIMDDoesNotGrowWhenUnused(t *testing.T) {
	a, err := NewAIMD(AIMDConfig{Initial: 20, Min: 1, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		a.Observe(t0.Add(time.Duration(i)*time.Millisecond), Sample{RTT: time.Millisecond, InFlight: 3})
	}
	if got := a.Limit(); got != 20 {
		t.Fatalf("limit %d after samples at InFlight 3, want 20 (unused limits do not grow)", got)
	}
}

func TestAIMDStaysInBounds(t *testing.T) {
	a, err := NewAIMD(AIMDConfig{Initial: 5, Min: 3, Max: 8, Cooldown: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	feed(a, &now, 1000, time.Millisecond, time.Millisecond, false)
	if got := a.Limit(); got != 8 {
		t.Fatalf("limit %d, want max 8", got)
	}
	feed(a, &now, 1000, time.Millisecond, time.Millisecond, true)
	if got := a.Limit(); got != 3 {
		t.Fatalf("limit %d, want min 3", got)
	}
}

func TestGradientStepChangeOfLatency(t *testing.T) {
	g, err := NewGradient(GradientConfig{Initial: 20, Min: 2, Max: 200})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	// 2 s at 10 ms: the limit probes upwards by its headroom.
	feed(g, &now, 2000, time.Millisecond, 10*time.Millisecond, false)
	fast := g.Limit()
	if fast <= 20 {
		t.Fatalf("limit %d after steady fast windows, want > 20", fast)
	}
	if b := g.Baseline(); b != 10*time.Millisecond {
		t.Fatalf("baseline %v, want 10ms", b)
	}
	// Latency steps up 5×: gradient 1.5×10/50 = 0.3 → clamped 0.5; it shrinks.
	feed(g, &now, 1000, time.Millisecond, 50*time.Millisecond, false)
	slow := g.Limit()
	if slow >= fast*2/3 {
		t.Fatalf("limit %d after latency rose 5×, want < %d", slow, fast*2/3)
	}
	// Latency back to 10 ms: the baseline is still ≤ the rtt; it grows.
	feed(g, &now, 500, time.Millisecond, 10*time.Millisecond, false)
	if got := g.Limit(); got <= slow {
		t.Fatalf("limit %d after latency recovered, want > %d", got, slow)
	}
}

func TestGradientToleratesModestRise(t *testing.T) {
	g, err := NewGradient(GradientConfig{Initial: 50, Min: 1, Max: 50, Window: 10 * time.Millisecond, MinSamples: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	feed(g, &now, 100, time.Millisecond, 10*time.Millisecond, false)
	// 1.4× the baseline is within the tolerance of 1.5: gradient 1, no cut.
	feed(g, &now, 100, time.Millisecond, 14*time.Millisecond, false)
	if got := g.Limit(); got != 50 {
		t.Fatalf("limit %d, want 50 (a rise within tolerance keeps it)", got)
	}
}

func TestGradientLeavesUnusedLimitAlone(t *testing.T) {
	g, err := NewGradient(GradientConfig{Initial: 40, Min: 1, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		g.Observe(t0.Add(time.Duration(i)*time.Millisecond), Sample{RTT: time.Duration(1+i%7) * 10 * time.Millisecond, InFlight: 5})
	}
	if got := g.Limit(); got != 40 {
		t.Fatalf("limit %d, want 40: traffic never used half of it", got)
	}
}

func TestLimiterConfigValidation(t *testing.T) {
	bad := []error{
		AIMDConfig{Initial: 1, Min: 0, Max: 1}.Validate(),
		AIMDConfig{Initial: 5, Min: 1, Max: 4}.Validate(),
		AIMDConfig{Initial: 1, Min: 1, Max: 1, Backoff: 1}.Validate(),
		GradientConfig{Initial: 1, Min: 1, Max: 1, Tolerance: 0.5}.Validate(),
		GradientConfig{Initial: 1, Min: 1, Max: 1, Smoothing: 2}.Validate(),
		GradientConfig{Initial: 0, Min: 1, Max: 1}.Validate(),
		GradientConfig{Initial: 1, Min: 1, Max: 1, MinRTTJitter: 2}.Validate(),
		GradientConfig{Initial: 1, Min: 1, Max: 1, MinRTTFloor: -1}.Validate(),
		GradientConfig{Initial: 1, Min: 1, Max: 1, MinRTTWindow: -1}.Validate(),
	}
	for i, err := range bad {
		if err == nil {
			t.Errorf("case %d: Validate() = nil, want an error", i)
		}
	}
	if err := (AIMDConfig{Initial: 1, Min: 1, Max: 1}).Validate(); err != nil {
		t.Errorf("minimal AIMD config: %v", err)
	}
}

// The baseline is re-measured every MinRTTInterval: the limit drops to the
// floor, samples of requests admitted before the drop are ignored, the mean
// RTT of the later ones becomes the baseline (here higher: the no-load
// latency rose) and the saved limit comes back.
func TestGradientRemeasuresBaseline(t *testing.T) {
	g, err := NewGradient(GradientConfig{Initial: 20, Min: 2, Max: 20, MinSamples: 1,
		MinRTTInterval: time.Second, MinRTTFloor: 2, MinRTTWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	// The first window (closing at 101 ms) sets the baseline and schedules
	// the re-measurement one interval later.
	for g.Limit() != 2 && now.Sub(t0) < 2*time.Second {
		feed(g, &now, 1, time.Millisecond, 10*time.Millisecond, false)
	}
	if at := now.Sub(t0); at < 1100*time.Millisecond || at > 1250*time.Millisecond {
		t.Fatalf("limit dropped to the floor at %v (limit %d), want 1.1–1.25 s: one interval after the first window", at, g.Limit())
	}
	before := g.Baseline()
	// A request admitted before the drop still waited in the old queue.
	now = now.Add(100 * time.Millisecond)
	g.Observe(now, Sample{RTT: time.Second, InFlight: 20})
	if got := g.Limit(); got != 2 {
		t.Fatalf("limit %d after a sample admitted before the drop, want still the floor", got)
	}
	// Requests admitted at the floor take 30 ms now: the window closes at
	// the first sample 50 ms after the drop.
	for range 4 {
		now = now.Add(30 * time.Millisecond)
		g.Observe(now, Sample{RTT: 30 * time.Millisecond, InFlight: 2})
	}
	if got := g.Baseline(); got != 30*time.Millisecond {
		t.Fatalf("baseline %v after re-measuring (was %v), want 30ms", got, before)
	}
	if got := g.Limit(); got != 20 {
		t.Fatalf("limit %d after re-measuring, want the saved 20 back", got)
	}
}
