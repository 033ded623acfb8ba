package survey

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// model is a service that survives a surge when the excess requests it
// leaves behind, (multiplier − 1) × duration × baseline, fit in its slack:
// survival is monotone in both multiplier and duration. Its recovery time
// grows with the excess.
func model(baseline, slack float64) Trial {
	return func(_ context.Context, c Cell) (Outcome, error) {
		excess := (c.Multiplier - 1) * c.Duration.Seconds() * baseline
		if excess > slack {
			return Outcome{Verdict: Metastable}, nil
		}
		rec := time.Duration(excess / slack * float64(8*time.Second))
		return Outcome{Verdict: Classify(true, rec, 5*time.Second), Recovery: rec}, nil
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		recovered bool
		rec, slow time.Duration
		want      Verdict
	}{
		{false, 0, 5 * time.Second, Metastable},
		{true, 2 * time.Second, 5 * time.Second, Recovered},
		{true, 5 * time.Second, 5 * time.Second, Recovered},
		{true, 6 * time.Second, 5 * time.Second, Slow},
		{true, time.Minute, 0, Recovered},
	} {
		assert.Equal(t, tc.want, Classify(tc.recovered, tc.rec, tc.slow), "%+v", tc)
	}
	assert.True(t, Slow.Survived())
	assert.False(t, Metastable.Survived())
}

func TestSearchBisectsToTheBoundary(t *testing.T) {
	// 3x at 100/s leaves 200 requests a second of surge; slack 1450: the
	// boundary lies at 7.25 s.
	o := Options{Multipliers: []float64{3}, Min: time.Second, Max: 30 * time.Second, Resolution: time.Second}
	var order []time.Duration
	o.Progress = func(c CellResult) { order = append(order, c.Duration) }
	r, err := Search(context.Background(), o, model(100, 1450))
	require.NoError(t, err)
	require.Len(t, r.Boundaries, 1)
	b := r.Boundaries[0]
	assert.Equal(t, Boundary{Multiplier: 3, Survived: 7 * time.Second, Failed: 8 * time.Second, Bound: Exact}, b)
	assert.Equal(t, "7s (8s did not)", b.String())
	assert.Equal(t, []time.Duration{time.Second, 30 * time.Second}, order[:2], "MIN and MAX first")
	// 2 ends plus ⌈log2 29⌉ = 5 bisection steps.
	assert.LessOrEqual(t, len(r.Cells), 7)
	assert.Empty(t, r.Contradictions)
	for i, c := range r.Cells {
		assert.Equal(t, i+1, c.Order)
	}
}

func TestSearchBoundsBeyondTheRange(t *testing.T) {
	o := Options{Multipliers: []float64{2, 8}, Min: 2 * time.Second, Max: 10 * time.Second, Resolution: time.Second}
	// 2x: 100 excess a second survives 10 s (1000 ≤ 1200); 8x: 700 a
	// second fails already at 2 s.
	r, err := Search(context.Background(), o, model(100, 1200))
	require.NoError(t, err)
	assert.Equal(t, []Boundary{
		{Multiplier: 2, Survived: 10 * time.Second, Bound: AboveMax},
		{Multiplier: 8, Failed: 2 * time.Second, Bound: BelowMin},
	}, r.Boundaries)
	assert.Equal(t, "> 10s", r.Boundaries[0].String())
	assert.Equal(t, "< 2s", r.Boundaries[1].String())
	assert.Len(t, r.Cells, 4, "two ends a multiplier, nothing to bisect")
	assert.Empty(t, r.Contradictions)
}

func TestSearchSingleDuration(t *testing.T) {
	o := Options{Multipliers: []float64{2, 30}, Min: 5 * time.Second, Max: 5 * time.Second, Resolution: time.Second}
	r, err := Search(context.Background(), o, model(100, 1000))
	require.NoError(t, err)
	assert.Len(t, r.Cells, 2)
	assert.Equal(t, AboveMax, r.Boundaries[0].Bound)
	assert.Equal(t, BelowMin, r.Boundaries[1].Bound)
}

