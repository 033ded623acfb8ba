package profiles

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/survey"
)

// scalar is a profile value written as one YAML scalar. parse returns an
// error whose text is what would have been valid ("want …"); syntax
// describes the form for the docs.
type scalar interface {
	parse(text, tag string) error
	syntax() string
}

var (
	_ scalar = (*Size)(nil)
	_ scalar = (*Rate)(nil)
	_ scalar = (*Arrival)(nil)
	_ scalar = (*Preset)(nil)
	_ scalar = (*Priority)(nil)
	_ scalar = (*Backoff)(nil)
	_ scalar = (*Jitter)(nil)
	_ scalar = (*FaultKind)(nil)
	_ scalar = (*Format)(nil)
	_ scalar = (*Distribution)(nil)
	_ scalar = (*RetryClass)(nil)
	_ scalar = (*Budget)(nil)
	_ scalar = (*Throttle)(nil)
	_ scalar = (*Hedge)(nil)
	_ scalar = (*Assertion)(nil)
	_ scalar = (*SurveyDurations)(nil)
	_ scalar = (*SurveyAssertion)(nil)
)

// wantError is a parse failure; its text completes "found X, …".
type wantError string

// Error returns the "want …" text.
func (e wantError) Error() string { return string(e) }

func want(format string, args ...any) error { return wantError("want " + fmt.Sprintf(format, args...)) }

// parseEnum checks that text is one of valid, with a did-you-mean hint.
func parseEnum(text string, valid []string) error {
	for _, v := range valid {
		if text == v {
			return nil
		}
	}
	msg := "want one of " + strings.Join(valid, ", ")
	if g := suggest(text, valid); g != "" {
		msg += fmt.Sprintf("; did you mean %q?", g)
	}
	return wantError(msg)
}

func enumSyntax(valid []string) string {
	q := make([]string, len(valid))
	for i, v := range valid {
		q[i] = "`" + v + "`"
	}
	return "one of " + strings.Join(q, ", ")
}

// Size is a number of bytes, written with an optional unit: B, KB, MB,
// GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), e.g. `64KiB`.
type Size int64

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

func (s *Size) parse(text, _ string) error {
	t := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.name) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.name)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return want("a size such as 512, 64KiB or 1MB")
	}
	*s = Size(n * mult)
	return nil
}

func (Size) syntax() string { return "size (`512`, `64KiB`, `1MB`)" }

