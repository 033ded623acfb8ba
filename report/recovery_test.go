package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// series builds one-second samples at a constant offered rate of 100 rps;
// bad(i) says whether second i is degraded (goodput 20 rps, p99 2 s).
func series(n int, bad func(i int) bool) []RecoverySample {
	out := make([]RecoverySample, n)
	for i := range out {
		s := RecoverySample{Start: time.Duration(i) * time.Second, Offered: 100, Goodput: 99.5, P99: 40 * time.Millisecond}
		if bad(i) {
			s.Goodput, s.P99 = 20, 2*time.Second
		}
		out[i] = s
	}
	return out
}

func TestDetectRecovery(t *testing.T) {
	surge := []DisturbanceSpan{{Name: "surge", Start: 10 * time.Second, End: 20 * time.Second}}
	tests := []struct {
		name          string
		samples       []RecoverySample
		opts          RecoveryOptions
		wantRecovered bool
		wantTime      time.Duration
		wantMeta      bool
	}{
		{
			name:          "clean recovery 7 s after the surge",
			samples:       series(60, func(i int) bool { return i >= 10 && i < 27 }),
			wantRecovered: true,
			wantTime:      7 * time.Second,
		},
		{
			name:          "immediate recovery",
			samples:       series(60, func(i int) bool { return i >= 10 && i < 20 }),
			wantRecovered: true,
			wantTime:      0,
		},
		{
			name:     "never recovers: metastable",
			samples:  series(60, func(i int) bool { return i >= 10 }),
			wantMeta: true,
		},
		{
			name: "one-window dip after recovery is not a failure to recover",
			samples: series(60, func(i int) bool {
				return (i >= 10 && i < 23) || i == 35
			}),
			wantRecovered: true,
			wantTime:      3 * time.Second,
		},
		{
			name: "a dip inside the sustained stretch restarts it",
			samples: series(60, func(i int) bool {
				return (i >= 10 && i < 23) || i == 25
			}),
			wantRecovered: true,
			wantTime:      6 * time.Second,
		},
		{
			name:    "run ends too soon after the trigger: not recovered, not metastable",
			samples: series(28, func(i int) bool { return i >= 10 }),
		},
		{
			name:          "longer recovery window needs a longer stretch",
			samples:       series(60, func(i int) bool { return (i >= 10 && i < 22) || i == 30 }),
			opts:          RecoveryOptions{Window: 10 * time.Second},
			wantRecovered: true,
			wantTime:      11 * time.Second,
		},
		{
			name:    "p99 under the SLO counts even when far above baseline",
			samples: series(60, func(i int) bool { return i >= 10 && i < 20 }),
			opts:    RecoveryOptions{SLO: 3 * time.Second},
			// the degraded windows have p99 2 s ≤ SLO but goodput 20 %:
			// recovery still waits for goodput.
			wantRecovered: true,
			wantTime:      0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectRecovery(tt.samples, time.Second, surge, tt.opts)
			require.Len(t, got.Disturbances, 1)
			assert.Equal(t, tt.wantRecovered, got.Recovered, "recovered")
			assert.Equal(t, tt.wantMeta, got.Metastable, "metastable")
			assert.Equal(t, tt.wantTime, got.RecoveryTime(), "recovery time")
			assert.Equal(t, got.Recovered, got.Disturbances[0].Recovered)
		})
	}
}

func TestDetectRecoveryBaseline(t *testing.T) {
	samples := series(40, func(i int) bool { return i < 3 || (i >= 10 && i < 20) })
	// slower baseline so the 1.5× limit matters: 100 ms in the baseline,
	// 140 ms after recovery (within 150 ms), 160 ms (beyond) in seconds 20-24.
	for i := range samples {
		switch {
		case i < 10:
			samples[i].P99 = 100 * time.Millisecond
		case i >= 20 && i < 25:
			samples[i].P99 = 160 * time.Millisecond
		case i >= 25:
			samples[i].P99 = 140 * time.Millisecond
		}
	}
	surge := []DisturbanceSpan{{Name: "surge", Start: 10 * time.Second, End: 20 * time.Second}}
	got := DetectRecovery(samples, time.Second, surge, RecoveryOptions{WarmUp: 3 * time.Second})
	assert.Equal(t, 7, got.Baseline.Windows, "warm-up windows excluded")
	assert.InDelta(t, 100, got.Baseline.OfferedRPS, 1e-9)
	assert.InDelta(t, 0.995, got.Baseline.GoodputRatio, 1e-9)
	assert.InDelta(t, 100, got.Baseline.P99Ms, 1e-9)
	assert.InDelta(t, 150, got.Baseline.P99LimitMs, 1e-9)
	assert.True(t, got.Recovered)
	assert.Equal(t, 5*time.Second, got.RecoveryTime())

	// An explicit baseline p99 (from merged histograms) wins over the median.
	got = DetectRecovery(samples, time.Second, surge, RecoveryOptions{WarmUp: 3 * time.Second, BaselineP99: 120 * time.Millisecond})
	assert.InDelta(t, 180, got.Baseline.P99LimitMs, 1e-9)
	assert.Equal(t, time.Duration(0), got.RecoveryTime())
}

