package survey

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Setup says how a survey's cells were played, for its reports.
type Setup struct {
	// Target names the service: a URL, or "embedded PRESET".
	Target string
	// BaselineRPS is the offered rate before and after each surge.
	BaselineRPS float64
	// Warmup is the baseline before each surge, Judge the baseline after
	// it, over which recovery is judged.
	Warmup, Judge time.Duration
	// SlowAfter is the recovery time beyond which a cell is slow.
	SlowAfter time.Duration
	// Seed is the survey's seed; each cell's derives from it (CellSeed).
	Seed uint64
	// Wall is how long the survey took.
	Wall time.Duration
}

// Report is a survey with how it was played and its assertions' results:
// what the text, JSON and HTML forms show.
type Report struct {
	Setup      Setup
	Result     *Result
	Assertions []Checked
}

// durationsTried returns every duration played, in order.
func durationsTried(cells []CellResult) []time.Duration {
	var ds []time.Duration
	for _, c := range cells {
		ds = append(ds, c.Duration)
	}
	slices.Sort(ds)
	return slices.Compact(ds)
}

// cellAt returns the cell of multiplier m and duration d (the last played
// when it was played twice).
func cellAt(cells []CellResult, m float64, d time.Duration) (CellResult, bool) {
	for i := len(cells) - 1; i >= 0; i-- {
		if sameMultiplier(cells[i].Multiplier, m) && cells[i].Duration == d {
			return cells[i], true
		}
	}
	return CellResult{}, false
}

// cellText is a cell as the text table shows it.
func cellText(c CellResult) string {
	if c.Verdict.Survived() {
		return fmt.Sprintf("%s %s", c.Verdict, formatSeconds(c.Recovery))
	}
	return string(c.Verdict)
}

// formatSeconds returns d in seconds with one decimal: "2.5s".
func formatSeconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// boundaryText returns the boundary of multiplier m as the reports show it, or "(not finished)".
func (r *Result) boundaryText(m float64) string {
	if b, ok := r.Boundary(m); ok {
		return b.String()
	}
	return "(not finished)"
}

// summaryLine says what was surveyed and how.
func (rep *Report) summaryLine() string {
	s, o := rep.Setup, rep.Result.Options
	return fmt.Sprintf("survey of %s: baseline %g/s; surges of %s for %v..%v (resolution %v); %v of baseline before each, %v after to judge recovery (slow after %v); seed %d; %d cells in %v",
		s.Target, s.BaselineRPS, formatMultipliers(o.Multipliers), o.Min, o.Max, o.Resolution, s.Warmup, s.Judge, s.SlowAfter, s.Seed, len(rep.Result.Cells), s.Wall.Round(time.Second))
}

