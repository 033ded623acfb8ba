package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Op is a comparison operator of an assertion.
type Op uint8

// Comparison operators.
const (
	OpLT Op = iota // <
	OpLE           // <=
	OpGT           // >
	OpGE           // >=
	OpEQ           // ==
	OpNE           // !=
)

var opNames = [...]string{OpLT: "<", OpLE: "<=", OpGT: ">", OpGE: ">=", OpEQ: "==", OpNE: "!="}

// String returns the operator as written in assertions.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Holds reports whether "actual o want" is true.
func (o Op) Holds(actual, want float64) bool {
	switch o {
	case OpLT:
		return actual < want
	case OpLE:
		return actual <= want
	case OpGT:
		return actual > want
	case OpGE:
		return actual >= want
	case OpEQ:
		return actual == want
	case OpNE:
		return actual != want
	}
	return false
}

// Assertion is one parsed check: [phase(NAME).][route(NAME).]METRIC OP
// VALUE. It is an immutable value, safe to share.
type Assertion struct {
	Expr   string // as written, trimmed
	Phase  string // the phase it is scoped to; "" for the whole run
	Route  string // the route it is scoped to (within Phase, when set); "" for every route
	Metric Metric
	Op     Op
	Value  float64 // in the unit of Figures (seconds for durations, 0/1 for booleans)
}

// String returns the assertion in canonical form.
func (a Assertion) String() string {
	var b strings.Builder
	if a.Phase != "" {
		fmt.Fprintf(&b, "phase(%s).", a.Phase)
	}
	if a.Route != "" {
		fmt.Fprintf(&b, "route(%s).", quoteRoute(a.Route))
	}
	fmt.Fprintf(&b, "%s %s %s", a.Metric.Name, a.Op, a.formatValue(a.Value))
	return b.String()
}

