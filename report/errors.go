package report

import (
	"cmp"
	"slices"

	"github.com/goodput-dev/goodput/results"
)

const (
	// maxErrorEntries bounds Summary.Errors: the most frequent messages,
	// then one OtherError entry for the rest.
	maxErrorEntries = 20
	// maxErrorKeys bounds the (message, outcome) pairs counted apart;
	// attempts past them count under OtherError.
	maxErrorKeys = 4 * results.MaxErrors
)

// ErrorCount counts the failed attempts of one error message and outcome
// class.
type ErrorCount struct {
	Error   string `json:"error"`             // results.Result.Error: normalized, e.g. "connection refused"
	Outcome string `json:"outcome,omitempty"` // outcome class; absent on the "other" entry when it sums several
	Count   int64  `json:"count"`             // attempts
}

type errKey struct {
	text    string
	outcome results.Outcome
}

// errAcc counts attempts by error message and outcome. The reader interns
// messages, so counting a known one does not allocate.
type errAcc struct {
	counts map[errKey]int64
	other  int64 // attempts past maxErrorKeys
}

func (e *errAcc) add(r *results.Result) {
	if r.Error == "" {
		return
	}
	k := errKey{r.Error, r.Outcome}
	if _, ok := e.counts[k]; !ok {
		if e.counts == nil {
			e.counts = make(map[errKey]int64)
		}
		if len(e.counts) >= maxErrorKeys {
			e.other++
			return
		}
	}
	e.counts[k]++
}

// list returns the counts, most frequent first (ties by message, then
// outcome), at most maxErrorEntries of them and then one OtherError entry
// summing the rest (and the writer's own OtherError attempts).
func (e *errAcc) list() []ErrorCount {
	if len(e.counts) == 0 && e.other == 0 {
		return nil
	}
	out := make([]ErrorCount, 0, len(e.counts))
	for k, n := range e.counts {
		out = append(out, ErrorCount{Error: k.text, Outcome: k.outcome.String(), Count: n})
	}
	slices.SortFunc(out, func(x, y ErrorCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Error, y.Error), cmp.Compare(x.Outcome, y.Outcome))
	})
	tail := ErrorCount{Error: results.OtherError, Count: e.other}
	var outcomes []string
	if e.other > 0 {
		outcomes = append(outcomes, "")
	}
	keep := out[:0]
	for _, c := range out {
		if c.Error == results.OtherError || len(keep) >= maxErrorEntries {
			tail.Count += c.Count
			if !slices.Contains(outcomes, c.Outcome) {
				outcomes = append(outcomes, c.Outcome)
			}
			continue
		}
		keep = append(keep, c)
	}
	if tail.Count > 0 {
		if len(outcomes) == 1 {
			tail.Outcome = outcomes[0]
		}
		keep = append(keep, tail)
	}
	return keep
}

// writeErrors writes the text report's lines on error messages, when the
// run had failed attempts with one.
func writeErrors(t *textWriter, s *Summary) {
	if len(s.Errors) == 0 {
		return
	}
	t.printf("errors        (failed attempts by message, most frequent first)\n")
	for _, e := range s.Errors {
		t.printf("  %8d  %-17s %s\n", e.Count, e.Outcome, e.Error)
	}
}
