package profiles

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// setDefaults fills in the documented defaults before a profile's fields
// are decoded onto it.
func (s *Scenario) setDefaults() {
	t := true
	s.Arrival = ArrivalUniform
	s.Client = Client{
		Timeout:       time.Second,
		MaxAttempts:   1,
		RetryOn:       []RetryClass{"429", "5xx", "timeout", "conn"},
		RetryAfter:    &t,
		RetryAfterMax: 10 * time.Second,
		Backoff:       "exponential",
		BackoffBase:   50 * time.Millisecond,
		BackoffMax:    time.Second,
		Jitter:        "full",
		RetryBudget:   Budget{Kind: "none"},
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
		if f.Target == "" && (f.Kind == FaultSurge || f.Kind == FaultClient) {
			f.Target = "load"
		}
		if f.Kind == FaultClient {
			f.newClient = s.Client
			f.newClient.RetryOn = append([]RetryClass(nil), s.Client.RetryOn...)
			if err := f.Client.Decode(&f.newClient, fmt.Sprintf("faults[%d].client", i)); err != nil {
				if es, ok := err.(Errors); ok {
					c.errs = append(c.errs, es...)
				}
			}
		}
	}
	for i := range s.Requests {
		r := &s.Requests[i]
		if r.BodyFile != "" && !filepath.IsAbs(r.BodyFile) && dir != "" {
			r.BodyFile = filepath.Join(dir, r.BodyFile)
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
	if s.Tenants.Count < 0 {
		c.errorf("tenants.count", "found %d, want ≥ 0", s.Tenants.Count)
	}
	if s.Tenants.Distribution.Zipf && s.Tenants.Count < 2 {
		c.errorf("tenants.distribution", "zipf needs tenants.count ≥ 2 (found %d)", s.Tenants.Count)
	}
	s.Client.check(c, "client")
	phases := s.checkPhases(c)
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
		if a.Variant != "" && !variants[a.Variant] && len(s.Variants) > 0 {
			c.errorf(p, "unknown variant %q; %s", a.Variant, didYouMean(a.Variant, keys(variants)))
		}
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
	if t.Embedded != nil && t.Embedded.Preset == "" {
		c.errorf("target.embedded.preset", "required: %s", Preset("").syntax())
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
	if cl.Connections < 0 {
		c.errorf(p+".connections", "found %d, want ≥ 0", cl.Connections)
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

// faultFields lists, per kind, the kind fields a fault may set.
var faultFields = map[FaultKind][]string{
	FaultDelay:     {"delay", "jitter", "probability", "route"},
	FaultLatency:   {"latency"},
	FaultMultiply:  {"multiplier"},
	FaultAbort:     {"status", "probability", "route"},
	FaultReset:     {"probability", "route"},
	FaultStall:     {"probability", "route"},
	FaultBandwidth: {"bytes_per_second", "route"},
	FaultCapacity:  {"pool", "concurrency"},
	FaultSurge:     {"multiplier", "burst"},
	FaultClient:    {"client"},
}

// kindFields are the fault fields that belong to some kinds only.
var kindFields = []string{"delay", "jitter", "status", "bytes_per_second", "probability", "route", "latency", "multiplier", "burst", "pool", "concurrency", "client"}

func (s *Scenario) checkFaults(c *checker) {
	names := map[string]bool{}
	total := s.Duration()
	for i, f := range s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		switch {
		case f.Name == "":
			c.errorf(p+".name", "required")
		case names[f.Name]:
			c.errorf(p+".name", "duplicate fault name %q", f.Name)
		}
		names[f.Name] = true
		if f.Kind == "" {
			c.errorf(p+".kind", "required: %s", FaultKind("").syntax())
			continue
		}
		if f.At < 0 {
			c.errorf(p+".at", "found %v, want ≥ 0", f.At)
		} else if total > 0 && f.At >= total {
			c.errorf(p+".at", "found %v, after the run's end (%v)", f.At, total)
		}
		if f.For < 0 {
			c.errorf(p+".for", "found %v, want ≥ 0", f.For)
		} else if total > 0 && f.At+f.For > total {
			c.errorf(p+".for", "the fault ends at %v, after the run's end (%v)", f.At+f.For, total)
		}
		allowed := map[string]bool{}
		for _, name := range faultFields[f.Kind] {
			allowed[name] = true
		}
		for _, name := range kindFields {
			if name == "probability" && f.Probability == 1 {
				continue // the default, also when written out by Scenario.YAML
			}
			if c.written(p+"."+name) && !allowed[name] {
				c.errorf(p+"."+name, "not used by kind %s (it uses: %s)", f.Kind, strings.Join(faultFields[f.Kind], ", "))
			}
		}
		s.checkFaultKind(c, p, f)
		for j := range i {
			g := s.Faults[j]
			if g.Kind == f.Kind && g.Target == f.Target && overlap(f, g, total) {
				c.errorf(p, "overlaps fault %q (same kind and target from %v to %v)", g.Name, g.At, end(g, total))
			}
		}
	}
}

func end(f Fault, total time.Duration) time.Duration {
	if f.For == 0 {
		return total
	}
	return f.At + f.For
}

func overlap(a, b Fault, total time.Duration) bool {
	return a.At < end(b, total) && b.At < end(a, total)
}

func (s *Scenario) checkFaultKind(c *checker, p string, f Fault) {
	dep := f.Target != "" && f.Target != "load" && f.Target != "target" && f.Target != "proxy"
	needTarget := func(ok bool, valid string) {
		switch {
		case f.Target == "":
			c.errorf(p+".target", "required: %s", valid)
		case !ok:
			c.errorf(p+".target", "found %q, want %s", f.Target, valid)
		case dep && !nameRE.MatchString(f.Target):
			c.errorf(p+".target", "found %q, want a dependency name such as db or search", f.Target)
		}
	}
	if f.Probability < 0 || f.Probability > 1 || math.IsNaN(f.Probability) {
		c.errorf(p+".probability", "found %v, want 0..1", f.Probability)
	}
	if f.Route != "" && f.Target != "proxy" {
		c.errorf(p+".route", "only proxy faults are scoped to a route (target: proxy)")
	}
	switch f.Kind {
	case FaultDelay:
		needTarget(dep || f.Target == "proxy", "a dependency name or proxy")
		if f.Delay < 0 || f.Jitter < 0 || f.Delay+f.Jitter <= 0 {
			c.errorf(p+".delay", "found delay %v and jitter %v, want delay > 0 or jitter > 0 (neither negative)", f.Delay, f.Jitter)
		}
	case FaultLatency:
		needTarget(dep, "a dependency name")
		if f.Latency == nil {
			c.errorf(p+".latency", "required: the new distribution, e.g. {dist: fixed, p50: 2s}")
		} else {
			f.Latency.check(c, p+".latency")
		}
	case FaultMultiply:
		needTarget(dep, "a dependency name")
		if !(f.Multiplier > 0) || math.IsInf(f.Multiplier, 0) {
			c.errorf(p+".multiplier", "found %v, want > 0", f.Multiplier)
		}
	case FaultAbort:
		needTarget(dep || f.Target == "proxy", "a dependency name or proxy")
		if f.Status < 400 || f.Status > 599 {
			c.errorf(p+".status", "found %d, want 400..599", f.Status)
		}
	case FaultReset, FaultBandwidth:
		needTarget(f.Target == "proxy", "proxy")
		if f.Kind == FaultBandwidth && f.BytesPerSecond <= 0 {
			c.errorf(p+".bytes_per_second", "found %v, want > 0", f.BytesPerSecond)
		}
	case FaultStall:
		needTarget(dep || f.Target == "proxy", "a dependency name or proxy")
	case FaultCapacity:
		needTarget(dep || f.Target == "target", "a dependency name (with pool) or target (with concurrency)")
		switch {
		case f.Target == "target" && f.Concurrency < 1:
			c.errorf(p+".concurrency", "found %d, want ≥ 1 (the target's concurrency during the drop)", f.Concurrency)
		case dep && f.Pool < 1:
			c.errorf(p+".pool", "found %d, want ≥ 1 (the dependency's pool during the drop)", f.Pool)
		}
	case FaultSurge:
		needTarget(f.Target == "load", "load")
		switch {
		case (f.Multiplier > 0) == (f.Burst > 0):
			c.errorf(p, "a surge sets exactly one of multiplier (> 0) and burst (> 0)")
		case f.Multiplier > 0 && f.For == 0:
			c.errorf(p+".for", "a surge with a multiplier needs a duration (for > 0)")
		}
	case FaultClient:
		needTarget(f.Target == "load", "load")
		if f.Client.IsZero() {
			c.errorf(p+".client", "required: the client fields that change, e.g. {max_attempts: 3}")
		} else {
			f.newClient.check(c, p+".client")
		}
	}
}

func (l Latency) check(c *checker, p string) {
	switch l.Dist {
	case "fixed":
		if l.P50 < 0 {
			c.errorf(p+".p50", "found %v, want ≥ 0", l.P50)
		}
	case "uniform":
		if l.Min < 0 || l.Max < l.Min {
			c.errorf(p+".max", "found min %v and max %v, want 0 ≤ min ≤ max", l.Min, l.Max)
		}
	case "lognormal":
		if l.P50 <= 0 || l.P99 < l.P50 {
			c.errorf(p+".p99", "found p50 %v and p99 %v, want 0 < p50 ≤ p99", l.P50, l.P99)
		}
	default:
		c.errorf(p+".dist", "required: %s", l.Dist.syntax())
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
