package survey

import (
	"fmt"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/report"
)

// Assertion is a check of a survey's boundary: `survive(3x) >= 10s` holds
// when multiplier 3's longest surviving duration is at least 10 s. A
// boundary above the longest duration surveyed counts as that duration; one
// below the shortest counts as 0. An immutable value.
type Assertion struct {
	Expr       string // as written, trimmed
	Multiplier float64
	Op         report.Op
	Value      time.Duration
}

// ParseAssertion parses `survive(MULTIPLIERx) OP DURATION`.
func ParseAssertion(expr string) (Assertion, error) {
	a := Assertion{Expr: strings.TrimSpace(expr)}
	bad := func(why string) error {
		return fmt.Errorf("assertion %q: %s (want survive(MULTIPLIERx) OP DURATION, e.g. survive(3x) >= 10s)", a.Expr, why)
	}
	rest, ok := strings.CutPrefix(a.Expr, "survive(")
	if !ok {
		return a, bad("unknown metric")
	}
	arg, rest, ok := strings.Cut(rest, ")")
	if !ok {
		return a, bad("missing )")
	}
	m, err := ParseMultiplier(arg)
	if err != nil {
		return a, bad(err.Error())
	}
	a.Multiplier = m
	if a.Op, rest, ok = report.CutOp(strings.TrimSpace(rest)); !ok {
		return a, bad("no operator (one of < <= > >= == !=)")
	}
	rest = strings.TrimSpace(rest)
	if a.Value, err = time.ParseDuration(rest); err != nil {
		return a, bad(fmt.Sprintf("bad duration %q", rest))
	}
	return a, nil
}

// ParseAssertions parses each expression and returns every error at once.
func ParseAssertions(exprs []string) ([]Assertion, error) {
	return report.ParseEach(exprs, ParseAssertion)
}

// Check refuses an assertion on a multiplier that o does not survey.
func (a Assertion) Check(o Options) error {
	for _, m := range o.Multipliers {
		if sameMultiplier(m, a.Multiplier) {
			return nil
		}
	}
	return fmt.Errorf("assertion %q: %s is not surveyed (multipliers: %s)", a.Expr, FormatMultiplier(a.Multiplier), formatMultipliers(o.Multipliers))
}

func formatMultipliers(ms []float64) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = FormatMultiplier(m)
	}
	return strings.Join(s, ", ")
}

// Checked is an assertion's result on a survey.
type Checked struct {
	Expr   string `json:"expr"`
	Passed bool   `json:"passed"`
	// Actual is the boundary as found ("4s (5s did not)", "> 30s"), or
	// why there is none.
	Actual string `json:"actual"`
}

// Evaluate checks a against r's boundary. A multiplier whose survey did
// not finish fails.
func (a Assertion) Evaluate(r *Result) Checked {
	v := Checked{Expr: a.Expr}
	b, ok := r.Boundary(a.Multiplier)
	if !ok {
		v.Actual = "not surveyed to the end"
		return v
	}
	v.Actual = b.String()
	v.Passed = a.Op.Holds(b.Survived.Seconds(), a.Value.Seconds())
	return v
}

// Evaluate checks every assertion on r.
func Evaluate(as []Assertion, r *Result) []Checked {
	out := make([]Checked, len(as))
	for i, a := range as {
		out[i] = a.Evaluate(r)
	}
	return out
}

// Failed counts the verdicts that did not pass.
func Failed(vs []Checked) int {
	n := 0
	for _, v := range vs {
		if !v.Passed {
			n++
		}
	}
	return n
}
