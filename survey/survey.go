package survey

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Cell is one surge of a survey: the offered rate times Multiplier for
// Duration, between two stretches of baseline. A plain value.
type Cell struct {
	Multiplier float64
	Duration   time.Duration
}

// String returns the cell as "3x for 10s".
func (c Cell) String() string {
	return FormatMultiplier(c.Multiplier) + " for " + c.Duration.String()
}

// FormatMultiplier returns m as written in flags and assertions: "3x",
// "2.5x".
func FormatMultiplier(m float64) string {
	return strconv.FormatFloat(m, 'f', -1, 64) + "x"
}

// Verdict is how a service came out of one cell's surge.
type Verdict string

// The verdicts of a cell.
const (
	// Recovered: back within tolerance of the baseline, within SlowAfter
	// of the surge's end.
	Recovered Verdict = "recovered"
	// Slow: back within tolerance, but later than SlowAfter.
	Slow Verdict = "slow"
	// Metastable: not back while the trigger was gone (the judge window
	// after the surge).
	Metastable Verdict = "metastable"
)

// Survived reports whether the service came back (recovered or slow).
func (v Verdict) Survived() bool { return v == Recovered || v == Slow }

// Classify returns the verdict of a cell whose service recovered (or not)
// after recovery (from the surge's end): Metastable when it did not,
// Slow when recovery > slowAfter, Recovered otherwise. slowAfter ≤ 0
// never calls a recovery slow.
func Classify(recovered bool, recovery, slowAfter time.Duration) Verdict {
	switch {
	case !recovered:
		return Metastable
	case slowAfter > 0 && recovery > slowAfter:
		return Slow
	}
	return Recovered
}

// Outcome is what one cell amounted to.
type Outcome struct {
	Verdict Verdict
	// Recovery is the recovery time, from the surge's end; 0 when
	// metastable.
	Recovery time.Duration
	// BaselineGoodput is goodput ÷ offered over the baseline before the
	// surge (the windows recovery is judged against), AfterGoodput over
	// the judge window after it; -1 when not measured.
	BaselineGoodput, AfterGoodput float64
	// Seed is the seed the cell was played with.
	Seed uint64
}

// Trial plays one cell from a recovered service and returns its outcome.
// An error ends the survey.
type Trial func(ctx context.Context, c Cell) (Outcome, error)

// Options are the search's space: the multipliers, each surveyed on its
// own, and the durations between Min and Max, bisected to Resolution. A
// plain value; Validate checks it.
type Options struct {
	Multipliers []float64
	Min, Max    time.Duration
	// Resolution is how close the bisection brings the longest surviving
	// and the shortest failing duration.
	Resolution time.Duration
	// Progress, when set, is called after each cell, in the order played.
	Progress func(c CellResult)
}

// Validate checks the options, naming the flag-like field that is wrong.
func (o Options) Validate() error {
	if len(o.Multipliers) == 0 {
		return errors.New("multipliers: none, want at least one (e.g. 3)")
	}
	for _, m := range o.Multipliers {
		if !(m > 0) || math.IsInf(m, 0) {
			return fmt.Errorf("multipliers: %v, want > 0 (3 triples the baseline)", m)
		}
	}
	if o.Min <= 0 {
		return fmt.Errorf("durations: minimum %v, want > 0", o.Min)
	}
	if o.Max < o.Min {
		return fmt.Errorf("durations: %v..%v, want MIN ≤ MAX", o.Min, o.Max)
	}
	if o.Resolution <= 0 {
		return fmt.Errorf("resolution: %v, want > 0", o.Resolution)
	}
	return nil
}

// CellResult is one played cell: where it lies, what it amounted to, and
// when it was played (Order, from 1).
type CellResult struct {
	Cell
	Outcome
	Order int
}

// Bound says how a boundary relates to the durations surveyed.
type Bound string

// The kinds of boundary.
const (
	// Exact: the longest surviving and the shortest failed duration are
	// within the resolution of each other.
	Exact Bound = "exact"
	// AboveMax: the longest duration surveyed survived ("> MAX").
	AboveMax Bound = "above_max"
	// BelowMin: the shortest duration surveyed did not ("< MIN").
	BelowMin Bound = "below_min"
)

// Boundary is a multiplier's longest surviving surge.
type Boundary struct {
	Multiplier float64
	// Survived is the longest surviving duration below the shortest
	// failed one; 0 when Bound is BelowMin.
	Survived time.Duration
	// Failed is the shortest duration that did not survive; 0 when
	// Bound is AboveMax.
	Failed time.Duration
	Bound  Bound
}

// String returns the boundary as read in a table: "4s (5s did not)",
// "> 30s", "< 1s".
func (b Boundary) String() string {
	switch b.Bound {
	case AboveMax:
		return "> " + b.Survived.String()
	case BelowMin:
		return "< " + b.Failed.String()
	}
	return fmt.Sprintf("%v (%v did not)", b.Survived, b.Failed)
}

// Contradiction is a pair of cells that breaks monotonicity: Survived
// came back although its surge was at least as large and as long as
// Failed's, which did not.
type Contradiction struct {
	Survived, Failed Cell
}

// String says what contradicts what.
func (c Contradiction) String() string {
	return fmt.Sprintf("%s survived but %s did not", c.Survived, c.Failed)
}

