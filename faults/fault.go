package faults

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Fault is one kind of disturbance with its parameters. Implementations
// are immutable values, safe for concurrent use.
//
// Kind returns the kind's name as written in JSON and YAML. Validate
// reports every parameter out of range as *FieldError values (joined),
// named by their JSON field.
type Fault interface {
	Kind() string
	Validate() error
}

// DepFault is a Fault that can act on a simulated dependency of the
// reference target: PatchDep changes c, the dependency's configuration,
// to the faulty one. p is the entry's per-call probability in (0, 1]; only
// a DepChecker may accept a p below 1 (Abort and Reset do).
type DepFault interface {
	Fault
	PatchDep(c *targetadmin.DepConfig, p float64)
}

// DepChecker is a DepFault that checks its own fields and the entry's
// per-call probability p (in (0, 1]) against what a dependency can do (an
// optional capability; TargetInjector.Check asks it). A DepFault without
// it acts on every call: a p below 1 is refused (everyCall). Errors are
// *FieldError values.
type DepChecker interface {
	DepFault
	CheckDep(p float64) error
}

// everyCall refuses a per-call probability below 1 for kind, a DepFault
// that acts on every call of a dependency.
func everyCall(kind string, p float64) error {
	if p != 1 {
		return fieldErr("probability", "%v: a dependency's %s acts on every call, use a proxy for a per-request probability", p, kind)
	}
	return nil
}

// ServiceFault is a Fault that can act on the reference target's own
// admission (target TargetService), through its admin API. PatchAdmission
// returns the admission section's fields with the fault in place, from
// base, the section at the snapshot (see TargetInjector).
type ServiceFault interface {
	Fault
	PatchAdmission(base map[string]any) map[string]any
}

// TargetChecker is a Fault whose fields decide which targets it takes (an
// optional capability; Timeline.Validate asks it): CheckTarget refuses
// target with a *FieldError.
type TargetChecker interface {
	Fault
	CheckTarget(target string) error
}

// HTTPFault is a Fault that acts on the HTTP exchanges through a fault
// proxy. Serve handles one exchange the fault was chosen for (the
// probability and scope are already decided): it lets the exchange go on
// by calling next.ServeHTTP, perhaps after a wait or with a wrapped
// writer, or it answers or breaks the exchange itself.
type HTTPFault interface {
	Fault
	Serve(w http.ResponseWriter, r *http.Request, next http.Handler, env Env)
}

// Env is what an HTTPFault gets to know about its exchange besides the
// request itself.
type Env struct {
	// Lifted is closed when the fault is removed from the proxy (or the
	// proxy shuts down): a stall or a delay lets what it holds go on then,
	// a bandwidth limit stops pacing, a timeout drops the connection.
	Lifted <-chan struct{}
	// U is a uniform random number in [0, 1) drawn for this exchange from
	// the proxy's seeded source, for faults that jitter.
	U float64
}

// Scope limits a fault to some requests. The zero value matches every
// request. Scopes act only where requests are seen one by one: in the
// fault proxy.
type Scope struct {
	// Route is a path prefix ("/api/search"); empty matches every path.
	Route string
	// Method is an HTTP method ("GET"); empty matches every method.
	Method string
	// Header is "Name: value" (the header must have exactly this value)
	// or "Name" (the header must be present); empty matches every request.
	Header string
}

// IsZero reports whether s matches every request.
func (s Scope) IsZero() bool { return s == Scope{} }

// Validate checks that Route is a path prefix and Header names a header.
func (s Scope) Validate() error {
	if s.Route != "" && !strings.HasPrefix(s.Route, "/") {
		return &FieldError{Field: "route", Msg: fmt.Sprintf("%q, want a path prefix starting with /", s.Route)}
	}
	if s.Header != "" {
		name, _, _ := strings.Cut(s.Header, ":")
		if strings.TrimSpace(name) == "" {
			return &FieldError{Field: "header", Msg: fmt.Sprintf("%q, want \"Name: value\" or \"Name\"", s.Header)}
		}
	}
	return nil
}

// Matcher returns a matcher for s with the header name canonicalised, so
// matching one request allocates nothing.
func (s Scope) Matcher() Matcher {
	m := Matcher{route: s.Route, method: s.Method}
	if s.Header != "" {
		name, value, hasValue := strings.Cut(s.Header, ":")
		m.header = http.CanonicalHeaderKey(strings.TrimSpace(name))
		m.value = strings.TrimSpace(value)
		m.hasValue = hasValue
	}
	return m
}

