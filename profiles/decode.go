package profiles

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// Raw is a YAML value kept as written, with its positions, for a part of a
// profile whose schema belongs to another package (the reference target's
// configuration) or that is resolved later. The zero value is absent.
type Raw struct{ n *node }

// IsZero reports whether the value is absent (or null).
func (r Raw) IsZero() bool { return r.n == nil || r.n.kind == nullNode }

// Decode decodes the value strictly into v (a pointer to a struct with
// yaml or json tags), reporting errors at their positions in the profile,
// with field paths under prefix. Fields of v that the value does not set
// keep their values. Types that implement encoding.TextUnmarshaler are
// read from scalars.
func (r Raw) Decode(v any, prefix string) error {
	if r.IsZero() {
		return nil
	}
	d := newDecoder()
	d.decode(r.n, reflect.ValueOf(v).Elem(), prefix)
	if len(d.errs) > 0 {
		return d.errs.sorted()
	}
	return nil
}

// Value returns the value as plain Go values (map[string]any, []any,
// string, int64, float64, bool, nil), for JSON encoding.
func (r Raw) Value() any { return plain(r.n) }

func plain(n *node) any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case mapNode:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k.text] = plain(n.items[i])
		}
		return m
	case seqNode:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = plain(it)
		}
		return s
	case scalarNode:
		switch n.tag {
		case tagInt:
			if v, err := strconv.ParseInt(n.text, 0, 64); err == nil {
				return v
			}
		case tagFloat:
			if v, err := strconv.ParseFloat(n.text, 64); err == nil {
				return v
			}
		case tagBool:
			return n.text == "true"
		}
		return n.text
	}
	return nil
}

func (r *Raw) decodeNode(n *node, _ string) error {
	r.n = n
	return nil
}

// Overrides is an ordered list of `path: value` changes to a scenario, as
// in a variant's `set`, the `short` block, or `--set path=value`.
// The zero value is no changes.
type Overrides struct{ entries []override }

type override struct {
	path  string
	value *node
	pos   Pos // where the path was written
}

// Len returns the number of overrides.
func (o Overrides) Len() int { return len(o.entries) }

// Paths returns the overridden paths in order.
func (o Overrides) Paths() []string {
	out := make([]string, len(o.entries))
	for i, e := range o.entries {
		out[i] = e.path
	}
	return out
}

func (o *Overrides) decodeNode(n *node, _ string) error {
	if n.kind == nullNode {
		return nil
	}
	if n.kind != mapNode {
		return wantError("want a mapping of path: value, e.g. {client.max_attempts: 3}")
	}
	for i, k := range n.keys {
		o.entries = append(o.entries, override{path: k.text, value: n.items[i], pos: k.pos})
	}
	return nil
}

// nodeDecoder is a profile value decoded from a whole node.
type nodeDecoder interface {
	decodeNode(n *node, path string) error
}

var (
	_ nodeDecoder = (*Raw)(nil)
	_ nodeDecoder = (*Overrides)(nil)
)

// defaulter fills in its defaults before its fields are decoded.
type defaulter interface{ setDefaults() }

// decoder decodes nodes into Go values strictly, collecting every error
// with its position, and remembers where each field path was written.
type decoder struct {
	errs     Errors
	pos      map[string]Pos
	shown    map[string]string // field path → scalar as written, for expanded ones
	expanded map[string]string // field path → the expansion of shown
}

func newDecoder() *decoder {
	return &decoder{pos: map[string]Pos{}, shown: map[string]string{}, expanded: map[string]string{}}
}

// redact writes, in the messages of errs about a value expanded from the
// environment, the value as written in place of its expansion (which may
// be a secret).
func (d *decoder) redact(errs Errors) {
	for _, e := range errs {
		if v := d.expanded[e.Path]; v != "" {
			e.Msg = strings.ReplaceAll(e.Msg, v, d.shown[e.Path])
		}
	}
}