// formatValue writes v exactly enough to be parsed back.
func (a Assertion) formatValue(v float64) string {
	switch a.Metric.Unit {
	case UnitDuration:
		return durFromS(v).String()
	case UnitBool:
		return strconv.FormatBool(v != 0)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ParseAssertion parses one assertion. The grammar (docs/assertions.md):
//
//	assertion = [ "phase(" NAME ")." ] [ "route(" ROUTE ")." ] METRIC OP VALUE
//	ROUTE     = a Go-quoted string ("GET /a") | a plain word (checkout)
//	OP        = "<" | "<=" | ">" | ">=" | "==" | "!="
//	VALUE     = duration (250ms, 1.5s; for duration metrics)
//	          | number [ "%" ] (0.99 or 99%; for ratios, rates and counts)
//	          | "true" | "false" (for boolean metrics, with == or != only)
//
// Unknown metrics are refused with the list of valid ones and the nearest
// name; a value of the wrong kind is refused with what would be valid.
func ParseAssertion(expr string) (Assertion, error) {
	a := Assertion{Expr: strings.TrimSpace(expr)}
	rest := a.Expr
	if after, ok := strings.CutPrefix(rest, "phase("); ok {
		name, tail, ok := strings.Cut(after, ")")
		name = strings.TrimSpace(name)
		if !ok || name == "" || !strings.HasPrefix(tail, ".") {
			return a, fmt.Errorf("assertion %q: phase scope must read phase(NAME).METRIC", a.Expr)
		}
		a.Phase, rest = name, tail[1:]
	}
	if after, ok := strings.CutPrefix(rest, "route("); ok {
		route, tail, err := cutRoute(after)
		if err != nil {
			return a, fmt.Errorf("assertion %q: %w", a.Expr, err)
		}
		a.Route, rest = route, tail
	}
	i := strings.IndexAny(rest, "<>=!")
	if i < 0 {
		return a, fmt.Errorf("assertion %q: no operator (want METRIC OP VALUE, OP one of < <= > >= == !=)", a.Expr)
	}
	name := strings.TrimSpace(rest[:i])
	op, after, ok := CutOp(rest[i:])
	if !ok {
		return a, fmt.Errorf("assertion %q: bad operator %q (valid: < <= > >= == !=)", a.Expr, rest[i:min(i+2, len(rest))])
	}
	a.Op = op
	valueText := strings.TrimSpace(after)
	if name == "" {
		return a, fmt.Errorf("assertion %q: missing metric before %s", a.Expr, op)
	}
	m, ok := LookupMetric(name)
	if !ok {
		return a, unknownMetricError(a.Expr, name)
	}
	a.Metric = m
	if m.RunOnly && a.Phase != "" {
		return a, fmt.Errorf("assertion %q: %s is measured for the whole run only, not per phase", a.Expr, m.Name)
	}
	if m.RunOnly && a.Route != "" {
		return a, fmt.Errorf("assertion %q: %s is measured for the whole run only, not per route", a.Expr, m.Name)
	}
	if valueText == "" {
		return a, fmt.Errorf("assertion %q: missing value after %s", a.Expr, op)
	}
	v, err := parseMetricValue(m, op, valueText)
	if err != nil {
		return a, fmt.Errorf("assertion %q: %w", a.Expr, err)
	}
	a.Value = v
	return a, nil
}

// ParseAssertions parses each expression and returns every error at once.
func ParseAssertions(exprs []string) ([]Assertion, error) {
	return ParseEach(exprs, ParseAssertion)
}

// ParseEach parses each expression with parse and returns what parsed, and
// every error at once (joined), so that a command line with several bad
// assertions names them all. Other kinds of assertion (a survey's) share it.
func ParseEach[T any](exprs []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(exprs))
	var errs []error
	for _, e := range exprs {
		v, err := parse(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// CutOp parses the operator at the start of s (one of < <= > >= == !=,
// the longest that matches) and returns it with the text after it, or
// false when s starts with none of them.
func CutOp(s string) (op Op, after string, ok bool) {
	n := 1
	if len(s) > 1 && s[1] == '=' {
		n = 2
	}
	for i, name := range opNames {
		if name == s[:min(n, len(s))] {
			return Op(i), s[n:], true
		}
	}
	return 0, s, false
}

func parseMetricValue(m Metric, op Op, s string) (float64, error) {
	switch m.Unit {
	case UnitBool:
		b, err := strconv.ParseBool(s)
		if err != nil || (s != "true" && s != "false") {
			return 0, fmt.Errorf("%s is a boolean: value must be true or false, not %q", m.Name, s)
		}
		if op != OpEQ && op != OpNE {
			return 0, fmt.Errorf("%s is a boolean: compare it with == or !=, not %s", m.Name, op)
		}
		if b {
			return 1, nil
		}
		return 0, nil
	case UnitDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
				return 0, fmt.Errorf("%s is a duration: give a unit, e.g. %sms", m.Name, s)
			}
			return 0, fmt.Errorf("%s is a duration (e.g. 250ms, 1.5s), not %q", m.Name, s)
		}
		return d.Seconds(), nil
	}
	num, percent := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		kind := "a number"
		if m.Unit == UnitRatio {
			kind = "a ratio (0.99) or a percentage (99%)"
		}
		return 0, fmt.Errorf("%s takes %s, not %q", m.Name, kind, s)
	}
	if percent {
		if m.Unit != UnitRatio {
			return 0, fmt.Errorf("%s is not a ratio: a percentage (%q) does not apply", m.Name, s)
		}
		v /= 100
	}
	return v, nil
}

// unknownMetricError names the nearest valid metrics and lists them all.
func unknownMetricError(expr, name string) error {
	names := make([]string, len(metricList))
	var nearest []string
	bestD := max(2, len(name)/3) + 1
	for i, m := range metricList {
		names[i] = m.Name
		switch d := editDistance(name, m.Name); {
		case d < bestD:
			nearest, bestD = []string{m.Name}, d
		case d == bestD:
			nearest = append(nearest, m.Name)
		}
	}
	hint := ""
	if len(nearest) > 0 {
		hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(nearest, " or "))
	}
	return fmt.Errorf("assertion %q: unknown metric %q%s; valid metrics: %s", expr, name, hint, strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Verdict is the outcome of one assertion against a run.
type Verdict struct {
	Assertion Assertion
	Pass      bool
	// Measured is false when the run has no value for the metric (no
	// disturbance for recovery_time, not a ramp for tipping_point, an
	// unknown phase): the assertion then fails.
	Measured bool
	Actual   float64 // in the unit of Figures; meaningful when Measured
	// Message says, for people, what was found: "p99 = 312ms, want < 250ms".
	Message string
}

// Scopes are the figures of the parts of a run that an assertion can be
// scoped to.
type Scopes struct {
	Phases map[string]Figures // by phase name
	Routes map[string]Figures // by route label
	// PhaseRoutes are the figures of each route within each phase, by
	// phase name then route label (see PhaseRouteFigures).
	PhaseRoutes map[string]map[string]Figures
}

// ScopesOf returns the phase, route and phase-and-route figures of s.
func ScopesOf(s *Summary) Scopes {
	return Scopes{Phases: PhaseFigures(s), Routes: RouteFigures(s), PhaseRoutes: PhaseRouteFigures(s)}
}

// Evaluate checks a against a run's figures and, when a is scoped, its
// phase's or route's. It never fails silently: every verdict carries the
// actual value or why there is none.
func (a Assertion) Evaluate(run Figures, scopes Scopes) Verdict {
	v := Verdict{Assertion: a}
	figs := run
	subject := a.Metric.Name
	if a.Route != "" {
		subject = fmt.Sprintf("route(%s).%s", quoteRoute(a.Route), subject)
	}
	if a.Phase != "" {
		subject = fmt.Sprintf("phase(%s).%s", a.Phase, subject)
	}
	scoped := func(kind, name string, all map[string]Figures) bool {
		var ok bool
		if figs, ok = all[name]; ok {
			return true
		}
		known := make([]string, 0, len(all))
		for n := range all {
			if kind == "route" {
				n = quoteRoute(n)
			}
			known = append(known, n)
		}
		slices.Sort(known)
		v.Message = fmt.Sprintf("%s: no %s %q in this run (%ss: %s)", subject, kind, name, kind, strings.Join(known, ", "))
		return false
	}
	switch {
	case a.Phase != "" && a.Route != "":
		if !scoped("phase", a.Phase, scopes.Phases) {
			return v
		}
		if !scoped("route", a.Route, scopes.Routes) {
			return v
		}
		var ok bool
		if figs, ok = scopes.PhaseRoutes[a.Phase][a.Route]; !ok {
			v.Message = fmt.Sprintf("%s: %s", subject, phaseRouteMissing(a.Phase, a.Route, scopes))
			return v
		}
	case a.Phase != "":
		if !scoped("phase", a.Phase, scopes.Phases) {
			return v
		}
	case a.Route != "":
		if !scoped("route", a.Route, scopes.Routes) {
			return v
		}
	}
	actual, ok := figs[a.Metric.Name]
	if !ok && a.Metric.Name == "recovery_time" && figs["recovered"] == 0 {
		if _, analysed := figs["recovered"]; analysed {
			v.Message = fmt.Sprintf("%s: the service did not recover before the run ended, want %s %s", subject, a.Op, a.Metric.Format(a.Value))
			return v
		}
	}
	if !ok {
		v.Message = fmt.Sprintf("%s: not measured in this run, want %s %s", subject, a.Op, a.Metric.Format(a.Value))
		return v
	}
	v.Measured, v.Actual = true, actual
	v.Pass = a.Op.Holds(actual, a.Value)
	v.Message = fmt.Sprintf("%s = %s, want %s %s", subject, a.Metric.Format(actual), a.Op, a.Metric.Format(a.Value))
	return v
}

// phaseRouteMissing says why a route of the run has no figures in a
// phase: it is past the routes measured per phase, or it made no request
// there.
func phaseRouteMissing(phase, route string, scopes Scopes) string {
	measured := false
	for _, routes := range scopes.PhaseRoutes {
		_, ok := routes[route]
		measured = measured || ok
	}
	if !measured {
		if _, ok := scopes.PhaseRoutes[phase][OtherRouteSeries]; ok {
			return fmt.Sprintf("route %s is past the first %d routes of the run, which alone are measured per phase (the others count together as route(%q))",
				quoteRoute(route), MaxRouteSeries, OtherRouteSeries)
		}
	}
	return fmt.Sprintf("route %s made no request in phase %q", quoteRoute(route), phase)
}

// Evaluate checks every assertion; see Assertion.Evaluate.
func Evaluate(as []Assertion, run Figures, scopes Scopes) []Verdict {
	out := make([]Verdict, len(as))
	for i, a := range as {
		out[i] = a.Evaluate(run, scopes)
	}
	return out
}

// cutRoute reads the ROUTE of route(ROUTE). and returns it with what
// follows the dot.
func cutRoute(s string) (route, rest string, err error) {
	const want = `route scope must read route("METHOD /path").METRIC or route(word).METRIC`
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", errors.New(want)
		}
		route, _ = strconv.Unquote(q)
		s = s[len(q):]
	} else {
		i := strings.IndexByte(s, ')')
		if i < 0 {
			return "", "", errors.New(want)
		}
		route, s = strings.TrimSpace(s[:i]), s[i:]
		if !plainWord(route) {
			return "", "", fmt.Errorf("route %q: quote a route that is not a plain word: route(%q)", route, route)
		}
	}
	rest, ok := strings.CutPrefix(s, ").")
	if !ok || route == "" {
		return "", "", errors.New(want)
	}
	return route, rest, nil
}