func TestDetectRecoveryTwoDisturbances(t *testing.T) {
	// First disturbance 10-15 s recovers at 17 s; the second (30-35 s) never
	// does. The first's sustained stretch must fit before the second starts.
	samples := series(60, func(i int) bool { return (i >= 10 && i < 17) || i >= 30 })
	spans := []DisturbanceSpan{
		{Name: "b", Start: 30 * time.Second, End: 35 * time.Second},
		{Name: "a", Start: 10 * time.Second, End: 15 * time.Second},
	}
	got := DetectRecovery(samples, time.Second, spans, RecoveryOptions{})
	require.Len(t, got.Disturbances, 2)
	assert.Equal(t, "a", got.Disturbances[0].Name, "sorted by start")
	assert.True(t, got.Disturbances[0].Recovered)
	assert.InDelta(t, 2, got.Disturbances[0].RecoveryTimeS, 1e-9)
	assert.False(t, got.Disturbances[1].Recovered)
	assert.True(t, got.Disturbances[1].Metastable)
	assert.False(t, got.Recovered)
	assert.True(t, got.Metastable)

	// A stretch cut short by the next disturbance does not count.
	samples = series(60, func(i int) bool { return (i >= 10 && i < 27) || i >= 30 })
	got = DetectRecovery(samples, time.Second, spans, RecoveryOptions{})
	assert.False(t, got.Disturbances[0].Recovered)
	assert.True(t, got.Disturbances[0].Metastable, "15 s of trigger-free time ≥ 2 × 5 s")
}

func TestDetectRecoveryNoDisturbance(t *testing.T) {
	got := DetectRecovery(series(10, func(int) bool { return false }), time.Second, nil, RecoveryOptions{})
	assert.True(t, got.Recovered)
	assert.Empty(t, got.Disturbances)
	assert.Equal(t, 10, got.Baseline.Windows)
	got = DetectRecovery(nil, time.Second, nil, RecoveryOptions{})
	assert.True(t, got.Recovered)
}

func TestRecoveryWriteText(t *testing.T) {
	surge := []DisturbanceSpan{{Name: "surge", Start: 10 * time.Second, End: 20 * time.Second}}
	var b strings.Builder
	rec := DetectRecovery(series(60, func(i int) bool { return i >= 10 && i < 27 }), time.Second, surge, RecoveryOptions{})
	require.NoError(t, rec.WriteText(&b))
	assert.Equal(t, "recovery: baseline over 10 windows: goodput 99.50%, p99 40ms; recovered once goodput ≥ 95% of offered and p99 ≤ 60ms hold\n"+
		"  surge (10s–20s): recovered 7s after it ended\n", b.String())

	b.Reset()
	rec = DetectRecovery(series(60, func(i int) bool { return i >= 10 }), time.Second, surge, RecoveryOptions{})
	require.NoError(t, rec.WriteText(&b))
	assert.Contains(t, b.String(), "surge (10s–20s): NOT recovered: metastable")
}

// BenchmarkDetectRecovery measures recovery detection over an hour of
// one-second windows with a disturbance every ten minutes.
func BenchmarkDetectRecovery(b *testing.B) {
	samples := series(3600, func(i int) bool { return i%600 >= 300 && i%600 < 330 })
	var spans []DisturbanceSpan
	for s := 300; s < 3600; s += 600 {
		spans = append(spans, DisturbanceSpan{Name: "surge", Start: time.Duration(s) * time.Second, End: time.Duration(s+20) * time.Second})
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := DetectRecovery(samples, time.Second, spans, RecoveryOptions{})
		if !rec.Recovered {
			b.Fatal("not recovered")
		}
	}
}

func TestDetectRecoveryWithoutBaselineOrSLO(t *testing.T) {
	// The disturbance starts at once: no baseline, no SLO, so only goodput
	// decides.
	samples := series(30, func(i int) bool { return i < 8 })
	got := DetectRecovery(samples, time.Second, []DisturbanceSpan{{Name: "fault", Start: 0, End: 5 * time.Second}}, RecoveryOptions{})
	assert.Zero(t, got.Baseline.Windows)
	assert.True(t, got.Recovered)
	assert.Equal(t, 3*time.Second, got.RecoveryTime())
}
