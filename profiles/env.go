package profiles

import (
	"fmt"
	"strconv"
	"strings"
)

// Lookup reads an environment variable: its value and whether it is set,
// as os.LookupEnv.
type Lookup func(name string) (string, bool)

// expandEnv expands s: ${NAME} is the variable's value, ${NAME:-DEFAULT}
// its value or DEFAULT when it is unset or empty, $$ a literal $; any other
// $ stays as written. An unset variable without a default is an error
// naming it. changed says whether s held any of these forms.
func expandEnv(s string, lookup Lookup) (out string, changed bool, err error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s, changed = s[i+2:], true
			continue
		case '{':
		default:
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false, fmt.Errorf("%q: ${ without a closing }; write $$ for a literal $", s[i:])
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", false, fmt.Errorf("${%s}: want ${NAME} or ${NAME:-DEFAULT} with NAME of letters, digits and _ (not first a digit); write $$ for a literal $", expr)
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			return "", false, fmt.Errorf("environment variable %s is not set (write ${%s:-DEFAULT} to give a default)", name, name)
		}
		b.WriteString(v)
		s, changed = s[i+end+1:], true
	}
	return b.String(), changed, nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// expandTree expands the environment in the scalar values of n (not in
// mapping keys), keeping each expanded scalar's text as written for
// display (node.shown) and retyping an unquoted scalar by what it expands
// to (so `rate: ${RATE:-200}` is a number).
func expandTree(n *node, path string, lookup Lookup, errs *Errors) {
	switch n.kind {
	case scalarNode:
		if n.tag != tagStr {
			return
		}
		out, changed, err := expandEnv(n.text, lookup)
		if err != nil {
			*errs = append(*errs, &FieldError{Pos: n.pos, Path: path, Msg: err.Error()})
			return
		}
		if !changed {
			return
		}
		n.shown, n.expanded, n.text = n.text, true, out
		if n.plain {
			n.tag = plainTag(out)
		}
	case mapNode:
		for i, k := range n.keys {
			expandTree(n.items[i], join(path, k.text), lookup, errs)
		}
	case seqNode:
		for i, it := range n.items {
			expandTree(it, fmt.Sprintf("%s[%d]", path, i), lookup, errs)
		}
	}
}

// plainTag types an unquoted scalar's text as YAML's core schema does for
// numbers and booleans.
func plainTag(s string) string {
	switch s {
	case "true", "false":
		return tagBool
	}
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return tagInt
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, "0123456789") {
		return tagFloat
	}
	return tagStr
}

// shownNode returns n for display: a copy in which every expanded scalar
// has its text as written (${TOKEN}, not the token); n itself when nothing
// under it was expanded.
func shownNode(n *node) *node {
	if n == nil {
		return nil
	}
	if n.expanded {
		return &node{kind: scalarNode, pos: n.pos, tag: tagStr, text: n.shown}
	}
	var items []*node
	for i, it := range n.items {
		if s := shownNode(it); s != it {
			if items == nil {
				items = append([]*node(nil), n.items...)
			}
			items[i] = s
		}
	}
	if items == nil {
		return n
	}
	out := *n
	out.items = items
	return &out
}
