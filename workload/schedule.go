package workload

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Phase is one stretch of a schedule: for Duration the offered rate goes
// linearly from From to To requests per second (constant when From == To).
// A stepped phase is a sequence of constant phases (see Steps).
type Phase struct {
	Name     string        // label for reports; "" gives "phase N"
	Duration time.Duration // > 0
	From     float64       // offered rate at the phase's start, requests/s, ≥ 0
	To       float64       // offered rate at the phase's end, requests/s, ≥ 0
}

// Constant returns a phase of d at rps requests per second.
func Constant(d time.Duration, rps float64) Phase { return Phase{Duration: d, From: rps, To: rps} }

// Ramp returns a phase of d whose rate goes linearly from from to to.
func Ramp(d time.Duration, from, to float64) Phase { return Phase{Duration: d, From: from, To: to} }

// Steps returns n constant phases of d each, the rate going from from to to
// in equal steps (n == 1 gives one phase at from).
func Steps(d time.Duration, from, to float64, n int) []Phase {
	out := make([]Phase, n)
	for i := range out {
		rps := from
		if n > 1 {
			rps = from + (to-from)*float64(i)/float64(n-1)
		}
		out[i] = Constant(d, rps)
	}
	return out
}

// Count is the number of requests the phase offers: ∫rate dt = (From+To)/2 · Duration.
func (p Phase) Count() float64 { return (p.From + p.To) / 2 * p.Duration.Seconds() }

// Validate reports what is wrong with p, if anything.
func (p Phase) Validate() error {
	switch {
	case p.Duration <= 0:
		return fmt.Errorf("phase duration %v: must be > 0", p.Duration)
	case p.From < 0 || p.To < 0 || math.IsNaN(p.From) || math.IsNaN(p.To) || math.IsInf(p.From, 0) || math.IsInf(p.To, 0):
		return fmt.Errorf("phase rate %v-%v: rates must be finite and ≥ 0", p.From, p.To)
	case p.From > MaxRate || p.To > MaxRate:
		return fmt.Errorf("phase rate %v/s: above the %v/s one generator can schedule; split the load across shards (--shard I/N)", max(p.From, p.To), float64(MaxRate))
	}
	return nil
}

// MaxRate is the highest offered rate, in requests per second, that a
// schedule may ask of one generator: ten times what one loadgen process
// has sustained on our benchmarks. A higher rate is a typo or a job for
// several shards; refusing it up front beats writing a
// generator_dropped record for each of millions of requests a second.
const MaxRate = 1_000_000

// Schedule is a validated sequence of phases: the offered rate as a
// piecewise-linear function of the time since the run's start. It is
// immutable and safe for concurrent use. Its zero value is an empty
// schedule of zero duration.
type Schedule struct {
	phases []Phase
	starts []time.Duration // starts[i]: offset of phase i; starts[len] = total duration
	counts []float64       // counts[i]: ∫rate dt from 0 to starts[i]
}

// NewSchedule validates phases and returns their schedule.
func NewSchedule(phases ...Phase) (*Schedule, error) {
	if len(phases) == 0 {
		return nil, errors.New("schedule: no phases")
	}
	s := &Schedule{
		phases: append([]Phase(nil), phases...),
		starts: make([]time.Duration, len(phases)+1),
		counts: make([]float64, len(phases)+1),
	}
	for i, p := range s.phases {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("schedule phase %d: %w", i+1, err)
		}
		if s.phases[i].Name == "" {
			s.phases[i].Name = fmt.Sprintf("phase %d", i+1)
		}
		s.starts[i+1] = s.starts[i] + p.Duration
		s.counts[i+1] = s.counts[i] + p.Count()
	}
	return s, nil
}

// Phases returns a copy of the schedule's phases.
func (s *Schedule) Phases() []Phase { return append([]Phase(nil), s.phases...) }

// PhaseStart returns the offset of phase i from the run's start.
func (s *Schedule) PhaseStart(i int) time.Duration { return s.starts[i] }

// Duration is the schedule's total length.
func (s *Schedule) Duration() time.Duration {
	if len(s.starts) == 0 {
		return 0
	}
	return s.starts[len(s.starts)-1]
}

// Total is the number of requests the whole schedule offers, ∫rate dt.
func (s *Schedule) Total() float64 {
	if len(s.counts) == 0 {
		return 0
	}
	return s.counts[len(s.counts)-1]
}

// PhaseAt returns the index of the phase containing offset t (the last
// phase for t ≥ Duration, the first for t < 0).
func (s *Schedule) PhaseAt(t time.Duration) int {
	// Phases are few; a linear scan from the end beats a binary search.
	for i := len(s.phases) - 1; i > 0; i-- {
		if t >= s.starts[i] {
			return i
		}
	}
	return 0
}

// Rate is the offered rate at offset t, requests/s (0 outside the schedule).
func (s *Schedule) Rate(t time.Duration) float64 {
	if t < 0 || t >= s.Duration() {
		return 0
	}
	i := s.PhaseAt(t)
	p := s.phases[i]
	frac := float64(t-s.starts[i]) / float64(p.Duration)
	return p.From + (p.To-p.From)*frac
}

// Count is ∫rate dt from the start to offset t: the number of requests the
// schedule offers before t (clamped to [0, Total]).
//
// Within phase i, with τ = t − start(i) in seconds and D its duration:
// Count = counts[i] + From·τ + (To − From)·τ²/(2D).
func (s *Schedule) Count(t time.Duration) float64 {
	if t <= 0 || len(s.phases) == 0 {
		return 0
	}
	if t >= s.Duration() {
		return s.Total()
	}
	i := s.PhaseAt(t)
	p := s.phases[i]
	tau := (t - s.starts[i]).Seconds()
	return s.counts[i] + p.From*tau + (p.To-p.From)*tau*tau/(2*p.Duration.Seconds())
}

// TimeOf is the inverse of Count: the earliest offset at which Count
// reaches c. ok is false when c > Total (the schedule ends first).
//
// Within phase i, with Δ = c − counts[i], a = (To − From)/(2D): τ solves
// a·τ² + From·τ = Δ, computed as τ = 2Δ / (From + √(From² + 4aΔ)), which is
// exact for a constant phase (τ = Δ/From) and stable for ramps starting at 0.
func (s *Schedule) TimeOf(c float64) (t time.Duration, ok bool) {
	if c <= 0 {
		return 0, len(s.phases) > 0
	}
	if c > s.Total() {
		return s.Duration(), false
	}
	// First phase whose end count reaches c (and that has a positive rate
	// somewhere, so zero-rate phases are skipped).
	i := 0
	for i < len(s.phases)-1 && s.counts[i+1] < c {
		i++
	}
	p := s.phases[i]
	delta := c - s.counts[i]
	if delta <= 0 {
		return s.starts[i], true
	}
	d := p.Duration.Seconds()
	a := (p.To - p.From) / (2 * d)
	disc := p.From*p.From + 4*a*delta
	if disc < 0 {
		disc = 0
	}
	den := p.From + math.Sqrt(disc)
	if den <= 0 {
		return s.starts[i+1], true
	}
	tau := 2 * delta / den
	if tau > d {
		tau = d
	}
	return s.starts[i] + time.Duration(tau*float64(time.Second)), true
}