func (d *decoder) fail(n *node, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Pos: n.pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	distDuration  = reflect.TypeFor[dist.Duration]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// decode stores n into v (settable), reporting problems under path.
func (d *decoder) decode(n *node, v reflect.Value, path string) {
	d.pos[path] = n.pos
	if n.expanded {
		d.shown[path], d.expanded[path] = n.shown, n.text
	}
	if v.CanAddr() {
		switch p := v.Addr().Interface().(type) {
		case nodeDecoder:
			if err := p.decodeNode(n, path); err != nil {
				d.fail(n, path, "found %s, %v", n.describe(), err)
			}
			return
		case scalar:
			if n.kind == nullNode {
				return
			}
			if n.kind != scalarNode {
				d.fail(n, path, "found %s, want %s", n.describe(), p.syntax())
				return
			}
			if err := p.parse(n.text, n.tag); err != nil {
				d.fail(n, path, "found %s, %v", n.describe(), err)
			}
			return
		}
	}
	if n.kind == nullNode {
		return // an empty value leaves the field as it is
	}
	t := v.Type()
	if t == durationType || t == distDuration {
		d.duration(n, v, path)
		return
	}
	if v.CanAddr() && reflect.PointerTo(t).Implements(textUnmarshal) && t.Kind() != reflect.Struct {
		if n.kind != scalarNode {
			d.fail(n, path, "found %s, want a single value", n.describe())
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.text)); err != nil {
			d.fail(n, path, "found %s: %v", n.describe(), err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		if n.kind != seqNode {
			d.fail(n, path, "found %s, want a list", n.describe())
			return
		}
		s := reflect.MakeSlice(t, len(n.items), len(n.items))
		for i, it := range n.items {
			e := s.Index(i)
			if df, ok := e.Addr().Interface().(defaulter); ok {
				df.setDefaults()
			}
			d.decode(it, e, fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.kind != mapNode {
			d.fail(n, path, "found %s, want a mapping", n.describe())
			return
		}
		if t.Key().Kind() != reflect.String {
			d.fail(n, path, "unsupported map key type %s", t.Key())
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.keys))
		for i, k := range n.keys {
			e := reflect.New(t.Elem()).Elem()
			d.decode(n.items[i], e, join(path, k.text))
			m.SetMapIndex(reflect.ValueOf(k.text).Convert(t.Key()), e)
		}
		v.Set(m)
	case reflect.String:
		if n.kind != scalarNode {
			d.fail(n, path, "found %s, want a string", n.describe())
			return
		}
		v.SetString(n.text)
	case reflect.Bool:
		if n.kind != scalarNode || n.tag != tagBool {
			d.fail(n, path, "found %s, want true or false", n.describe())
			return
		}
		v.SetBool(n.text == "true")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.text, 0, 64)
		if n.kind != scalarNode || n.tag != tagInt || err != nil || v.OverflowInt(i) {
			d.fail(n, path, "found %s, want an integer", n.describe())
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.text, 0, 64)
		if n.kind != scalarNode || n.tag != tagInt || err != nil || v.OverflowUint(u) {
			d.fail(n, path, "found %s, want an integer ≥ 0", n.describe())
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.text, 64)
		if n.kind != scalarNode || (n.tag != tagInt && n.tag != tagFloat) || err != nil {
			d.fail(n, path, "found %s, want a number", n.describe())
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		v.Set(reflect.ValueOf(plain(n)))
	default:
		d.fail(n, path, "unsupported field type %s", t)
	}
}

func (d *decoder) duration(n *node, v reflect.Value, path string) {
	if n.kind == scalarNode {
		if dur, err := time.ParseDuration(n.text); err == nil {
			v.SetInt(int64(dur))
			return
		}
	}
	hint := ""
	if n.kind == scalarNode && n.tag == tagInt {
		hint = fmt.Sprintf(" (a unit is required: %ss?)", n.text)
	}
	d.fail(n, path, "found %s, want a Go duration such as 250ms, 2s or 1m30s%s", n.describe(), hint)
}

// fieldName returns the profile name of a struct field: its yaml tag, else
// its json tag, else "" (not a profile field).
func fieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	for _, key := range []string{"yaml", "json"} {
		if tag, ok := f.Tag.Lookup(key); ok {
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
	}
	return ""
}

// inlined reports whether f is an embedded struct whose fields are its
// parent's (`yaml:",inline"`), as the target's serverless section embeds
// the platform's configuration.
func inlined(f reflect.StructField) bool {
	if !f.Anonymous || f.Type.Kind() != reflect.Struct {
		return false
	}
	tag, _ := f.Tag.Lookup("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	return name == "" && strings.Contains(","+opts+",", ",inline,")
}

// fields returns the profile names of t's fields in declaration order,
// those of inlined structs in their place, and the index path of each.
func fields(t reflect.Type) ([]string, map[string][]int) {
	var names []string
	index := map[string][]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			path := append(slices.Clip(prefix), i)
			if inlined(f) {
				walk(f.Type, path)
				continue
			}
			if name := fieldName(f); name != "" {
				names = append(names, name)
				index[name] = path
			}
		}
	}
	walk(t, nil)
	return names, index
}

// fieldNames returns the profile names of t's fields in declaration order.
func fieldNames(t reflect.Type) []string {
	names, _ := fields(t)
	return names
}

func (d *decoder) structure(n *node, v reflect.Value, path string) {
	if n.kind != mapNode {
		d.fail(n, path, "found %s, want a mapping with fields %s", n.describe(), strings.Join(fieldNames(v.Type()), ", "))
		return
	}
	if v.CanAddr() {
		if df, ok := v.Addr().Interface().(defaulter); ok && path == "" {
			df.setDefaults()
		}
	}
	t := v.Type()
	_, index := fields(t)
	for i, k := range n.keys {
		fp := join(path, k.text)
		fi, ok := index[k.text]
		if !ok {
			valid := fieldNames(t)
			sort.Strings(valid)
			d.errs = append(d.errs, &FieldError{Pos: k.pos, Path: fp, Msg: "unknown field; " + didYouMean(k.text, valid)})
			continue
		}
		d.decode(n.items[i], v.FieldByIndex(fi), fp)
	}
}