func TestSearchResolutionNotDividingTheRange(t *testing.T) {
	// Max 10s is off the 3 s grid from 1 s: the bisection still ends
	// within one resolution, on durations MIN + k × resolution or MAX.
	o := Options{Multipliers: []float64{2}, Min: time.Second, Max: 10 * time.Second, Resolution: 3 * time.Second}
	r, err := Search(context.Background(), o, model(100, 850))
	require.NoError(t, err)
	b := r.Boundaries[0]
	assert.Equal(t, Exact, b.Bound)
	assert.LessOrEqual(t, b.Failed-b.Survived, 3*time.Second)
	assert.LessOrEqual(t, b.Survived, 8500*time.Millisecond)
	assert.Greater(t, b.Failed, 8500*time.Millisecond)
	for _, c := range r.Cells {
		assert.True(t, c.Duration == 10*time.Second || (c.Duration-time.Second)%(3*time.Second) == 0, "%v off the grid", c.Duration)
	}
}

func TestSearchReportsAContradictionWhenMinFailsAndMaxSurvives(t *testing.T) {
	// A service that fails short surges and survives long ones: the
	// search plays MAX as a check and says so.
	inverted := func(_ context.Context, c Cell) (Outcome, error) {
		if c.Duration < 5*time.Second {
			return Outcome{Verdict: Metastable}, nil
		}
		return Outcome{Verdict: Recovered, Recovery: time.Second}, nil
	}
	o := Options{Multipliers: []float64{3}, Min: time.Second, Max: 20 * time.Second, Resolution: time.Second}
	r, err := Search(context.Background(), o, inverted)
	require.NoError(t, err)
	assert.Equal(t, BelowMin, r.Boundaries[0].Bound, "the boundary stays conservative")
	require.Equal(t, []Contradiction{{Survived: Cell{3, 20 * time.Second}, Failed: Cell{3, time.Second}}}, r.Contradictions)
	assert.Equal(t, "3x for 20s survived but 3x for 1s did not", r.Contradictions[0].String())
}

func TestContradictionsAcrossMultipliers(t *testing.T) {
	cells := []CellResult{
		{Cell: Cell{2, 5 * time.Second}, Outcome: Outcome{Verdict: Metastable}},
		{Cell: Cell{3, 5 * time.Second}, Outcome: Outcome{Verdict: Recovered}},
		{Cell: Cell{3, 4 * time.Second}, Outcome: Outcome{Verdict: Slow}},
		{Cell: Cell{4, 2 * time.Second}, Outcome: Outcome{Verdict: Metastable}},
		{Cell: Cell{1.5, 9 * time.Second}, Outcome: Outcome{Verdict: Recovered}},
	}
	// 3x for 5s survived where 2x for 5s did not; 3x for 4s is shorter
	// than every failure at or below 3x; 1.5x is below every failure.
	assert.Equal(t, []Contradiction{{Survived: Cell{3, 5 * time.Second}, Failed: Cell{2, 5 * time.Second}}}, Contradictions(cells))
	assert.Empty(t, Contradictions(nil))
}

func TestSearchIsReproducibleFromTheSeed(t *testing.T) {
	// A noisy model: its slack varies ±20% by the cell's seed. The same
	// survey seed gives the same cells and verdicts; verdicts a whole
	// other seed may move, within the noise.
	noisy := func(seed uint64) Trial {
		return func(ctx context.Context, c Cell) (Outcome, error) {
			s := CellSeed(seed, c)
			rng := rand.New(rand.NewPCG(s, s^0x5eed))
			out, err := model(100, 1000*(0.8+0.4*rng.Float64()))(ctx, c)
			out.Seed = s
			return out, err
		}
	}
	o := Options{Multipliers: []float64{2, 3, 5}, Min: time.Second, Max: 30 * time.Second, Resolution: time.Second}
	a, err := Search(context.Background(), o, noisy(42))
	require.NoError(t, err)
	b, err := Search(context.Background(), o, noisy(42))
	require.NoError(t, err)
	assert.Equal(t, a.Cells, b.Cells)
	assert.Equal(t, a.Boundaries, b.Boundaries)
	c, err := Search(context.Background(), o, noisy(43))
	require.NoError(t, err)
	assert.NotEqual(t, a.Cells[0].Seed, c.Cells[0].Seed)
}