// String formats s with the largest binary unit that divides it.
func (s Size) String() string {
	for _, u := range sizeUnits[:3] {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Rate is an offered load in requests per second, written as a number
// (`200`), per second (`200/s`) or per minute (`12000/min`).
type Rate float64

func (r *Rate) parse(text, _ string) error {
	t, div := strings.TrimSpace(text), 1.0
	switch {
	case strings.HasSuffix(t, "/s"):
		t = strings.TrimSuffix(t, "/s")
	case strings.HasSuffix(t, "/min"):
		t, div = strings.TrimSuffix(t, "/min"), 60
	case strings.HasSuffix(t, "/m"):
		t, div = strings.TrimSuffix(t, "/m"), 60
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return want("a rate ≥ 0 such as 200, 200/s or 12000/min")
	}
	*r = Rate(v / div)
	return nil
}

func (Rate) syntax() string { return "rate (`200`, `200/s`, `12000/min`)" }

// String formats r in requests per second.
func (r Rate) String() string { return strconv.FormatFloat(float64(r), 'g', -1, 64) }

// Arrival is the arrival process of new requests.
type Arrival string

// Arrival processes.
const (
	ArrivalUniform Arrival = "uniform"
	ArrivalPoisson Arrival = "poisson"
)

func (Arrival) values() []string { return []string{"uniform", "poisson"} }
func (a *Arrival) parse(text, _ string) error {
	if err := parseEnum(text, a.values()); err != nil {
		return err
	}
	*a = Arrival(text)
	return nil
}
func (a Arrival) syntax() string { return enumSyntax(a.values()) }

// Preset is a starting configuration of the reference target.
type Preset string

// Presets of the reference target.
const (
	PresetUnprotected Preset = "unprotected"
	PresetProtected   Preset = "protected"
	PresetServerless  Preset = "serverless" // unprotected plus the function platform, POST /fn/{name}
)

func (Preset) values() []string { return []string{"unprotected", "protected", "serverless"} }
func (p *Preset) parse(text, _ string) error {
	if err := parseEnum(text, p.values()); err != nil {
		return err
	}
	*p = Preset(text)
	return nil
}
func (p Preset) syntax() string { return enumSyntax(p.values()) }

// Priority is the X-Priority a request carries.
type Priority string

func (Priority) values() []string { return []string{"critical", "sheddable"} }
func (p *Priority) parse(text, _ string) error {
	if err := parseEnum(text, p.values()); err != nil {
		return err
	}
	*p = Priority(text)
	return nil
}
func (p Priority) syntax() string { return enumSyntax(p.values()) }

// FaultKind is the kind of a fault: one of package faults' kinds.
type FaultKind string

// Fault kinds used by name in this package.
const (
	FaultSurge FaultKind = "surge"
	FaultBurst FaultKind = "burst"
	FaultRetry FaultKind = "retry"
)

func (FaultKind) values() []string { return faults.Kinds() }
func (k *FaultKind) parse(text, _ string) error {
	if err := parseEnum(text, k.values()); err != nil {
		return err
	}
	*k = FaultKind(text)
	return nil
}
func (k FaultKind) syntax() string { return enumSyntax(k.values()) }

// Format is a report format: one of package report's registry
// (report.Formats).
type Format string

// Report formats that the harness treats apart: text goes to stdout, and
// json, html and junit have paths of their own in report.
const (
	FormatText  Format = "text"
	FormatJSON  Format = "json"
	FormatHTML  Format = "html"
	FormatJUnit Format = "junit"
)

func (Format) values() []string { return report.Formats() }
func (f *Format) parse(text, _ string) error {
	if err := parseEnum(text, f.values()); err != nil {
		return err
	}
	*f = Format(text)
	return nil
}
func (f Format) syntax() string { return enumSyntax(f.values()) }

// Distribution is how requests spread over tenants: uniform, or Zipf with
// exponent S > 1.
type Distribution struct {
	Zipf bool    // false: uniform
	S    float64 // Zipf exponent, > 1
}

func (d *Distribution) parse(text, _ string) error {
	if text == "uniform" {
		*d = Distribution{}
		return nil
	}
	if s, ok := strings.CutPrefix(text, "zipf:"); ok {
		v, err := strconv.ParseFloat(s, 64)
		if err == nil && v > 1 && !math.IsInf(v, 0) {
			*d = Distribution{Zipf: true, S: v}
			return nil
		}
	}
	return want("uniform or zipf:S with S > 1 (e.g. zipf:1.1)")
}

func (Distribution) syntax() string { return "`uniform` or `zipf:S` (S > 1)" }

// String formats d as in a profile.
func (d Distribution) String() string {
	if !d.Zipf {
		return "uniform"
	}
	return "zipf:" + strconv.FormatFloat(d.S, 'g', -1, 64)
}

// Assertion is one check of a run's results, in the grammar
// `[variant(V).][phase(P).|route(R).]METRIC OP VALUE` (R quoted, as in
// `route("GET /a")`, unless it is a plain word). Its metric and value are
// checked against the report's list of metrics when the run starts.
type Assertion struct {
	Text    string // the assertion as written
	Variant string // only on this variant; empty: every variant
	Phase   string // scoped to this phase; empty: the whole run
	Route   string // scoped to this route, as written in route(…); empty: every route
	Metric  string // e.g. "p99", "goodput_ratio"
	Op      string // <, <=, >, >=, == or !=
	Value   string // e.g. "250ms", "0.99", "false"
}

var assertionRE = regexp.MustCompile(`^\s*(?:variant\(([^()\s]+)\)\.)?(?:phase\(([^()\s]+)\)\.)?(?:route\(("(?:[^"\\]|\\.)*"|[^()\s"]+)\)\.)?([a-z][a-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$`)

func (a *Assertion) parse(text, _ string) error {
	m := assertionRE.FindStringSubmatch(text)
	if m == nil {
		return want("[variant(NAME).][phase(NAME).][route(NAME).]METRIC OP VALUE, e.g. `p99 < 250ms`, `phase(surge).shed_ratio < 0.5` or `route(\"GET /a\").p99 < 300ms`")
	}
	*a = Assertion{Text: strings.TrimSpace(text), Variant: m[1], Phase: m[2], Route: m[3], Metric: m[4], Op: m[5], Value: m[6]}
	return nil
}

func (Assertion) syntax() string { return "assertion (`p99 < 250ms`)" }

// Expr returns the assertion without its variant scope, in the report
// package's grammar: `[phase(P).|route(R).]METRIC OP VALUE`.
func (a Assertion) Expr() string {
	s := a.Metric + " " + a.Op + " " + a.Value
	if a.Route != "" {
		s = "route(" + a.Route + ")." + s
	}
	if a.Phase != "" {
		s = "phase(" + a.Phase + ")." + s
	}
	return s
}

// String returns the assertion as written.
func (a Assertion) String() string { return a.Text }

// SurveyDurations is the range of surge durations a survey searches,
// written `MIN..MAX` (`1s..30s`), or one duration.
type SurveyDurations struct {
	Min, Max time.Duration
}

func (d *SurveyDurations) parse(text, _ string) error {
	lo, hi, err := survey.ParseDurations(text)
	if err != nil {
		return want("MIN..MAX with 0 < MIN ≤ MAX, e.g. 1s..30s")
	}
	*d = SurveyDurations{Min: lo, Max: hi}
	return nil
}

func (SurveyDurations) syntax() string { return "duration range (`1s..30s`)" }

// String returns the range as written in a profile.
func (d SurveyDurations) String() string { return d.Min.String() + ".." + d.Max.String() }

// SurveyAssertion is a check of a survey's boundary:
// `[variant(NAME).]survive(MULTIPLIERx) OP DURATION`.
type SurveyAssertion struct {
	Text    string // as written
	Variant string // only on this variant; empty: every variant
	Expr    string // the check without its variant scope, in package survey's grammar
}

var surveyVariantRE = regexp.MustCompile(`^\s*variant\(([^()\s]+)\)\.(.*)$`)

func (a *SurveyAssertion) parse(text, _ string) error {
	out := SurveyAssertion{Text: strings.TrimSpace(text), Expr: strings.TrimSpace(text)}
	if m := surveyVariantRE.FindStringSubmatch(text); m != nil {
		out.Variant, out.Expr = m[1], strings.TrimSpace(m[2])
	}
	if _, err := survey.ParseAssertion(out.Expr); err != nil {
		return want("[variant(NAME).]survive(MULTIPLIERx) OP DURATION, e.g. `survive(3x) >= 10s`")
	}
	*a = out
	return nil
}

func (SurveyAssertion) syntax() string { return "survey assertion (`survive(3x) >= 10s`)" }

// String returns the assertion as written.
func (a SurveyAssertion) String() string { return a.Text }