// Matcher is a compiled Scope. The zero value matches every request. It is
// safe for concurrent use.
type Matcher struct {
	route, method, header, value string
	hasValue                     bool
}

// Match reports whether r is in the scope.
func (m *Matcher) Match(r *http.Request) bool {
	if m.route != "" && !strings.HasPrefix(r.URL.Path, m.route) {
		return false
	}
	if m.method != "" && r.Method != m.method {
		return false
	}
	if m.header != "" {
		vs, ok := r.Header[m.header]
		if !ok {
			return false
		}
		if m.hasValue {
			for _, v := range vs {
				if v == m.value {
					return true
				}
			}
			return false
		}
	}
	return true
}

// FieldError names the field of a fault definition that is wrong and why.
type FieldError struct {
	// Field is the JSON/YAML path of the field, e.g. "probability" or
	// "faults[2].for" once prefixed by the timeline.
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// prefixFields prefixes the Field of every *FieldError in err (a single
// error or an errors.Join of them) with prefix + ".".
func prefixFields(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, &FieldError{Field: prefix + "." + fe.Field, Msg: fe.Msg})
			continue
		}
		out = append(out, fmt.Errorf("%s: %w", prefix, e))
	}
	return errors.Join(out...)
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Entry is one fault on a timeline: what, where, when and for how long.
// It is a value, safe to share once built; Validate checks it on its own,
// Timeline.Validate against the others.
type Entry struct {
	// Name identifies the entry in events and on the proxy; unique within
	// a timeline.
	Name string
	// Target is what the fault acts on: a dependency of the reference
	// target ("db"), the target itself ("target", for its concurrency
	// limit), a proxy by its name, or "load".
	Target string
	// At is when the fault starts, from the run's start.
	At time.Duration
	// For is how long it lasts; 0 means until the run ends (instant kinds
	// such as Burst ignore it).
	For time.Duration
	// Probability is the chance in (0, 1] that the fault acts on one
	// request (or one dependency call); 0 is read as 1.
	Probability float64
	// Scope limits the fault to some requests (proxy targets only).
	Scope Scope
	// Fault is the kind and its parameters.
	Fault Fault
}

// TargetLoad and TargetService are the reserved target names of the load
// itself and of the reference target's own admission limit.
const (
	TargetLoad    = "load"
	TargetService = "target"
)

// probability returns e.Probability with 0 read as 1.
func (e Entry) probability() float64 {
	if e.Probability == 0 {
		return 1
	}
	return e.Probability
}

// end returns when e ends, or a huge value when it lasts until the run
// ends.
func (e Entry) end() time.Duration {
	if e.For == 0 {
		return 1<<63 - 1
	}
	return e.At + e.For
}

// Validate checks e on its own (not against other entries or the live
// target): name, times, probability, scope and the fault's parameters.
func (e Entry) Validate() error {
	var errs []error
	if e.Name == "" {
		errs = append(errs, fieldErr("name", "empty, want a name unique within the timeline"))
	}
	if e.Target == "" {
		errs = append(errs, fieldErr("target", "empty, want a dependency name, %q, %q or a proxy name", TargetService, TargetLoad))
	}
	if e.At < 0 {
		errs = append(errs, fieldErr("at", "%v, want ≥ 0", e.At))
	}
	if e.For < 0 {
		errs = append(errs, fieldErr("for", "%v, want ≥ 0 (0 lasts until the run ends)", e.For))
	} else if e.At > math.MaxInt64-e.For {
		errs = append(errs, fieldErr("for", "%v after %v ends past the largest time there is", e.For, e.At))
	}
	if !(e.Probability >= 0 && e.Probability <= 1) { // so NaN is refused too
		errs = append(errs, fieldErr("probability", "%v, want 0 < p ≤ 1", e.Probability))
	}
	if err := e.Scope.Validate(); err != nil {
		errs = append(errs, err)
	}
	if e.Fault == nil {
		errs = append(errs, fieldErr("kind", "empty, want one of %s", strings.Join(Kinds(), ", ")))
	} else if err := e.Fault.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// conflictKey names the knob a fault turns: two entries on the same
// target with the same key whose windows overlap conflict. An instant
// kind has no key; a kind outside the Registry turns a knob of its own
// name.
func conflictKey(e Entry) string {
	knob := e.Fault.Kind()
	if k, ok := kindOf(e.Fault); ok {
		if k.Knob == "" {
			return "" // instant: never conflicts
		}
		knob = k.Knob
	}
	return e.Target + "\x00" + knob + "\x00" + e.Scope.Route + "\x00" + e.Scope.Method + "\x00" + e.Scope.Header
}
