package dist

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ms(v int) Duration { return Duration(time.Duration(v) * time.Millisecond) }

func TestParseLatency(t *testing.T) {
	tests := []struct {
		in   string
		want Latency
		err  string
	}{
		{in: "20ms", want: Latency{Dist: "fixed", P50: ms(20)}},
		{in: "fixed:1s", want: Latency{Dist: "fixed", P50: ms(1000)}},
		{in: "uniform:10ms-30ms", want: Latency{Dist: "uniform", Min: ms(10), Max: ms(30)}},
		{in: "lognormal:20ms,80ms", want: Latency{Dist: "lognormal", P50: ms(20), P99: ms(80)}},
		{in: "lognormal:20ms", err: "lognormal:P50,P99"},
		{in: "lognormal:80ms,20ms", err: "p50 ≤ p99"},
		{in: "exponential:20ms", want: Latency{Dist: "exponential", Scale: ms(20)}},
		{in: "exponential:0s", err: "scale"},
		{in: "uniform:30ms-10ms", err: "min ≤ max"},
		{in: "gamma:1ms", err: "unknown distribution"},
		{in: "fast", err: "Go duration"},
		{in: "-5ms", err: "≥ 0"},
	}
	for _, tt := range tests {
		got, err := ParseLatency(tt.in)
		if tt.err != "" {
			if assert.Error(t, err, tt.in) {
				assert.Contains(t, err.Error(), tt.err, tt.in)
			}
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		if !strings.HasPrefix(tt.in, "fixed:") {
			assert.Equal(t, tt.in, got.String(), "String writes what ParseLatency reads")
		}
	}
}

func TestLatencyValidate(t *testing.T) {
	tests := []struct {
		in  Latency
		err string
	}{
		{in: Latency{Dist: "fixed"}},
		{in: Latency{Dist: "fixed", P50: ms(-1)}, err: "p50: -1ms, want ≥ 0"},
		{in: Latency{Dist: "uniform", Min: ms(3), Max: ms(3)}},
		{in: Latency{Dist: "uniform", Min: ms(3), Max: ms(2)}, err: "min/max"},
		{in: Latency{Dist: "lognormal", P50: 0, P99: ms(1)}, err: "0 < p50"},
		{in: Latency{Dist: "normal"}, err: `dist: "normal", want fixed, uniform, lognormal or exponential`},
	}
	for _, tt := range tests {
		err := tt.in.Validate()
		if tt.err == "" {
			assert.NoError(t, err, "%+v", tt.in)
			continue
		}
		if assert.Error(t, err, "%+v", tt.in) {
			assert.Contains(t, err.Error(), tt.err)
		}
	}
}

func TestLatencyMean(t *testing.T) {
	assert.Equal(t, 20*time.Millisecond, Latency{Dist: "fixed", P50: ms(20)}.Mean())
	assert.Equal(t, 20*time.Millisecond, Latency{Dist: "uniform", Min: ms(10), Max: ms(30)}.Mean())
	m := Latency{Dist: "lognormal", P50: ms(20), P99: ms(80)}.Mean()
	assert.Greater(t, m, 20*time.Millisecond)
	assert.Less(t, m, 30*time.Millisecond)
}

func TestLatencySample(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sample := func(l Latency, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = l.Sample(rng)
		}
		slices.Sort(out)
		return out
	}
	ln := sample(Latency{Dist: "lognormal", P50: ms(20), P99: ms(80)}, 20000)
	assert.InEpsilon(t, float64(20*time.Millisecond), ln[10000], 0.05, "p50")
	assert.InEpsilon(t, float64(80*time.Millisecond), ln[19800], 0.10, "p99")

	un := sample(Latency{Dist: "uniform", Min: ms(10), Max: ms(30)}, 5000)
	assert.GreaterOrEqual(t, un[0], float64(10*time.Millisecond))
	assert.Less(t, un[len(un)-1], float64(30*time.Millisecond))

	ex := sample(Latency{Dist: "exponential", Scale: ms(20)}, 20000)
	var sum float64
	for _, v := range ex {
		sum += v
	}
	assert.InEpsilon(t, float64(20*time.Millisecond), sum/float64(len(ex)), 0.03, "exponential mean")
	assert.InEpsilon(t, float64(20*time.Millisecond)*math.Ln2, ex[10000], 0.05, "exponential median")

	assert.Equal(t, float64(20*time.Millisecond), Latency{Dist: "fixed", P50: ms(20)}.Sample(rng))
	assert.Equal(t, 20*time.Millisecond, Latency{Dist: "fixed", P50: ms(20)}.Draw(rng))
	huge, saturated := Latency{Dist: "exponential", Scale: Duration(math.MaxInt64)}, 0
	for range 100 {
		d := huge.Draw(rng)
		assert.GreaterOrEqual(t, d, time.Duration(0), "a draw past the largest Duration must not wrap")
		if d == math.MaxInt64 {
			saturated++
		}
	}
	assert.Positive(t, saturated, "draws past the largest Duration saturate")
}

func TestLatencyNormalized(t *testing.T) {
	l := Latency{Dist: "uniform", P50: ms(20), P99: ms(80), Min: ms(1), Max: ms(2)}
	assert.Equal(t, Latency{Dist: "uniform", Min: ms(1), Max: ms(2)}, l.Normalized())
}

func TestDurationText(t *testing.T) {
	var d Duration
	require.NoError(t, d.UnmarshalText([]byte("250ms")))
	assert.Equal(t, ms(250), d)
	b, err := d.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "250ms", string(b))
	assert.Equal(t, "250ms", d.String())
	err = d.UnmarshalText([]byte("soon"))
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "want a Go duration such as 250ms or 2s")
	}
}
