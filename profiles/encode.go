package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var typeOfScenario = reflect.TypeFor[Scenario]()

func reflectValue(s *Scenario) reflect.Value { return reflect.ValueOf(s).Elem() }

// YAML returns the scenario as a profile: every field that is not zero,
// defaults included. Loading it gives the same scenario back.
func (s *Scenario) YAML() []byte {
	var b bytes.Buffer
	writeYAML(&b, encoder{s.shown}.value(reflectValue(s), ""), 0, false)
	return b.Bytes()
}

// JSON returns the scenario as JSON with the profile's field names and
// values in profile notation ("250ms", "64KiB"), for results headers.
func (s *Scenario) JSON() []byte {
	var b bytes.Buffer
	writeJSON(&b, encoder{s.shown}.value(reflectValue(s), ""))
	return b.Bytes()
}

// encoder turns Go values into nodes for display.
type encoder struct {
	// shown maps a field path to its scalar as written, for the values
	// expanded from the environment: they are displayed as written.
	shown map[string]string
}

// value turns the Go value at path into a node, leaving out zero fields;
// it returns nil for a zero value.
func (e encoder) value(v reflect.Value, path string) *node {
	n := e.encode(v, path)
	if n != nil && n.kind == scalarNode {
		if t, ok := e.shown[path]; ok {
			return str(t)
		}
	}
	return n
}

func (e encoder) encode(v reflect.Value, path string) *node {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.CanInterface() {
		switch x := v.Interface().(type) {
		case Raw:
			if x.IsZero() {
				return nil
			}
			return shownNode(x.n)
		case Overrides:
			if x.Len() == 0 {
				return nil
			}
			m := &node{kind: mapNode}
			for _, o := range x.entries {
				m.keys = append(m.keys, str(o.path))
				m.items = append(m.items, shownNode(o.value))
			}
			return m
		}
	}
	if v.IsZero() && v.Kind() != reflect.Struct {
		return nil
	}
	if st, ok := v.Interface().(fmt.Stringer); ok && (v.Kind() != reflect.Struct || isScalarStruct(v)) {
		return scalarText(st.String())
	}
	switch v.Kind() {
	case reflect.Struct:
		m := &node{kind: mapNode}
		names, index := fields(v.Type())
		for _, name := range names {
			if c := e.value(v.FieldByIndex(index[name]), join(path, name)); c != nil {
				m.keys = append(m.keys, str(name))
				m.items = append(m.items, c)
			}
		}
		if len(m.keys) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		s := &node{kind: seqNode}
		for i := range v.Len() {
			c := e.value(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if c == nil {
				c = &node{kind: mapNode}
			}
			s.items = append(s.items, c)
		}
		return s
	case reflect.Map:
		m := &node{kind: mapNode}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			c := e.value(v.MapIndex(k), join(path, k.String()))
			if c == nil {
				c = str("")
			}
			m.keys = append(m.keys, str(k.String()))
			m.items = append(m.items, c)
		}
		return m
	case reflect.String:
		return str(v.String())
	case reflect.Bool:
		return &node{kind: scalarNode, tag: tagBool, text: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == durationType {
			return str(time.Duration(v.Int()).String())
		}
		return &node{kind: scalarNode, tag: tagInt, text: strconv.FormatInt(v.Int(), 10)}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &node{kind: scalarNode, tag: tagInt, text: strconv.FormatUint(v.Uint(), 10)}
	case reflect.Float32, reflect.Float64:
		return &node{kind: scalarNode, tag: tagFloat, text: strconv.FormatFloat(v.Float(), 'g', -1, 64)}
	}
	return nil
}

// isScalarStruct reports whether v is a struct written as one scalar
// (Distribution, Budget, Throttle, Hedge, Assertion).
func isScalarStruct(v reflect.Value) bool {
	if v.Kind() != reflect.Struct || !v.CanAddr() {
		return false
	}
	_, isScalar := v.Addr().Interface().(scalar)
	_, isStringer := v.Interface().(fmt.Stringer)
	return isScalar && isStringer
}

func str(s string) *node { return &node{kind: scalarNode, tag: tagStr, text: s} }

// scalarText returns a scalar for a value's text, typed as a number when
// it reads as one (so a rate prints as 200, not "200").
func scalarText(s string) *node {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &node{kind: scalarNode, tag: tagInt, text: s}
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return &node{kind: scalarNode, tag: tagFloat, text: s}
	}
	return str(s)
}

