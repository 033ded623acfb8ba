package profiles

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/survey"
	"github.com/goodput-dev/goodput/workload/retry"
)

// setDefaults fills in the documented defaults before a profile's fields
// are decoded onto it.
func (s *Scenario) setDefaults() {
	t := true
	s.Arrival = ArrivalUniform
	s.Client = Client{
		Timeout:       time.Second,
		MaxAttempts:   1,
		RetryOn:       retryClasses("429", "5xx", "timeout", "conn"),
		RetryAfter:    &t,
		RetryAfterMax: 10 * time.Second,
		Backoff:       Backoff{retry.BackoffExponential},
		BackoffBase:   50 * time.Millisecond,
		BackoffMax:    time.Second,
		Jitter:        Jitter{retry.JitterFull},
		Connections:   1000,
		MaxInflight:   10000,
	}
	s.SLO.Recovery = Recovery{Window: 5 * time.Second, Goodput: 0.95, P99Factor: 1.5}
	s.Report = Report{Window: time.Second, Dir: "out", Formats: []Format{FormatText, FormatHTML}}
	s.Sink.Drain = 5 * time.Second
}

func (r *Request) setDefaults() {
	r.Weight = 1
	r.Method = "GET"
}

func (f *Fault) setDefaults() { f.Probability = 1 }

// checker validates a decoded scenario, placing each problem at the
// position where its field (or the nearest enclosing one) was written.
type checker struct {
	pos  map[string]Pos
	root Pos
	errs Errors
}

func (c *checker) at(path string) Pos {
	for p := path; ; {
		if pos, ok := c.pos[p]; ok {
			return pos
		}
		if p == "" {
			return c.root
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			p = ""
		} else {
			p = p[:i]
		}
	}
}

func (c *checker) written(path string) bool {
	_, ok := c.pos[path]
	return ok
}

func (c *checker) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Pos: c.at(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	methodRE = regexp.MustCompile(`^[A-Z]+$`)
)

// finish fills in the defaults that depend on other fields and resolves
// fault client changes; dir is the profile's directory (for body files).
func (s *Scenario) finish(c *checker, dir string) {
	if s.SLO.Latency == 0 {
		s.SLO.Latency = s.Client.Deadline
		if s.SLO.Latency == 0 {
			s.SLO.Latency = s.Client.Timeout
		}
	}
	for i := range s.Faults {
		f := &s.Faults[i]
		if f.Target == "" && (f.Kind == FaultSurge || f.Kind == FaultBurst || f.Kind == FaultRetry) {
			f.Target = faults.TargetLoad
		}
	}
	if sv := s.Survey; sv != nil {
		sv.setDefaults(c)
	}
	s.policies = map[string]Client{}
	for name, raw := range s.Policies {
		cl := s.Client
		cl.RetryOn = append([]RetryClass(nil), s.Client.RetryOn...)
		if err := raw.Decode(&cl, "policies."+name); err != nil {
			var es Errors
			if errors.As(err, &es) {
				c.errs = append(c.errs, es...)
			}
			continue
		}
		cl.check(c, "policies."+name)
		s.policies[name] = cl
	}
	if f := s.Target.AdminTokenFile; f != "" && !filepath.IsAbs(f) && dir != "" {
		s.Target.AdminTokenFile = filepath.Join(dir, f)
	}
	for i := range s.Data {
		if f := &s.Data[i].File; *f != "" && !filepath.IsAbs(*f) && dir != "" {
			*f = filepath.Join(dir, *f)
		}
	}
	for i := range s.Requests {
		r := &s.Requests[i]
		if r.BodyFile != "" && !filepath.IsAbs(r.BodyFile) && dir != "" {
			r.BodyFile = filepath.Join(dir, r.BodyFile)
		}
	}
	for _, f := range []*string{&s.Client.TLS.CAFile, &s.Client.TLS.CertFile, &s.Client.TLS.KeyFile} {
		if *f != "" && !filepath.IsAbs(*f) && dir != "" {
			*f = filepath.Join(dir, *f)
		}
	}
}

// Duration returns the run's length: the sum of its phases.
func (s *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += p.Length()
	}
	return d
}

