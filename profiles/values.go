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
	_ scalar = (*LatencyDist)(nil)
	_ scalar = (*Format)(nil)
	_ scalar = (*Distribution)(nil)
	_ scalar = (*RetryClass)(nil)
	_ scalar = (*Budget)(nil)
	_ scalar = (*Throttle)(nil)
	_ scalar = (*Hedge)(nil)
	_ scalar = (*Assertion)(nil)
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
)

func (Preset) values() []string { return []string{"unprotected", "protected"} }
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

// Backoff is the kind of delay between attempts.
type Backoff string

func (Backoff) values() []string { return []string{"none", "constant", "exponential"} }
func (b *Backoff) parse(text, _ string) error {
	if err := parseEnum(text, b.values()); err != nil {
		return err
	}
	*b = Backoff(text)
	return nil
}
func (b Backoff) syntax() string { return enumSyntax(b.values()) }

// Jitter is the randomisation applied to a backoff delay.
type Jitter string

func (Jitter) values() []string { return []string{"none", "full", "equal", "decorrelated"} }
func (j *Jitter) parse(text, _ string) error {
	if err := parseEnum(text, j.values()); err != nil {
		return err
	}
	*j = Jitter(text)
	return nil
}
func (j Jitter) syntax() string { return enumSyntax(j.values()) }

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

// LatencyDist is the shape of a latency distribution.
type LatencyDist string

func (LatencyDist) values() []string { return []string{"fixed", "uniform", "lognormal"} }
func (d *LatencyDist) parse(text, _ string) error {
	if err := parseEnum(text, d.values()); err != nil {
		return err
	}
	*d = LatencyDist(text)
	return nil
}
func (d LatencyDist) syntax() string { return enumSyntax(d.values()) }

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

// RetryClass is an outcome that clients retry: a status code ("503"), a
// status class ("5xx"), "timeout" or "conn".
type RetryClass string

var retryClassRE = regexp.MustCompile(`^([1-5][0-9][0-9]|[45]xx|timeout|conn)$`)

func (c *RetryClass) parse(text, _ string) error {
	if !retryClassRE.MatchString(text) {
		return want("a status code (503), a class (4xx, 5xx), timeout or conn")
	}
	*c = RetryClass(text)
	return nil
}

func (RetryClass) syntax() string { return "status (`503`), class (`5xx`), `timeout` or `conn`" }

// Budget is a retry budget.
type Budget struct {
	Kind  string  // "none", "token", "aws" or "ratio"
	Max   float64 // token: bucket size
	Ratio float64 // token: tokens a success adds; ratio: retries ÷ requests allowed
}

func (b *Budget) parse(text, _ string) error {
	bad := want("none, token:MAX,RATIO (e.g. token:10,0.1), aws or ratio:FRACTION (e.g. ratio:0.1)")
	switch {
	case text == "none" || text == "":
		*b = Budget{Kind: "none"}
	case text == "aws":
		*b = Budget{Kind: "aws"}
	case strings.HasPrefix(text, "token:"):
		mx, ratio, ok := strings.Cut(strings.TrimPrefix(text, "token:"), ",")
		m, err1 := strconv.ParseFloat(mx, 64)
		r, err2 := strconv.ParseFloat(ratio, 64)
		if !ok || err1 != nil || err2 != nil || !(m >= 1) || !(r > 0) || math.IsInf(m, 0) || math.IsInf(r, 0) {
			return bad
		}
		*b = Budget{Kind: "token", Max: m, Ratio: r}
	case strings.HasPrefix(text, "ratio:"):
		r, err := strconv.ParseFloat(strings.TrimPrefix(text, "ratio:"), 64)
		if err != nil || !(r > 0 && r <= 1) {
			return bad
		}
		*b = Budget{Kind: "ratio", Ratio: r}
	default:
		return bad
	}
	return nil
}

func (Budget) syntax() string { return "`none`, `token:MAX,RATIO`, `aws` or `ratio:FRACTION`" }