// Result is a finished (or interrupted) survey.
type Result struct {
	Options Options
	// Cells in the order played.
	Cells []CellResult
	// Boundaries, one per multiplier surveyed to the end, in the order of
	// Options.Multipliers.
	Boundaries []Boundary
	// Contradictions of monotonicity among the cells, each surviving cell
	// paired with a failed one it dominates.
	Contradictions []Contradiction
	// Interrupted: the context ended the survey early; the boundaries
	// cover the multipliers finished.
	Interrupted bool
}

// Boundary returns the boundary of multiplier m, and false when m was
// not surveyed to the end.
func (r *Result) Boundary(m float64) (Boundary, bool) {
	for _, b := range r.Boundaries {
		if sameMultiplier(b.Multiplier, m) {
			return b, true
		}
	}
	return Boundary{}, false
}

// sameMultiplier compares multipliers written in decimal.
func sameMultiplier(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// Search surveys each multiplier of o in turn: it plays Min, then Max,
// then bisects between the longest surviving and the shortest failed
// duration until they are within o.Resolution. Each duration tried is Min
// plus a whole number of resolutions, or Max. When Min fails, Max is still
// played, as a check: if it survives, that is a contradiction. A trial's
// error ends the search with it; when ctx ends, Search returns what it
// has with Interrupted set and a nil error.
func Search(ctx context.Context, o Options, trial Trial) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &Result{Options: o, Cells: []CellResult{}, Boundaries: []Boundary{}, Contradictions: []Contradiction{}}
	play := func(c Cell) (Verdict, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		out, err := trial(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("survey %s: %w", c, err)
		}
		cr := CellResult{Cell: c, Outcome: out, Order: len(r.Cells) + 1}
		r.Cells = append(r.Cells, cr)
		if o.Progress != nil {
			o.Progress(cr)
		}
		return out.Verdict, nil
	}
	for _, m := range o.Multipliers {
		b, err := searchOne(m, o, play)
		if err != nil {
			if ctx.Err() != nil {
				r.Interrupted = true
				break
			}
			return r, err
		}
		r.Boundaries = append(r.Boundaries, b)
	}
	r.Contradictions = Contradictions(r.Cells)
	return r, nil
}

// searchOne finds multiplier m's boundary.
func searchOne(m float64, o Options, play func(Cell) (Verdict, error)) (Boundary, error) {
	b := Boundary{Multiplier: m}
	vMin, err := play(Cell{m, o.Min})
	if err != nil {
		return b, err
	}
	if o.Max == o.Min {
		if vMin.Survived() {
			return Boundary{Multiplier: m, Survived: o.Min, Bound: AboveMax}, nil
		}
		return Boundary{Multiplier: m, Failed: o.Min, Bound: BelowMin}, nil
	}
	vMax, err := play(Cell{m, o.Max})
	if err != nil {
		return b, err
	}
	switch {
	case !vMin.Survived():
		// Max was played as a check only: Contradictions reports it
		// when it survived.
		return Boundary{Multiplier: m, Failed: o.Min, Bound: BelowMin}, nil
	case vMax.Survived():
		return Boundary{Multiplier: m, Survived: o.Max, Bound: AboveMax}, nil
	}
	lo, hi := o.Min, o.Max
	for hi-lo > o.Resolution {
		steps := int64((hi - lo) / o.Resolution)
		mid := lo + o.Resolution*time.Duration(max(1, steps/2))
		v, err := play(Cell{m, mid})
		if err != nil {
			return b, err
		}
		if v.Survived() {
			lo = mid
		} else {
			hi = mid
		}
	}
	return Boundary{Multiplier: m, Survived: lo, Failed: hi, Bound: Exact}, nil
}

// Contradictions returns every surviving cell whose surge was at least as
// large and as long as that of a cell that did not survive (and not the
// same cell), each paired with the smallest such failed cell (shortest,
// then lowest multiplier). Survival is assumed monotone: these are the
// cells where the service, or the noise of the measurement, says
// otherwise.
func Contradictions(cells []CellResult) []Contradiction {
	out := []Contradiction{}
	for _, s := range cells {
		if !s.Verdict.Survived() {
			continue
		}
		var worst *Cell
		for _, f := range cells {
			if f.Verdict.Survived() || f.Multiplier > s.Multiplier+1e-9 || f.Duration > s.Duration {
				continue
			}
			if worst == nil || f.Duration < worst.Duration || (f.Duration == worst.Duration && f.Multiplier < worst.Multiplier) {
				c := f.Cell
				worst = &c
			}
		}
		if worst != nil {
			out = append(out, Contradiction{Survived: s.Cell, Failed: *worst})
		}
	}
	slices.SortStableFunc(out, func(a, b Contradiction) int {
		if c := cmp.Compare(a.Survived.Multiplier, b.Survived.Multiplier); c != 0 {
			return c
		}
		return cmp.Compare(a.Survived.Duration, b.Survived.Duration)
	})
	return out
}

// CellSeed derives a cell's seed from the survey's: the same survey seed
// and cell always give the same seed, and different cells different ones
// (a splitmix64 mix of the three).
func CellSeed(seed uint64, c Cell) uint64 {
	x := seed
	x = mix64(x ^ math.Float64bits(c.Multiplier))
	x = mix64(x ^ uint64(c.Duration))
	return x
}

// mix64 is splitmix64's finaliser.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