// Length returns how long the phase lasts (computed from steps when set).
func (p Phase) Length() time.Duration {
	if p.Steps != nil {
		return time.Duration(p.Steps.Count()) * p.Steps.Every
	}
	return p.Duration
}

// Count returns the number of steps of the staircase.
func (s Steps) Count() int {
	if s.By <= 0 || s.To < s.From {
		return 0
	}
	return int(math.Floor(float64(s.To-s.From)/float64(s.By)+1e-9)) + 1
}

// maxSteps bounds a staircase.
const maxSteps = 1000

// validate checks every field of s, after finish.
func (s *Scenario) validate(c *checker) {
	s.checkTarget(c)
	s.checkRequests(c)
	s.checkData(c)
	if s.Tenants.Count < 0 {
		c.errorf("tenants.count", "found %d, want ≥ 0", s.Tenants.Count)
	}
	if s.Tenants.Distribution.Zipf && s.Tenants.Count < 2 {
		c.errorf("tenants.distribution", "zipf needs tenants.count ≥ 2 (found %d)", s.Tenants.Count)
	}
	s.Client.check(c, "client")
	var phases map[string]bool
	if s.Survey == nil {
		phases = s.checkPhases(c)
	}
	s.checkFaults(c)
	s.checkSLO(c)
	variants := map[string]bool{}
	for i, v := range s.Variants {
		p := fmt.Sprintf("variants[%d].name", i)
		switch {
		case v.Name == "":
			c.errorf(p, "required")
		case !nameRE.MatchString(v.Name):
			c.errorf(p, "found %q, want letters, digits, _, - and . (it names a file)", v.Name)
		case variants[v.Name]:
			c.errorf(p, "duplicate variant name %q", v.Name)
		}
		variants[v.Name] = true
	}
	for i, a := range s.Assert {
		p := fmt.Sprintf("assert[%d]", i)
		if a.Phase != "" && !phases[a.Phase] {
			c.errorf(p, "unknown phase %q; %s", a.Phase, didYouMean(a.Phase, keys(phases)))
		}
		if _, err := report.ParseAssertion(a.Expr()); err != nil {
			c.errorf(p, "%v", err)
		}
		if a.Variant != "" && !variants[a.Variant] && len(s.Variants) > 0 {
			c.errorf(p, "unknown variant %q; %s", a.Variant, didYouMean(a.Variant, keys(variants)))
		}
	}
	if s.Survey != nil {
		s.checkSurvey(c, variants)
	}
	if s.Report.Window <= 0 {
		c.errorf("report.window", "found %v, want > 0", s.Report.Window)
	}
	seen := map[Format]bool{}
	for i, f := range s.Report.Formats {
		if seen[f] {
			c.errorf(fmt.Sprintf("report.formats[%d]", i), "duplicate format %q", f)
		}
		seen[f] = true
	}
	if s.Sink.Drain < 0 {
		c.errorf("sink.drain", "found %v, want ≥ 0", s.Sink.Drain)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Scenario) checkTarget(c *checker) {
	t := s.Target
	switch {
	case t.URL == "" && t.Embedded == nil:
		c.errorf("target", "required: set target.url (a running service) or target.embedded (the reference target)")
	case t.URL != "" && t.Embedded != nil:
		c.errorf("target.embedded", "set either target.url or target.embedded, not both")
	}
	if t.URL != "" {
		checkURL(c, "target.url", t.URL)
	}
	if t.Admin != "" {
		if t.Embedded != nil {
			c.errorf("target.admin", "not used with target.embedded (its admin API is known)")
		}
		checkURL(c, "target.admin", t.Admin)
	}
	if t.AdminTokenFile != "" {
		if t.Admin == "" {
			c.errorf("target.admin_token_file", "set without target.admin: the token is for the admin API at target.admin")
		} else if _, err := os.Stat(t.AdminTokenFile); err != nil {
			c.errorf("target.admin_token_file", "cannot read %s: %v", t.AdminTokenFile, err)
		}
	}
	if t.Embedded != nil && t.Embedded.Preset == "" {
		c.errorf("target.embedded.preset", "required: %s", Preset("").syntax())
	}
	if s.Sink.Enabled && t.Embedded == nil {
		c.errorf("sink.enabled", "the delivery sink needs target.embedded (the reference target delivers to it)")
	}
}

func checkURL(c *checker, path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.errorf(path, "found %q, want an http:// or https:// URL with a host", raw)
	}
}

