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

	"github.com/goodput-dev/goodput/dist"
)

// Spec is a fault as written in JSON (the proxy's control API) and YAML
// (a profile's `faults:` entries). Durations are Go duration strings
// ("150ms"). Besides the entry's own fields (name … header), a kind takes
// the kind fields its KindInfo lists (see Registry): each is the Spec field
// named like the field of the kind's Go type.
//
// A Spec is a plain value. Entry converts it; Entry.Validate (or
// Timeline.Validate, or ProxySpec) validates the result, once.
type Spec struct {
	Name   string `json:"name" yaml:"name"`
	Kind   string `json:"kind" yaml:"kind"`
	Target string `json:"target,omitempty" yaml:"target,omitempty"`
	// At and For place the fault on a timeline (not used by the proxy,
	// which applies a fault when it is added).
	At  dist.Duration `json:"at,omitempty" yaml:"at,omitempty"`
	For dist.Duration `json:"for,omitempty" yaml:"for,omitempty"`
	// Probability is per request or call, in (0, 1]; absent means 1.
	Probability *float64 `json:"probability,omitempty" yaml:"probability,omitempty"`
	Route       string   `json:"route,omitempty" yaml:"route,omitempty"`
	Method      string   `json:"method,omitempty" yaml:"method,omitempty"`
	Header      string   `json:"header,omitempty" yaml:"header,omitempty"`

	Delay          dist.Duration `json:"delay,omitempty" yaml:"delay,omitempty"`
	Jitter         dist.Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	Response       bool          `json:"response,omitempty" yaml:"response,omitempty"`
	Distribution   *dist.Latency `json:"distribution,omitempty" yaml:"distribution,omitempty"`
	Multiplier     float64       `json:"multiplier,omitempty" yaml:"multiplier,omitempty"`
	Status         int           `json:"status,omitempty" yaml:"status,omitempty"`
	BytesPerSecond int64         `json:"bytes_per_second,omitempty" yaml:"bytes_per_second,omitempty"`
	Pool           int           `json:"pool,omitempty" yaml:"pool,omitempty"`
	Concurrency    int           `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	Requests       int           `json:"requests,omitempty" yaml:"requests,omitempty"`
	Policy         string        `json:"policy,omitempty" yaml:"policy,omitempty"`
}

// entryFields are the JSON names of Spec's fields that every kind takes
// (they make the Entry); the others are kind fields.
func entryFields() []string {
	return []string{"name", "kind", "target", "at", "for", "probability", "route", "method", "header"}
}

// setKindFields returns the JSON names of the kind fields set in s, in
// the order of Spec's fields.
func (s Spec) setKindFields() []string {
	v := reflect.ValueOf(s)
	var set []string
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if !slices.Contains(entryFields(), name) && !v.Field(i).IsZero() {
			set = append(set, name)
		}
	}
	return set
}

// Fault returns the kind s names with its parameters, refusing an unknown
// kind and kind fields that do not belong to it. It does not validate the
// parameters' values (Fault.Validate does).
func (s Spec) Fault() (Fault, error) {
	k, ok := kindNamed(s.Kind)
	if !ok {
		return nil, fieldErr("kind", "%q, want one of %s", s.Kind, strings.Join(Kinds(), ", "))
	}
	allowed := k.Fields()
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
	return k.fromSpec(s), nil
}

// Entry converts s into an Entry, without validating it: conversion and
// validation are separate steps so that each fault is validated once, by
// whoever checks the whole (Entry.Validate for one entry, Timeline.Validate
// for a timeline, ProxySpec for a proxy). It refuses an unknown kind and
// kind fields that do not belong to it (the Entry is then zero), and a
// probability outside (0, 1], which an Entry cannot hold (it reads 0 as
// 1): then the Entry is still returned, with the probability left 0, so
// that a caller can validate the rest and name every wrong field at once.
// Errors are *FieldError values (joined) named by their JSON field.
func (s Spec) Entry() (Entry, error) {
	f, err := s.Fault()
	if err != nil {
		if perr := s.probabilityErr(); perr != nil {
			err = errors.Join(perr, err)
		}
		return Entry{}, err
	}
	e := Entry{
		Name:   s.Name,
		Target: s.Target,
		At:     time.Duration(s.At),
		For:    time.Duration(s.For),
		Scope:  Scope{Route: s.Route, Method: s.Method, Header: s.Header},
		Fault:  f,
	}
	if err := s.probabilityErr(); err != nil {
		return e, err
	}
	if s.Probability != nil {
		e.Probability = *s.Probability
	}
	return e, nil
}

// probabilityErr refuses an explicit probability outside (0, 1].
func (s Spec) probabilityErr() error {
	if s.Probability == nil {
		return nil
	}
	if p := *s.Probability; !(p > 0 && p <= 1) { // so NaN is refused too
		return fieldErr("probability", "%v, want 0 < p ≤ 1 (omit it for 1)", p)
	}
	return nil
}

// entry converts s and validates the result (Entry.Validate), naming every
// wrong field once.
func (s Spec) entry() (Entry, error) {
	e, err := s.Entry()
	if e.Fault == nil {
		return Entry{}, err
	}
	if err := errors.Join(err, e.Validate()); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// SpecOf returns the Spec of e (the inverse of Spec.Entry for the kinds of
// this package). It fails for a Fault type this package does not know.
func SpecOf(e Entry) (Spec, error) {
	s := Spec{
		Name:   e.Name,
		Target: e.Target,
		At:     dist.Duration(e.At),
		For:    dist.Duration(e.For),
		Route:  e.Scope.Route,
		Method: e.Scope.Method,
		Header: e.Scope.Header,
	}
	if e.Probability != 0 && e.Probability != 1 {
		p := e.Probability
		s.Probability = &p
	}
	k, ok := kindOf(e.Fault)
	if !ok {
		return Spec{}, fmt.Errorf("fault %s: kind %T has no Spec form", e.Name, e.Fault)
	}
	k.toSpec(e.Fault, &s)
	s.Kind = k.Name()
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
