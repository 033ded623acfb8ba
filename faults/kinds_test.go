package faults

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every kind of the registry is fully described, and what it says of
// itself agrees with its Go type.
func TestRegistryDescribesEveryKind(t *testing.T) {
	reg := Registry()
	assert.NotEmpty(t, reg)
	spec := reflect.TypeFor[Spec]()
	var names []string
	for _, k := range reg {
		name := k.Name()
		names = append(names, name)
		assert.NotEmpty(t, k.Doc, name)
		assert.NotEmpty(t, k.On, name)
		typ := reflect.TypeOf(k.Zero)
		if !assert.Equal(t, reflect.Struct, typ.Kind(), "%s: Zero must be a struct", name) {
			continue
		}
		// Each field is carried by the Spec field of the same name, both
		// ways, and is a kind field (not one of the entry's own).
		for f := range typ.Fields() {
			sf, ok := spec.FieldByName(f.Name)
			if !assert.True(t, ok, "%s.%s has no Spec field", name, f.Name) {
				continue
			}
			assert.True(t, sf.Type.ConvertibleTo(f.Type) && f.Type.ConvertibleTo(sf.Type), "%s.%s: %v and Spec's %v", name, f.Name, f.Type, sf.Type)
		}
		for _, f := range k.Fields() {
			assert.NotContains(t, []string{"name", "kind", "target", "at", "for", "probability", "route", "method", "header"}, f, name)
		}
		// On agrees with the capability interfaces.
		_, dep := k.Zero.(DepFault)
		_, http := k.Zero.(HTTPFault)
		_, load := k.Zero.(LoadFault)
		_, service := k.Zero.(ServiceFault)
		assert.Equal(t, dep, slices.Contains(k.On, OnDependency), "%s: dependency", name)
		assert.Equal(t, http, slices.Contains(k.On, OnProxy), "%s: proxy", name)
		assert.Equal(t, load, slices.Contains(k.On, OnLoad), "%s: load", name)
		assert.Equal(t, service, slices.Contains(k.On, OnTarget), "%s: target", name)
		got, ok := kindOf(k.Zero)
		assert.True(t, ok && got.Name() == name, name)
	}
	assert.True(t, slices.IsSorted(names), "Registry is sorted by name: %v", names)
	assert.Len(t, slices.Compact(slices.Clone(names)), len(names), "kind names are unique")
}