// plainRE matches strings that YAML reads back as the same string when
// written without quotes.
var plainRE = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./+-]*(:[A-Za-z0-9_./,+-]+)*$`)

var yamlKeywords = map[string]bool{"true": true, "false": true, "null": true, "yes": true, "no": true, "on": true, "off": true, "y": true, "n": true, "~": true}

func yamlScalar(n *node) string {
	if n.tag != tagStr {
		return n.text
	}
	if plainRE.MatchString(n.text) && !yamlKeywords[strings.ToLower(n.text)] {
		return n.text
	}
	if _, err := time.ParseDuration(n.text); err == nil && plainRE.MatchString("x"+n.text) {
		return n.text
	}
	return strconv.Quote(n.text)
}

// writeYAML writes n in block style at the given indentation. inSeq says
// that the first line already has "- " written.
func writeYAML(b *bytes.Buffer, n *node, indent int, inSeq bool) {
	pad := strings.Repeat("  ", indent)
	switch n.kind {
	case mapNode:
		if len(n.keys) == 0 {
			b.WriteString("{}\n")
			return
		}
		for i, k := range n.keys {
			if i > 0 || !inSeq {
				b.WriteString(pad)
			}
			b.WriteString(yamlScalar(k) + ":")
			writeChild(b, n.items[i], indent)
		}
	case seqNode:
		for _, it := range n.items {
			b.WriteString(pad + "- ")
			if it.kind == mapNode && len(it.keys) > 0 {
				writeYAML(b, it, indent+1, true)
				continue
			}
			writeInline(b, it)
			b.WriteString("\n")
		}
	default:
		writeInline(b, n)
		b.WriteString("\n")
	}
}

func writeChild(b *bytes.Buffer, c *node, indent int) {
	switch {
	case c.kind == mapNode && len(c.keys) > 0:
		b.WriteString("\n")
		writeYAML(b, c, indent+1, false)
	case c.kind == seqNode && len(c.items) > 0 && !allScalars(c):
		b.WriteString("\n")
		writeYAML(b, c, indent+1, false)
	default:
		b.WriteString(" ")
		writeInline(b, c)
		b.WriteString("\n")
	}
}

func allScalars(n *node) bool {
	for _, it := range n.items {
		if it.kind != scalarNode {
			return false
		}
	}
	return true
}

// writeInline writes n in flow style.
func writeInline(b *bytes.Buffer, n *node) {
	switch n.kind {
	case nullNode:
		b.WriteString("null")
	case scalarNode:
		b.WriteString(yamlScalar(n))
	case seqNode:
		b.WriteString("[")
		for i, it := range n.items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeInline(b, it)
		}
		b.WriteString("]")
	case mapNode:
		b.WriteString("{")
		for i, k := range n.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(yamlScalar(k) + ": ")
			writeInline(b, n.items[i])
		}
		b.WriteString("}")
	}
}

func writeJSON(b *bytes.Buffer, n *node) {
	if n == nil {
		b.WriteString("{}")
		return
	}
	switch n.kind {
	case nullNode:
		b.WriteString("null")
	case scalarNode:
		v := plain(n)
		if n.tag == tagStr {
			v = n.text
		}
		if err := jsonValue(b, v); err != nil { // NaN or ±Inf: JSON has no number for them
			_ = jsonValue(b, n.text)
		}
	case seqNode:
		b.WriteString("[")
		for i, it := range n.items {
			if i > 0 {
				b.WriteString(",")
			}
			writeJSON(b, it)
		}
		b.WriteString("]")
	case mapNode:
		b.WriteString("{")
		for i, k := range n.keys {
			if i > 0 {
				b.WriteString(",")
			}
			_ = jsonValue(b, k.text) // a string always encodes
			b.WriteString(":")
			writeJSON(b, n.items[i])
		}
		b.WriteString("}")
	}
}

// jsonValue writes v as JSON without HTML escaping (assertions hold < and >).
func jsonValue(b *bytes.Buffer, v any) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
	return nil
}