// plainWord reports whether s needs no quotes in route(…): letters,
// digits, '-', '_', '.' and '/'.
func plainWord(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// quoteRoute writes a route as route(…) takes it.
func quoteRoute(r string) string {
	if plainWord(r) {
		return r
	}
	return strconv.Quote(r)
}

// Failed counts the verdicts that did not pass.
func Failed(vs []Verdict) int {
	n := 0
	for _, v := range vs {
		if !v.Pass {
			n++
		}
	}
	return n
}

// WriteVerdicts writes one line per verdict ("PASS p99 = 80ms, want < 250ms"
// or "FAIL …") and a closing count.
func WriteVerdicts(w io.Writer, vs []Verdict) error {
	var b strings.Builder
	for _, v := range vs {
		mark := "PASS"
		if !v.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "%s  %s\n", mark, v.Message)
	}
	fmt.Fprintf(&b, "assertions: %d passed, %d failed\n", len(vs)-Failed(vs), Failed(vs))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write verdicts: %w", err)
	}
	return nil
}

// verdictJSON is a verdict as the JSON summary shows it.
type verdictJSON struct {
	Assertion string   `json:"assertion"`
	Pass      bool     `json:"pass"`
	Actual    *float64 `json:"actual"`
	Message   string   `json:"message"`
}

// MarshalJSON writes {"assertion", "pass", "actual" (null when not
// measured; seconds for durations), "message"}.
func (v Verdict) MarshalJSON() ([]byte, error) {
	j := verdictJSON{Assertion: v.Assertion.Expr, Pass: v.Pass, Message: v.Message}
	if v.Measured {
		j.Actual = &v.Actual
	}
	return json.Marshal(j)
}
