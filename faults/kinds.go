package faults

//go:generate go run ./internal/gen

import (
	"reflect"
	"slices"
	"strings"
)

// Place is what a fault kind can act on.
type Place string

// The places a fault can act on.
const (
	// OnDependency is a simulated dependency of the reference target
	// (the kind is a DepFault, applied by TargetInjector).
	OnDependency Place = "dependency"
	// OnProxy is the HTTP exchanges through a fault proxy (the kind is an
	// HTTPFault).
	OnProxy Place = "proxy"
	// OnTarget is the reference target's own concurrency limit (target
	// TargetService; the kind is a ServiceFault).
	OnTarget Place = "target"
	// OnLoad is the offered load itself (target TargetLoad; the kind is a
	// LoadFault).
	OnLoad Place = "load"
)

// KindInfo describes one fault kind: what a Spec, the timeline, the
// profile schema and the docs need to know of it besides the methods of
// its Go type (Kind, Validate, and how it applies: PatchDep, Serve,
// PatchAdmission or ApplyLoad, with the optional checks DepChecker and
// TargetChecker). Each kind's file declares its KindInfo in a
// `func xxxKind() KindInfo`; Registry (generated) lists them. A KindInfo
// is a value, safe for concurrent use.
type KindInfo struct {
	// Zero is the kind's zero value, a struct. Its exported fields are
	// the kind's fields, each named like the Spec field that carries it
	// (Delay.Jitter is Spec.Jitter, "jitter").
	Zero Fault
	// Doc says in one line what the kind does, for the docs.
	Doc string
	// On lists what the kind can act on.
	On []Place
	// Knob names the setting the kind turns: two entries on the same
	// target and scope turning the same knob at overlapping times
	// conflict. Empty: the kind is instant and never conflicts.
	Knob string
}

// Name returns the kind's name as written in JSON and YAML.
func (k KindInfo) Name() string { return k.Zero.Kind() }

// Fields returns the JSON names of the kind's fields, in the order of its
// struct.
func (k KindInfo) Fields() []string {
	t := reflect.TypeOf(k.Zero)
	spec := reflect.TypeFor[Spec]()
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		sf, _ := spec.FieldByName(f.Name)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// fromSpec returns the fault of this kind with its fields taken from s.
func (k KindInfo) fromSpec(s Spec) Fault {
	t := reflect.TypeOf(k.Zero)
	v := reflect.New(t).Elem()
	sv := reflect.ValueOf(s)
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			v.Field(i).Set(sv.FieldByName(f.Name).Convert(f.Type))
		}
	}
	return v.Interface().(Fault)
}

// toSpec writes f's fields (f is of this kind) into s.
func (k KindInfo) toSpec(f Fault, s *Spec) {
	v := reflect.ValueOf(f)
	sv := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() {
			dst := sv.FieldByName(f.Name)
			dst.Set(v.Field(i).Convert(dst.Type()))
		}
	}
}

// Kinds returns the names of the fault kinds of the Registry, sorted.
func Kinds() []string {
	reg := Registry()
	out := make([]string, 0, len(reg))
	for _, k := range reg {
		out = append(out, k.Name())
	}
	return out
}

// kindOf returns the registry's entry for the Go type of f.
func kindOf(f Fault) (KindInfo, bool) {
	t := reflect.TypeOf(f)
	for _, k := range Registry() {
		if reflect.TypeOf(k.Zero) == t {
			return k, true
		}
	}
	return KindInfo{}, false
}

// kindNamed returns the registry's entry for the kind called name.
func kindNamed(name string) (KindInfo, bool) {
	for _, k := range Registry() {
		if k.Name() == name {
			return k, true
		}
	}
	return KindInfo{}, false
}

// KindsOn returns the names of the Registry's kinds that can act on p,
// sorted, joined for a message ("abort, delay or reset").
func KindsOn(p Place) string {
	var names []string
	for _, k := range Registry() {
		if slices.Contains(k.On, p) {
			names = append(names, k.Name())
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