// WriteText writes the survey as a table, a row per multiplier and a
// column per duration played, then the boundaries, the contradictions
// and the assertions.
func WriteText(w io.Writer, rep *Report) error {
	r := rep.Result
	var b strings.Builder
	fmt.Fprintln(&b, rep.summaryLine())
	if r.Interrupted {
		fmt.Fprintln(&b, "interrupted: the boundaries cover the multipliers finished")
	}
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	ds := durationsTried(r.Cells)
	fmt.Fprint(tw, "multiplier")
	for _, d := range ds {
		fmt.Fprintf(tw, "\t%v", d)
	}
	fmt.Fprintln(tw, "\tsurvives")
	for _, m := range r.Options.Multipliers {
		fmt.Fprint(tw, FormatMultiplier(m))
		for _, d := range ds {
			text := "·"
			if c, ok := cellAt(r.Cells, m, d); ok {
				text = cellText(c)
			}
			fmt.Fprintf(tw, "\t%s", text)
		}
		fmt.Fprintf(tw, "\t%s\n", r.boundaryText(m))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the survey table: %w", err)
	}
	fmt.Fprintln(&b, "\nrecovered: back within tolerance of the baseline (recovery time from the surge's end); slow: later than the slow-after threshold; metastable: not back while the surge was gone; ·: not played")
	if len(r.Contradictions) == 0 {
		fmt.Fprintln(&b, "monotonicity: no contradiction (no surge survived that was as large and as long as one that did not)")
	} else {
		fmt.Fprintf(&b, "monotonicity: %d contradiction(s), the boundaries are not to be trusted beyond the noise they show:\n", len(r.Contradictions))
		for _, c := range r.Contradictions {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	if len(rep.Assertions) > 0 {
		fmt.Fprintf(&b, "assertions: %d passed, %d failed\n", len(rep.Assertions)-Failed(rep.Assertions), Failed(rep.Assertions))
		for _, a := range rep.Assertions {
			mark := "PASS"
			if !a.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "  %s %s (survives %s)\n", mark, a.Expr, a.Actual)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write the survey: %w", err)
	}
	return nil
}

// jsonSurvey is the JSON form of a survey.
type jsonSurvey struct {
	Survey struct {
		Target         string              `json:"target"`
		BaselineRPS    float64             `json:"baseline_rps"`
		Multipliers    []float64           `json:"multipliers"`
		MinS           float64             `json:"min_duration_s"`
		MaxS           float64             `json:"max_duration_s"`
		ResolutionS    float64             `json:"resolution_s"`
		WarmupS        float64             `json:"warmup_s"`
		JudgeS         float64             `json:"judge_s"`
		SlowAfterS     float64             `json:"slow_after_s"`
		Seed           uint64              `json:"seed"`
		WallS          float64             `json:"wall_s"`
		Interrupted    bool                `json:"interrupted"`
		Cells          []jsonCell          `json:"cells"`
		Boundary       []jsonBoundary      `json:"boundary"`
		Contradictions []jsonContradiction `json:"contradictions"`
	} `json:"survey"`
	Assertions []Checked `json:"assertions"`
}

type jsonCell struct {
	Order           int     `json:"order"`
	Multiplier      float64 `json:"multiplier"`
	DurationS       float64 `json:"duration_s"`
	Verdict         Verdict `json:"verdict"`
	RecoveryS       float64 `json:"recovery_s"`
	BaselineGoodput float64 `json:"baseline_goodput_ratio"`
	AfterGoodput    float64 `json:"after_goodput_ratio"`
	Seed            uint64  `json:"seed"`
}

type jsonBoundary struct {
	Multiplier float64 `json:"multiplier"`
	// SurvivedS is the longest surviving duration (the boundary).
	SurvivedS float64 `json:"longest_survived_s"`
	// FailedS is the shortest failed duration, 0 when none failed.
	FailedS float64 `json:"shortest_failed_s"`
	Bound   Bound   `json:"bound"`
	Text    string  `json:"text"`
}

type jsonContradiction struct {
	Survived jsonCellRef `json:"survived"`
	Failed   jsonCellRef `json:"failed"`
}

type jsonCellRef struct {
	Multiplier float64 `json:"multiplier"`
	DurationS  float64 `json:"duration_s"`
}

// WriteJSON writes the survey as one JSON object: survey.cells[] (in the
// order played), survey.boundary[] (per multiplier, the longest surviving
// duration), survey.contradictions[], and assertions[].
func WriteJSON(w io.Writer, rep *Report) error {
	r, s := rep.Result, rep.Setup
	var j jsonSurvey
	js := &j.Survey
	js.Target, js.BaselineRPS, js.Multipliers = s.Target, s.BaselineRPS, r.Options.Multipliers
	js.MinS, js.MaxS, js.ResolutionS = r.Options.Min.Seconds(), r.Options.Max.Seconds(), r.Options.Resolution.Seconds()
	js.WarmupS, js.JudgeS, js.SlowAfterS = s.Warmup.Seconds(), s.Judge.Seconds(), s.SlowAfter.Seconds()
	js.Seed, js.WallS, js.Interrupted = s.Seed, s.Wall.Seconds(), r.Interrupted
	js.Cells = make([]jsonCell, len(r.Cells))
	for i, c := range r.Cells {
		js.Cells[i] = jsonCell{Order: c.Order, Multiplier: c.Multiplier, DurationS: c.Duration.Seconds(), Verdict: c.Verdict,
			RecoveryS: c.Recovery.Seconds(), BaselineGoodput: c.BaselineGoodput, AfterGoodput: c.AfterGoodput, Seed: c.Seed}
	}
	js.Boundary = make([]jsonBoundary, len(r.Boundaries))
	for i, b := range r.Boundaries {
		js.Boundary[i] = jsonBoundary{Multiplier: b.Multiplier, SurvivedS: b.Survived.Seconds(), FailedS: b.Failed.Seconds(), Bound: b.Bound, Text: b.String()}
	}
	js.Contradictions = make([]jsonContradiction, len(r.Contradictions))
	for i, c := range r.Contradictions {
		js.Contradictions[i] = jsonContradiction{
			Survived: jsonCellRef{c.Survived.Multiplier, c.Survived.Duration.Seconds()},
			Failed:   jsonCellRef{c.Failed.Multiplier, c.Failed.Duration.Seconds()},
		}
	}
	j.Assertions = rep.Assertions
	if j.Assertions == nil {
		j.Assertions = []Checked{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&j); err != nil {
		return fmt.Errorf("write the survey JSON: %w", err)
	}
	return nil
}

// sortedMultipliers returns the multipliers from the largest to the
// smallest: the heat map's rows, the largest surge on top.
func sortedMultipliers(ms []float64) []float64 {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b float64) int { return cmp.Compare(b, a) })
	return out
}