func (s *Scenario) checkRequests(c *checker) {
	if len(s.Requests) == 0 {
		c.errorf("requests", "required: at least one request template")
	}
	names := map[string]bool{}
	for i, r := range s.Requests {
		p := fmt.Sprintf("requests[%d]", i)
		switch {
		case r.Name == "":
			c.errorf(p+".name", "required")
		case names[r.Name]:
			c.errorf(p+".name", "duplicate request name %q", r.Name)
		}
		names[r.Name] = true
		if !(r.Weight > 0) || math.IsInf(r.Weight, 0) {
			c.errorf(p+".weight", "found %v, want > 0", r.Weight)
		}
		if !methodRE.MatchString(r.Method) {
			c.errorf(p+".method", "found %q, want an upper-case HTTP method such as GET or POST", r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			c.errorf(p+".path", "found %q, want a path starting with /", r.Path)
		}
		bodies := 0
		for _, set := range []bool{r.Body != "", r.BodyFile != "", r.BodySize != 0} {
			if set {
				bodies++
			}
		}
		if bodies > 1 {
			c.errorf(p, "set at most one of body, body_file and body_size")
		}
		if r.BodyFile != "" {
			if _, err := os.Stat(r.BodyFile); err != nil {
				c.errorf(p+".body_file", "cannot read %s: %v", r.BodyFile, err)
			}
		}
	}
}

func (cl Client) check(c *checker, p string) {
	if cl.Timeout <= 0 {
		c.errorf(p+".timeout", "found %v, want > 0", cl.Timeout)
	}
	if cl.Deadline < 0 {
		c.errorf(p+".deadline", "found %v, want ≥ 0 (0: none)", cl.Deadline)
	}
	if cl.MaxAttempts < 1 || cl.MaxAttempts > 100 {
		c.errorf(p+".max_attempts", "found %d, want 1..100 (1 = no retries)", cl.MaxAttempts)
	}
	if cl.RetryAfterMax < 0 {
		c.errorf(p+".retry_after_max", "found %v, want ≥ 0", cl.RetryAfterMax)
	}
	if cl.BackoffBase < 0 {
		c.errorf(p+".backoff_base", "found %v, want ≥ 0", cl.BackoffBase)
	}
	if cl.BackoffMax < cl.BackoffBase {
		c.errorf(p+".backoff_max", "found %v, want ≥ backoff_base (%v)", cl.BackoffMax, cl.BackoffBase)
	}
	if cl.Connections < 1 {
		c.errorf(p+".connections", "found %d, want ≥ 1", cl.Connections)
	}
	if cl.MaxInflight < 1 {
		c.errorf(p+".max_inflight", "found %d, want ≥ 1", cl.MaxInflight)
	}
}

// checkPhases validates the schedule and returns the phase names.
func (s *Scenario) checkPhases(c *checker) map[string]bool {
	if len(s.Phases) == 0 {
		c.errorf("phases", "required: at least one phase")
	}
	names := map[string]bool{}
	for i, ph := range s.Phases {
		p := fmt.Sprintf("phases[%d]", i)
		switch {
		case ph.Name == "":
			c.errorf(p+".name", "required")
		case names[ph.Name]:
			c.errorf(p+".name", "duplicate phase name %q", ph.Name)
		}
		names[ph.Name] = true
		ramp := c.written(p+".from") || c.written(p+".to")
		kinds := 0
		for _, set := range []bool{c.written(p + ".rate"), ramp, ph.Steps != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			c.errorf(p, "set exactly one of rate, from/to and steps")
		}
		if ramp && !(c.written(p+".from") && c.written(p+".to")) {
			c.errorf(p, "a ramp needs both from and to")
		}
		if ph.Steps != nil {
			for k := range min(ph.Steps.Count(), maxSteps) {
				names[fmt.Sprintf("%s/%d", ph.Name, k+1)] = true // each step is a phase in reports
			}
			if c.written(p + ".duration") {
				c.errorf(p+".duration", "not used with steps (the phase lasts steps × every)")
			}
			st := ph.Steps
			switch {
			case st.By <= 0:
				c.errorf(p+".steps.by", "found %v, want > 0", st.By)
			case st.To < st.From:
				c.errorf(p+".steps.to", "found %v, want ≥ from (%v)", st.To, st.From)
			case st.Count() > maxSteps:
				c.errorf(p+".steps", "%d steps, at most %d", st.Count(), maxSteps)
			}
			if st.Every <= 0 {
				c.errorf(p+".steps.every", "found %v, want > 0", st.Every)
			}
		} else if ph.Duration <= 0 {
			c.errorf(p+".duration", "found %v, want > 0", ph.Duration)
		}
	}
	return names
}

// Spec returns the fault in package faults' form, for its timeline.
func (f Fault) Spec() faults.Spec {
	p := f.Probability
	spec := faults.Spec{
		Name: f.Name, Kind: string(f.Kind), Target: f.Target,
		At: dist.Duration(f.At), For: dist.Duration(f.For), Probability: &p,
		Route: f.Route, Method: f.Method, Header: f.Header,
		Delay: dist.Duration(f.Delay), Jitter: dist.Duration(f.Jitter), Response: f.Response,
		Multiplier: f.Multiplier, Status: f.Status, BytesPerSecond: int64(f.BytesPerSecond),
		Pool: f.Pool, Concurrency: f.Concurrency, Requests: f.Requests, Policy: f.Policy,
		Distribution: f.Distribution,
	}
	return spec
}

// Timeline returns the scenario's faults as a timeline of package faults
// (events, logger and timeouts left for the caller to set). It converts
// and does not validate: Parse validated the timeline of the scenario
// once, and a timeline is played after Timeline.Check with Timeline.Play.
func (s *Scenario) Timeline() (*faults.Timeline, error) {
	tl := &faults.Timeline{}
	var errs []error
	for i, f := range s.Faults {
		e, err := f.Spec().Entry()
		if err != nil {
			errs = append(errs, fmt.Errorf("faults[%d]: %w", i, err))
			continue
		}
		tl.Entries = append(tl.Entries, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tl, nil
}

// faultErrors adds the *faults.FieldError values in err to c, under
// prefix (e.g. "faults[2]"); other errors are placed at fallback.
func faultErrors(c *checker, err error, prefix, fallback string) {
	if err == nil {
		return
	}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range multi.Unwrap() {
			faultErrors(c, e, prefix, fallback)
		}
		return
	}
	var fe *faults.FieldError
	if errors.As(err, &fe) {
		field := fe.Field
		if field == "distribution" || strings.HasPrefix(field, "distribution.") || strings.HasPrefix(field, "latency") {
			field = strings.Replace(field, "latency", "distribution", 1)
		}
		path := join(prefix, field)
		for _, e := range c.errs {
			if e.Path == path {
				return // Entry and its Spec may both refuse the same field
			}
		}
		c.errorf(path, "%s", fe.Msg)
		return
	}
	c.errorf(fallback, "%v", err)
}

func (s *Scenario) checkFaults(c *checker) {
	total := s.Duration()
	tl := &faults.Timeline{}
	converted := true
	for i, f := range s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		if total > 0 && f.At >= total {
			c.errorf(p+".at", "found %v, after the run's end (%v)", f.At, total)
		} else if total > 0 && f.At+f.For > total {
			c.errorf(p+".for", "the fault ends at %v, after the run's end (%v)", f.At+f.For, total)
		}
		if f.Kind == FaultRetry && f.Policy != "" {
			if _, ok := s.policies[f.Policy]; !ok {
				names := make(map[string]bool, len(s.Policies))
				for n := range s.Policies {
					names[n] = true
				}
				c.errorf(p+".policy", "unknown policy %q; %s", f.Policy, didYouMean(f.Policy, keys(names)))
			}
		}
		e, err := f.Spec().Entry()
		if err != nil {
			faultErrors(c, err, p, p)
			converted = false
		}
		tl.Entries = append(tl.Entries, e) // e.Fault is nil when e did not convert
	}
	// Each entry is validated once: with the others when all converted
	// (the prefixes faults[i] are then the timeline's), else on its own.
	if converted {
		faultErrors(c, tl.Validate(), "", "faults")
		return
	}
	for i, e := range tl.Entries {
		if e.Fault != nil {
			p := fmt.Sprintf("faults[%d]", i)
			faultErrors(c, e.Validate(), p, p)
		}
	}
}

func (s *Scenario) checkSLO(c *checker) {
	if s.SLO.Latency <= 0 {
		c.errorf("slo.latency", "found %v, want > 0", s.SLO.Latency)
	}
	r := s.SLO.Recovery
	if r.Window <= 0 {
		c.errorf("slo.recovery.window", "found %v, want > 0", r.Window)
	}
	if !(r.Goodput > 0 && r.Goodput <= 1) {
		c.errorf("slo.recovery.goodput", "found %v, want a fraction in (0, 1]", r.Goodput)
	}
	if !(r.P99Factor >= 1) || math.IsInf(r.P99Factor, 0) {
		c.errorf("slo.recovery.p99_factor", "found %v, want ≥ 1", r.P99Factor)
	}
}

// setDefaults fills in the documented defaults of the survey's fields
// that the profile leaves out.
func (sv *Survey) setDefaults(c *checker) {
	if !c.written("survey.multipliers") {
		sv.Multipliers = []float64{3}
	}
	if !c.written("survey.durations") {
		sv.Durations = SurveyDurations{Min: time.Second, Max: 30 * time.Second}
	}
	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{
		{"resolution", &sv.Resolution, time.Second},
		{"warmup", &sv.Warmup, 5 * time.Second},
		{"judge", &sv.Judge, 15 * time.Second},
		{"slow_after", &sv.SlowAfter, 5 * time.Second},
		{"settle", &sv.Settle, 2 * time.Minute},
	} {
		if !c.written("survey." + d.field) {
			*d.v = d.def
		}
	}
}

// checkSurvey checks the survey block: its values, and that the parts of a
// scenario a survey replaces (phases, faults, assert) are left out.
func (s *Scenario) checkSurvey(c *checker, variants map[string]bool) {
	sv := s.Survey
	for _, f := range []struct {
		path string
		set  bool
	}{{"phases", len(s.Phases) > 0}, {"faults", len(s.Faults) > 0}, {"assert", len(s.Assert) > 0}} {
		if f.set {
			c.errorf(f.path, "not used with survey: a survey makes its own schedule (survey.warmup, the surge, survey.judge) and has its own survey.assert")
		}
	}
	if !(sv.Rate > 0) {
		c.errorf("survey.rate", "found %v, want > 0 (the baseline, requests/s)", float64(sv.Rate))
	}
	if len(sv.Multipliers) == 0 {
		c.errorf("survey.multipliers", "empty, want at least one (e.g. [3])")
	}
	for i, m := range sv.Multipliers {
		if !(m > 0) || math.IsInf(m, 0) {
			c.errorf(fmt.Sprintf("survey.multipliers[%d]", i), "found %v, want > 0 (3 triples the baseline)", m)
		}
	}
	if sv.Resolution <= 0 {
		c.errorf("survey.resolution", "found %v, want > 0", sv.Resolution)
	}
	if sv.Warmup < 2*time.Second {
		c.errorf("survey.warmup", "found %v, want ≥ 2s: recovery is judged against the baseline it measures", sv.Warmup)
	}
	if w := s.SLO.Recovery.Window; sv.Judge < 2*w {
		c.errorf("survey.judge", "found %v, want ≥ 2 × slo.recovery.window (%v) to tell metastable from slow", sv.Judge, w)
	}
	if sv.SlowAfter < 0 {
		c.errorf("survey.slow_after", "found %v, want ≥ 0", sv.SlowAfter)
	}
	if sv.Settle <= 0 {
		c.errorf("survey.settle", "found %v, want > 0", sv.Settle)
	}
	opts := survey.Options{Multipliers: sv.Multipliers, Min: sv.Durations.Min, Max: sv.Durations.Max, Resolution: sv.Resolution}
	for i, a := range sv.Assert {
		p := fmt.Sprintf("survey.assert[%d]", i)
		if a.Variant != "" && !variants[a.Variant] && len(s.Variants) > 0 {
			c.errorf(p, "unknown variant %q; %s", a.Variant, didYouMean(a.Variant, keys(variants)))
		}
		sa, err := survey.ParseAssertion(a.Expr)
		if err == nil {
			err = sa.Check(opts)
		}
		if err != nil {
			c.errorf(p, "%v", err)
		}
	}
}