// String formats b as in a profile (and as the --retry-budget flag).
func (b Budget) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch b.Kind {
	case "token":
		return "token:" + f(b.Max) + "," + f(b.Ratio)
	case "ratio":
		return "ratio:" + f(b.Ratio)
	case "":
		return "none"
	}
	return b.Kind
}

// Throttle is client-side adaptive throttling (Google SRE book).
type Throttle struct {
	K float64 // 0: no throttling; otherwise the accepts multiplier, ≥ 1
}

func (t *Throttle) parse(text, _ string) error {
	if text == "none" || text == "" {
		*t = Throttle{}
		return nil
	}
	if s, ok := strings.CutPrefix(text, "sre:"); ok {
		if k, err := strconv.ParseFloat(s, 64); err == nil && k >= 1 && !math.IsInf(k, 0) {
			*t = Throttle{K: k}
			return nil
		}
	}
	return want("none or sre:K with K ≥ 1 (e.g. sre:2)")
}

func (Throttle) syntax() string { return "`none` or `sre:K` (K ≥ 1)" }

// String formats t as in a profile (and as the --throttle flag).
func (t Throttle) String() string {
	if t.K == 0 {
		return "none"
	}
	return "sre:" + strconv.FormatFloat(t.K, 'g', -1, 64)
}

// Hedge is when a hedged second attempt is sent: after a fixed delay, or
// after a percentile of recent latencies. The zero value is no hedging.
type Hedge struct {
	After      time.Duration // fixed delay; 0 when Percentile is used
	Percentile float64       // e.g. 95 for p95; 0 when After is used
}

func (h *Hedge) parse(text, _ string) error {
	if text == "" || text == "none" {
		*h = Hedge{}
		return nil
	}
	if s, ok := strings.CutPrefix(text, "p"); ok {
		if p, err := strconv.ParseFloat(s, 64); err == nil && p > 0 && p < 100 {
			*h = Hedge{Percentile: p}
			return nil
		}
	}
	if d, err := time.ParseDuration(text); err == nil && d > 0 {
		*h = Hedge{After: d}
		return nil
	}
	return want("a delay such as 100ms, or a percentile such as p95")
}

func (Hedge) syntax() string { return "delay (`100ms`) or percentile (`p95`)" }

// String formats h as in a profile (and as the --hedge-after flag).
func (h Hedge) String() string {
	switch {
	case h.Percentile > 0:
		return "p" + strconv.FormatFloat(h.Percentile, 'g', -1, 64)
	case h.After > 0:
		return h.After.String()
	}
	return "none"
}

// Assertion is one check of a run's results, in the grammar
// `[variant(V).][phase(P).]METRIC OP VALUE`. Its metric and value are
// checked against the report's list of metrics when the run starts.
type Assertion struct {
	Text    string // the assertion as written
	Variant string // only on this variant; empty: every variant
	Phase   string // scoped to this phase; empty: the whole run
	Metric  string // e.g. "p99", "goodput_ratio"
	Op      string // <, <=, >, >=, == or !=
	Value   string // e.g. "250ms", "0.99", "false"
}

var assertionRE = regexp.MustCompile(`^\s*(?:variant\(([^()\s]+)\)\.)?(?:phase\(([^()\s]+)\)\.)?([a-z][a-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$`)

func (a *Assertion) parse(text, _ string) error {
	m := assertionRE.FindStringSubmatch(text)
	if m == nil {
		return want("[variant(NAME).][phase(NAME).]METRIC OP VALUE, e.g. `p99 < 250ms` or `phase(surge).shed_ratio < 0.5`")
	}
	*a = Assertion{Text: strings.TrimSpace(text), Variant: m[1], Phase: m[2], Metric: m[3], Op: m[4], Value: m[5]}
	return nil
}

func (Assertion) syntax() string { return "assertion (`p99 < 250ms`)" }

// Expr returns the assertion without its variant scope, in the report
// package's grammar: `[phase(P).]METRIC OP VALUE`.
func (a Assertion) Expr() string {
	s := a.Metric + " " + a.Op + " " + a.Value
	if a.Phase != "" {
		s = "phase(" + a.Phase + ")." + s
	}
	return s
}

// String returns the assertion as written.
func (a Assertion) String() string { return a.Text }
