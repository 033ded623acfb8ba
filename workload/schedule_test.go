package workload

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func mustSchedule(t testing.TB, phases ...Phase) *Schedule {
	t.Helper()
	s, err := NewSchedule(phases...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleRateAndCountAtFixedInstants(t *testing.T) {
	s := mustSchedule(t, Constant(10*time.Second, 200), Ramp(20*time.Second, 200, 1000), Constant(10*time.Second, 3000))
	tests := []struct {
		at    time.Duration
		rate  float64
		count float64
	}{
		{0, 200, 0},
		{5 * time.Second, 200, 1000},
		{10 * time.Second, 200, 2000},
		{20 * time.Second, 600, 2000 + 4000},
		{30 * time.Second, 3000, 2000 + 12000},
		{35 * time.Second, 3000, 14000 + 15000},
		{40 * time.Second, 0, 44000},
		{50 * time.Second, 0, 44000},
	}
	for _, tt := range tests {
		if got := s.Rate(tt.at); math.Abs(got-tt.rate) > 1e-9 {
			t.Errorf("Rate(%v) = %v, want %v", tt.at, got, tt.rate)
		}
		if got := s.Count(tt.at); math.Abs(got-tt.count) > 1e-6 {
			t.Errorf("Count(%v) = %v, want %v", tt.at, got, tt.count)
		}
		if tt.at < s.Duration() {
			back, ok := s.TimeOf(tt.count)
			if !ok || absDur(back-tt.at) > time.Microsecond {
				t.Errorf("TimeOf(%v) = %v, %v; want %v", tt.count, back, ok, tt.at)
			}
		}
	}
	if _, ok := s.TimeOf(44001); ok {
		t.Error("TimeOf past the total is ok")
	}
}

func TestNewScheduleRejectsBadPhases(t *testing.T) {
	for _, p := range []Phase{{Duration: 0, From: 1, To: 1}, {Duration: time.Second, From: -1, To: 1}, {Duration: time.Second, From: math.NaN()}, {Duration: time.Second, From: 1, To: 1e12}} {
		if _, err := NewSchedule(p); err == nil {
			t.Errorf("NewSchedule(%+v) accepted", p)
		}
	}
	if _, err := NewSchedule(); err == nil {
		t.Error("empty schedule accepted")
	}
}

func TestStepsAreEvenConstantPhases(t *testing.T) {
	got := Steps(time.Second, 100, 400, 4)
	want := []float64{100, 200, 300, 400}
	for i, p := range got {
		if p.From != want[i] || p.To != want[i] || p.Duration != time.Second {
			t.Errorf("step %d = %+v, want constant %v", i, p, want[i])
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// randomSchedule builds 1..5 phases of 0.1..20 s at 0..2000 rps, some ramps,
// some starting or ending at 0.
func randomSchedule(t testing.TB, rng *rand.Rand) *Schedule {
	n := 1 + rng.IntN(5)
	phases := make([]Phase, n)
	for i := range phases {
		d := time.Duration(100+rng.IntN(19900)) * time.Millisecond
		from, to := float64(rng.IntN(2000)), float64(rng.IntN(2000))
		switch rng.IntN(4) {
		case 0:
			to = from
		case 1:
			from = 0
		}
		phases[i] = Ramp(d, from, to)
	}
	return mustSchedule(t, phases...)
}

// Property: every phase emits ∫rate dt requests ± 1, and the starts are
// ordered and inside the schedule.
func TestPropertyUniformEmitsIntegralOfRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 60 {
		s := randomSchedule(t, rng)
		starts := IntendedStarts(s, ArrivalUniform, 0, Shard{})
		if !slices.IsSorted(starts) {
			t.Fatalf("iter %d: starts not sorted", iter)
		}
		if got, want := float64(len(starts)), s.Total(); math.Abs(got-want) > 1 {
			t.Fatalf("iter %d: %v requests, ∫rate dt = %v", iter, got, want)
		}
		perPhase := make([]int, len(s.phases))
		for _, st := range starts {
			if st < 0 || st >= s.Duration() {
				t.Fatalf("iter %d: start %v outside [0, %v)", iter, st, s.Duration())
			}
			perPhase[s.PhaseAt(st)]++
		}
		for i, p := range s.phases {
			if math.Abs(float64(perPhase[i])-p.Count()) > 1 {
				t.Fatalf("iter %d phase %d (%+v): %d requests, want %v ± 1", iter, i, p, perPhase[i], p.Count())
			}
		}
	}
}

func TestUniformSpacingIsExact(t *testing.T) {
	starts := IntendedStarts(mustSchedule(t, Constant(time.Second, 200)), ArrivalUniform, 0, Shard{})
	if len(starts) != 200 {
		t.Fatalf("%d starts, want 200", len(starts))
	}
	for k, st := range starts {
		if want := time.Duration(k) * 5 * time.Millisecond; st != want {
			t.Fatalf("start %d = %v, want %v", k, st, want)
		}
	}
}

func TestPoissonIsReproducibleAndHasTheRate(t *testing.T) {
	s := mustSchedule(t, Constant(100*time.Second, 500))
	a := IntendedStarts(s, ArrivalPoisson, 42, Shard{})
	b := IntendedStarts(s, ArrivalPoisson, 42, Shard{})
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different schedules")
	}
	c := IntendedStarts(s, ArrivalPoisson, 43, Shard{})
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same schedule")
	}
	// 50,000 expected; the standard deviation is √50000 ≈ 224.
	if n := float64(len(a)); math.Abs(n-50000) > 5*224 {
		t.Fatalf("%v arrivals, want 50000 ± 1120", n)
	}
	if !slices.IsSorted(a) {
		t.Fatal("poisson starts not sorted")
	}
}

func TestUniformShardsUnionIsTheUnshardedSchedule(t *testing.T) {
	s := mustSchedule(t, Constant(3*time.Second, 333), Ramp(2*time.Second, 333, 1000))
	full := IntendedStarts(s, ArrivalUniform, 7, Shard{})
	var union []time.Duration
	for i := range 4 {
		union = append(union, IntendedStarts(s, ArrivalUniform, 7, Shard{Index: i, Count: 4})...)
	}
	slices.Sort(union)
	if !slices.Equal(full, union) {
		t.Fatalf("union of 4 shards has %d starts, unsharded %d, or they differ", len(union), len(full))
	}
}

func TestPoissonShardsSumToTheRate(t *testing.T) {
	s := mustSchedule(t, Constant(100*time.Second, 400))
	total := 0
	var first [][]time.Duration
	for i := range 4 {
		st := IntendedStarts(s, ArrivalPoisson, 9, Shard{Index: i, Count: 4})
		first = append(first, st[:10])
		total += len(st)
	}
	if math.Abs(float64(total)-40000) > 5*200 {
		t.Fatalf("%d arrivals over 4 shards, want 40000 ± 1000", total)
	}
	if slices.Equal(first[0], first[1]) {
		t.Fatal("shards 0 and 1 drew the same stream")
	}
}

func TestArrivalIDsAreDistinctAcrossShards(t *testing.T) {
	seen := map[uint64]bool{}
	for i := range 3 {
		a := newArrivals(ArrivalPoisson, 1, Shard{Index: i, Count: 3})
		for range 1000 {
			id, _ := a.Next()
			if seen[id] {
				t.Fatalf("id %d repeated", id)
			}
			seen[id] = true
		}
	}
}

func TestPacerMultiplierIntegratesFromTheChange(t *testing.T) {
	s := mustSchedule(t, Constant(10*time.Second, 100), Ramp(10*time.Second, 100, 300))
	p := newPacer(s)
	a := newArrivals(ArrivalUniform, 0, Shard{})
	var before, after int
	changed := false
	for {
		_, x := a.Next()
		at, pace := p.At(x)
		if pace != paceAt {
			break
		}
		if !changed && at >= 4*time.Second {
			// Change at exactly 4 s, as a running Runner would on a
			// call at that instant, then re-ask for this arrival.
			p.SetMultiplier(4*time.Second, 3)
			changed = true
			at, pace = p.At(x)
			if pace != paceAt || at < 4*time.Second {
				t.Fatalf("re-paced arrival at %v, %v", at, pace)
			}
		}
		if at < 4*time.Second {
			before++
		} else {
			after++
		}
	}
	if before != 400 {
		t.Errorf("%d requests before the change, want 400", before)
	}
	// From 4 s: 3 × (600 + 4000) requests.
	if want := 3 * (s.Count(20*time.Second) - s.Count(4*time.Second)); math.Abs(float64(after)-want) > 1 {
		t.Errorf("%d requests after the change, want %v ± 1", after, want)
	}
}

func TestPacerZeroMultiplierWaits(t *testing.T) {
	p := newPacer(mustSchedule(t, Constant(10*time.Second, 100)))
	p.SetMultiplier(time.Second, 0)
	if _, pace := p.At(150); pace != paceNever {
		t.Fatalf("pace %v with multiplier 0, want paceNever", pace)
	}
	p.SetMultiplier(2*time.Second, 1)
	// Effective count stayed at 100 from 1 s to 2 s; x = 150 is 0.5 s later.
	if at, pace := p.At(150); pace != paceAt || absDur(at-2500*time.Millisecond) > time.Microsecond {
		t.Fatalf("At(150) = %v, %v; want 2.5s", at, pace)
	}
}

func BenchmarkPacer(b *testing.B) {
	s := mustSchedule(b, Constant(time.Hour, 1000), Ramp(time.Hour, 1000, 20000))
	p := newPacer(s)
	a := newArrivals(ArrivalPoisson, 1, Shard{})
	b.ReportAllocs()
	for b.Loop() {
		_, x := a.Next()
		if _, pace := p.At(x); pace != paceAt {
			a = newArrivals(ArrivalPoisson, 1, Shard{})
		}
	}
}