func TestCellSeed(t *testing.T) {
	c := Cell{3, 10 * time.Second}
	assert.Equal(t, CellSeed(1, c), CellSeed(1, c))
	seen := map[uint64]Cell{}
	for _, m := range []float64{1.5, 2, 3} {
		for d := time.Second; d <= 30*time.Second; d += time.Second {
			s := CellSeed(1, Cell{m, d})
			_, dup := seen[s]
			require.False(t, dup, "seed of %v repeats", Cell{m, d})
			seen[s] = Cell{m, d}
		}
	}
	assert.NotEqual(t, CellSeed(1, c), CellSeed(2, c))
}

func TestSearchStopsOnATrialError(t *testing.T) {
	boom := errors.New("target gone")
	n := 0
	trial := func(_ context.Context, c Cell) (Outcome, error) {
		n++
		if n == 2 {
			return Outcome{}, boom
		}
		return Outcome{Verdict: Recovered}, nil
	}
	o := Options{Multipliers: []float64{3, 4}, Min: time.Second, Max: 4 * time.Second, Resolution: time.Second}
	_, err := Search(context.Background(), o, trial)
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "3x for 4s")
	assert.Equal(t, 2, n)
}

func TestSearchInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	trial := func(ctx context.Context, c Cell) (Outcome, error) {
		if c.Multiplier == 4 {
			cancel()
			return Outcome{}, ctx.Err()
		}
		return Outcome{Verdict: Recovered}, nil
	}
	o := Options{Multipliers: []float64{3, 4}, Min: time.Second, Max: 4 * time.Second, Resolution: time.Second}
	r, err := Search(ctx, o, trial)
	require.NoError(t, err)
	assert.True(t, r.Interrupted)
	assert.Len(t, r.Boundaries, 1, "3x finished, 4x did not")
	assert.Len(t, r.Cells, 2)
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Multipliers: []float64{3}, Min: time.Second, Max: 2 * time.Second, Resolution: time.Second}
	require.NoError(t, good.Validate())
	for name, tc := range map[string]struct {
		mut  func(*Options)
		want string
	}{
		"no multiplier": {func(o *Options) { o.Multipliers = nil }, "multipliers"},
		"zero":          {func(o *Options) { o.Multipliers = []float64{0} }, "multipliers"},
		"min 0":         {func(o *Options) { o.Min = 0 }, "durations"},
		"max below min": {func(o *Options) { o.Max = 0 }, "durations"},
		"no resolution": {func(o *Options) { o.Resolution = 0 }, "resolution"},
	} {
		o := good
		tc.mut(&o)
		err := o.Validate()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
		_, err = Search(context.Background(), o, model(1, 1))
		assert.Error(t, err, name)
	}
}

func TestParseDurations(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi time.Duration
		bad    bool
	}{
		{in: "1s..30s", lo: time.Second, hi: 30 * time.Second},
		{in: " 500ms .. 2s ", lo: 500 * time.Millisecond, hi: 2 * time.Second},
		{in: "10s", lo: 10 * time.Second, hi: 10 * time.Second},
		{in: "30s..1s", bad: true},
		{in: "0s..1s", bad: true},
		{in: "1s..", bad: true},
		{in: "1..2", bad: true},
	} {
		lo, hi, err := ParseDurations(tc.in)
		if tc.bad {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, [2]time.Duration{tc.lo, tc.hi}, [2]time.Duration{lo, hi}, tc.in)
	}
}

func TestParseMultiplier(t *testing.T) {
	for in, want := range map[string]float64{"3": 3, "3x": 3, " 2.5x ": 2.5} {
		m, err := ParseMultiplier(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, m, in)
	}
	for _, in := range []string{"", "x", "0", "-2x", "NaN", "three"} {
		_, err := ParseMultiplier(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "2.5x", FormatMultiplier(2.5))
}
