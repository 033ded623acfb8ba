package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/target/dep"
)

// Spec is a fault as written in JSON (the proxy's control API) and YAML
// (a profile's `faults:` entries). Durations are Go duration strings
// ("150ms"). Which kind fields a kind takes:
//
//	delay      delay, jitter, response   (dependency or proxy)
//	latency    distribution, multiplier  (dependency)
//	abort      status                    (dependency or proxy)
//	reset                                (dependency or proxy)
//	stall                                (dependency or proxy)
//	timeout                              (proxy)
//	bandwidth  bytes_per_second          (proxy)
//	capacity   pool | concurrency        (dependency | "target")
//	surge      multiplier                ("load")
//	burst      requests                  ("load")
//	retry      policy                    ("load")
//
// A Spec is a plain value; Entry validates it.
type Spec struct {
	Name   string `json:"name" yaml:"name"`
	Kind   string `json:"kind" yaml:"kind"`
	Target string `json:"target,omitempty" yaml:"target,omitempty"`
	// At and For place the fault on a timeline (not used by the proxy,
	// which applies a fault when it is added).
	At  dep.Duration `json:"at,omitempty" yaml:"at,omitempty"`
	For dep.Duration `json:"for,omitempty" yaml:"for,omitempty"`
	// Probability is per request or call, in (0, 1]; absent means 1.
	Probability *float64 `json:"probability,omitempty" yaml:"probability,omitempty"`
	Route       string   `json:"route,omitempty" yaml:"route,omitempty"`
	Method      string   `json:"method,omitempty" yaml:"method,omitempty"`
	Header      string   `json:"header,omitempty" yaml:"header,omitempty"`

	Delay          dep.Duration `json:"delay,omitempty" yaml:"delay,omitempty"`
	Jitter         dep.Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	Response       bool         `json:"response,omitempty" yaml:"response,omitempty"`
	Distribution   *dep.Latency `json:"distribution,omitempty" yaml:"distribution,omitempty"`
	Multiplier     float64      `json:"multiplier,omitempty" yaml:"multiplier,omitempty"`
	Status         int          `json:"status,omitempty" yaml:"status,omitempty"`
	BytesPerSecond int64        `json:"bytes_per_second,omitempty" yaml:"bytes_per_second,omitempty"`
	Pool           int          `json:"pool,omitempty" yaml:"pool,omitempty"`
	Concurrency    int          `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	Requests       int          `json:"requests,omitempty" yaml:"requests,omitempty"`
	Policy         string       `json:"policy,omitempty" yaml:"policy,omitempty"`
}

// kindFields lists, for each kind, the kind fields it takes.
var kindFields = map[string][]string{
	"delay":     {"delay", "jitter", "response"},
	"latency":   {"distribution", "multiplier"},
	"abort":     {"status"},
	"reset":     nil,
	"stall":     nil,
	"timeout":   nil,
	"bandwidth": {"bytes_per_second"},
	"capacity":  {"pool", "concurrency"},
	"surge":     {"multiplier"},
	"burst":     {"requests"},
	"retry":     {"policy"},
}

// Kinds returns the names of the fault kinds this package knows, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kindFields))
	for k := range kindFields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// setKindFields returns the JSON names of the kind fields set in s.
func (s Spec) setKindFields() []string {
	var set []string
	add := func(name string, isSet bool) {
		if isSet {
			set = append(set, name)
		}
	}
	add("delay", s.Delay != 0)
	add("jitter", s.Jitter != 0)
	add("response", s.Response)
	add("distribution", s.Distribution != nil)
	add("multiplier", s.Multiplier != 0)
	add("status", s.Status != 0)
	add("bytes_per_second", s.BytesPerSecond != 0)
	add("pool", s.Pool != 0)
	add("concurrency", s.Concurrency != 0)
	add("requests", s.Requests != 0)
	add("policy", s.Policy != "")
	return set
}

// Fault returns the kind s names with its parameters, refusing an unknown
// kind and kind fields that do not belong to it. It does not validate the
// parameters' values (Entry does).
func (s Spec) Fault() (Fault, error) {
	allowed, ok := kindFields[s.Kind]
	if !ok {
		return nil, fieldErr("kind", "%q, want one of %s", s.Kind, strings.Join(Kinds(), ", "))
	}
	var errs []error
	for _, f := range s.setKindFields() {
		if !slices.Contains(allowed, f) {
			want := "no kind fields"
			if len(allowed) > 0 {
				want = "only " + strings.Join(allowed, ", ")
			}
			errs = append(errs, fieldErr(f, "not a field of kind %s (it takes %s)", s.Kind, want))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	switch s.Kind {
	case "delay":
		return Delay{Delay: time.Duration(s.Delay), Jitter: time.Duration(s.Jitter), Response: s.Response}, nil
	case "latency":
		return Latency{Distribution: s.Distribution, Multiplier: s.Multiplier}, nil
	case "abort":
		return Abort{Status: s.Status}, nil
	case "reset":
		return Reset{}, nil
	case "stall":
		return Stall{}, nil
	case "timeout":
		return Timeout{}, nil
	case "bandwidth":
		return Bandwidth{BytesPerSecond: s.BytesPerSecond}, nil
	case "capacity":
		return Capacity{Pool: s.Pool, Concurrency: s.Concurrency}, nil
	case "surge":
		return Surge{Multiplier: s.Multiplier}, nil
	case "burst":
		return Burst{Requests: s.Requests}, nil
	default: // "retry", the last of kindFields
		return Retry{Policy: s.Policy}, nil
	}
}

// Entry turns s into a validated Entry. Errors are *FieldError values
// (joined) named by their JSON field.
func (s Spec) Entry() (Entry, error) {
	e := Entry{
		Name:   s.Name,
		Target: s.Target,
		At:     time.Duration(s.At),
		For:    time.Duration(s.For),
		Scope:  Scope{Route: s.Route, Method: s.Method, Header: s.Header},
	}
	var errs []error
	if s.Probability != nil {
		p := *s.Probability
		if !(p > 0 && p <= 1) { // so NaN is refused too
			errs = append(errs, fieldErr("probability", "%v, want 0 < p ≤ 1 (omit it for 1)", p))
		} else {
			e.Probability = p // not an invalid one: Validate would refuse it a second time
		}
	}
	f, err := s.Fault()
	if err != nil {
		return Entry{}, errors.Join(append(errs, err)...)
	}
	e.Fault = f
	if err := e.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Entry{}, errors.Join(errs...)
	}
	return e, nil
}

// SpecOf returns the Spec of e (the inverse of Spec.Entry for the kinds of
// this package). It fails for a Fault type this package does not know.
func SpecOf(e Entry) (Spec, error) {
	s := Spec{
		Name:   e.Name,
		Target: e.Target,
		At:     dep.Duration(e.At),
		For:    dep.Duration(e.For),
		Route:  e.Scope.Route,
		Method: e.Scope.Method,
		Header: e.Scope.Header,
	}
	if e.Probability != 0 && e.Probability != 1 {
		p := e.Probability
		s.Probability = &p
	}
	switch f := e.Fault.(type) {
	case Delay:
		s.Delay, s.Jitter, s.Response = dep.Duration(f.Delay), dep.Duration(f.Jitter), f.Response
	case Latency:
		s.Distribution, s.Multiplier = f.Distribution, f.Multiplier
	case Abort:
		s.Status = f.Status
	case Reset, Stall, Timeout:
	case Bandwidth:
		s.BytesPerSecond = f.BytesPerSecond
	case Capacity:
		s.Pool, s.Concurrency = f.Pool, f.Concurrency
	case Surge:
		s.Multiplier = f.Multiplier
	case Burst:
		s.Requests = f.Requests
	case Retry:
		s.Policy = f.Policy
	default:
		return Spec{}, fmt.Errorf("fault %s: kind %T has no Spec form", e.Name, e.Fault)
	}
	s.Kind = e.Fault.Kind()
	return s, nil
}

// DecodeSpec reads one Spec from a JSON object, refusing unknown fields
// and naming the field of a wrongly typed value.
func DecodeSpec(data []byte) (Spec, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Spec{}, fmt.Errorf("decode fault: %w", err)
	}
	known := specFields()
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(known, k) {
			errs = append(errs, fieldErr(k, "unknown field, want one of %s", strings.Join(known, ", ")))
		}
	}
	if len(errs) > 0 {
		return Spec{}, errors.Join(errs...)
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Spec{}, fieldErr(te.Field, "%s, want a %v", te.Value, te.Type)
		}
		return Spec{}, fmt.Errorf("decode fault: %w", err)
	}
	return s, nil
}

// specFields returns the JSON names of Spec's fields, sorted.
func specFields() []string {
	t := reflect.TypeFor[Spec]()
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
