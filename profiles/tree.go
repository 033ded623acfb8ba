package profiles

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/goodput-dev/goodput/internal/yamldepth"
)

// nodeKind is the shape of a YAML value.
type nodeKind uint8

const (
	nullNode nodeKind = iota
	scalarNode
	mapNode
	seqNode
)

// Scalar tags: how YAML typed a plain scalar.
const (
	tagStr   = "str"
	tagInt   = "int"
	tagFloat = "float"
	tagBool  = "bool"
)

// node is a YAML value with the position it came from. Profiles are parsed
// into nodes so that overrides (variants, --set) can be applied before
// decoding, and every decoded value keeps its own position for errors.
// Mapping keys keep their order.
type node struct {
	kind  nodeKind
	pos   Pos
	tag   string  // scalars: tagStr, tagInt, tagFloat or tagBool
	text  string  // scalars: the value's text (unquoted)
	keys  []*node // mappings: the keys (scalars), parallel to items
	items []*node // mappings: the values; sequences: the items
	// plain: a scalar written without quotes (typed by what it expands to).
	plain bool
	// expanded: text is the expansion of shown, the scalar as written
	// (${TOKEN}); the scenario is displayed with shown, used with text.
	expanded bool
	shown    string
}

// maxNodes bounds the nodes one document may expand to (aliases included),
// so a hostile file cannot make the loader exponential.
const maxNodes = 200_000

// maxDocBytes bounds the size of one profile.
const maxDocBytes = 4 << 20

// errTooLarge is returned for documents over maxNodes or maxDocBytes.
var errTooLarge = errors.New("document too large")

// parseYAML parses one YAML document into a node tree. An empty document is
// an empty mapping. A document nested more than yamldepth.DefaultLimit
// levels deep is refused before the parser sees it (the parser would
// spend seconds and gigabytes on it), at the line and column where it goes
// too deep.
func parseYAML(file string, data []byte) (*node, error) {
	if len(data) > maxDocBytes {
		return nil, &FieldError{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: fmt.Sprintf("%v: %d bytes, at most %d", errTooLarge, len(data), maxDocBytes)}
	}
	if err := yamldepth.Check(data, yamldepth.DefaultLimit); err != nil {
		var de *yamldepth.Error
		if !errors.As(err, &de) {
			return nil, &FieldError{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: err.Error()}
		}
		return nil, &FieldError{Pos: Pos{File: file, Line: de.Line, Col: de.Column},
			Msg: fmt.Sprintf("nested more than %d levels deep ([, { or indentation), want at most %d; refused before decoding", de.Limit, de.Limit)}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, syntaxError(file, err)
	}
	c := converter{file: file, anchors: map[string]*node{}}
	switch len(f.Docs) {
	case 0:
		return &node{kind: mapNode, pos: Pos{File: file, Line: 1, Col: 1}}, nil
	case 1:
	default:
		p := c.posOf(f.Docs[1].GetToken())
		return nil, &FieldError{Pos: p, Msg: "a profile is one YAML document; found a second one (---)"}
	}
	root, err := c.convert(f.Docs[0].Body)
	if err != nil {
		return nil, err
	}
	if root.kind == nullNode {
		return &node{kind: mapNode, pos: root.pos}, nil
	}
	return root, nil
}

// syntaxError turns the parser's error into a FieldError at its token.
func syntaxError(file string, err error) error {
	var te interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &te) && te.GetToken() != nil {
		p := te.GetToken().Position
		return &FieldError{Pos: Pos{File: file, Line: p.Line, Col: p.Column}, Msg: "YAML syntax: " + te.GetMessage()}
	}
	return &FieldError{Pos: Pos{File: file, Line: 1, Col: 1}, Msg: "YAML syntax: " + err.Error()}
}

// converter turns a goccy AST into nodes, resolving anchors and aliases.
type converter struct {
	file    string
	anchors map[string]*node
	count   int
}

func (c *converter) posOf(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: c.file, Line: 1, Col: 1}
	}
	return Pos{File: c.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (c *converter) convert(n ast.Node) (*node, error) {
	c.count++
	if c.count > maxNodes {
		return nil, &FieldError{Pos: Pos{File: c.file, Line: 1, Col: 1}, Msg: fmt.Sprintf("%v: more than %d values", errTooLarge, maxNodes)}
	}
	if n == nil {
		return &node{kind: nullNode, pos: Pos{File: c.file, Line: 1, Col: 1}}, nil
	}
	p := c.posOf(n.GetToken())
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && m.Values[0].Key != nil {
		p = c.posOf(m.Values[0].Key.GetToken()) // a block mapping starts at its first key
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return &node{kind: nullNode, pos: p}, nil
	case *ast.StringNode:
		plain := n.GetToken() != nil && n.GetToken().Type == token.StringType
		return &node{kind: scalarNode, pos: p, tag: tagStr, text: n.Value, plain: plain}, nil
	case *ast.LiteralNode:
		text := ""
		if n.Value != nil {
			text = n.Value.Value
		}
		return &node{kind: scalarNode, pos: p, tag: tagStr, text: text}, nil
	case *ast.IntegerNode:
		return &node{kind: scalarNode, pos: p, tag: tagInt, text: n.GetToken().Value}, nil
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: scalarNode, pos: p, tag: tagFloat, text: n.GetToken().Value}, nil
	case *ast.BoolNode:
		return &node{kind: scalarNode, pos: p, tag: tagBool, text: strconv.FormatBool(n.Value)}, nil
	case *ast.TagNode:
		v, err := c.convert(n.Value)
		if err != nil {
			return nil, err
		}
		if n.Start != nil && (n.Start.Value == "!!str" || n.Start.Value == "!str") && v.kind == scalarNode {
			v.tag, v.plain = tagStr, false
		}
		return v, nil
	case *ast.AnchorNode:
		v, err := c.convert(n.Value)
		if err != nil {
			return nil, err
		}
		if n.Name != nil {
			c.anchors[n.Name.GetToken().Value] = v
		}
		return v, nil
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		v, ok := c.anchors[name]
		if !ok {
			return nil, &FieldError{Pos: p, Msg: fmt.Sprintf("alias *%s: no anchor &%s before it", name, name)}
		}
		return c.copy(v, p)
	case *ast.MappingValueNode:
		m := &node{kind: mapNode, pos: p}
		if err := c.addEntry(m, n, nil); err != nil {
			return nil, err
		}
		return m, nil
	case *ast.MappingNode:
		m := &node{kind: mapNode, pos: p}
		explicit := map[string]bool{}
		for _, mv := range n.Values {
			if mv.Key != nil && mv.Key.IsMergeKey() {
				continue
			}
			if err := c.addEntry(m, mv, explicit); err != nil {
				return nil, err
			}
		}
		for _, mv := range n.Values {
			if mv.Key == nil || !mv.Key.IsMergeKey() {
				continue
			}
			if err := c.merge(m, mv.Value, explicit); err != nil {
				return nil, err
			}
		}
		return m, nil
	case *ast.SequenceNode:
		s := &node{kind: seqNode, pos: p}
		for _, item := range n.Values {
			v, err := c.convert(item)
			if err != nil {
				return nil, err
			}
			s.items = append(s.items, v)
		}
		return s, nil
	case *ast.DocumentNode:
		return c.convert(n.Body)
	default:
		return nil, &FieldError{Pos: p, Msg: fmt.Sprintf("unsupported YAML construct (%s)", n.Type())}
	}
}

// addEntry converts one key: value pair into m, refusing duplicate keys.
func (c *converter) addEntry(m *node, mv *ast.MappingValueNode, explicit map[string]bool) error {
	var keyNode ast.Node = mv.Key
	if k, ok := keyNode.(*ast.MappingKeyNode); ok {
		keyNode = k.Value
	}
	k, err := c.convert(keyNode)
	if err != nil {
		return err
	}
	if k.kind != scalarNode {
		return &FieldError{Pos: k.pos, Msg: "a mapping key must be a plain name"}
	}
	if explicit == nil {
		explicit = map[string]bool{}
		for _, e := range m.keys {
			explicit[e.text] = true
		}
	}
	if explicit[k.text] {
		return &FieldError{Pos: k.pos, Msg: fmt.Sprintf("duplicate key %q", k.text)}
	}
	explicit[k.text] = true
	v, err := c.convert(mv.Value)
	if err != nil {
		return err
	}
	m.keys = append(m.keys, k)
	m.items = append(m.items, v)
	return nil
}

// merge adds the entries of a merge key's value (a mapping or a list of
// mappings) that m does not set itself.
func (c *converter) merge(m *node, value ast.Node, explicit map[string]bool) error {
	v, err := c.convert(value)
	if err != nil {
		return err
	}
	sources := []*node{v}
	if v.kind == seqNode {
		sources = v.items
	}
	for _, src := range sources {
		if src.kind != mapNode {
			return &FieldError{Pos: src.pos, Msg: "a merge key (<<) takes a mapping or a list of mappings"}
		}
		for i, k := range src.keys {
			if explicit[k.text] {
				continue
			}
			explicit[k.text] = true
			m.keys = append(m.keys, k)
			m.items = append(m.items, src.items[i])
		}
	}
	return nil
}

// copy deep-copies an anchored node for an alias, counting the copies
// against maxNodes.
func (c *converter) copy(n *node, at Pos) (*node, error) {
	c.count++
	if c.count > maxNodes {
		return nil, &FieldError{Pos: at, Msg: fmt.Sprintf("%v: aliases expand to more than %d values", errTooLarge, maxNodes)}
	}
	out := *n
	out.keys = append([]*node(nil), n.keys...)
	out.items = make([]*node, len(n.items))
	for i, it := range n.items {
		cp, err := c.copy(it, at)
		if err != nil {
			return nil, err
		}
		out.items[i] = cp
	}
	return &out, nil
}

// clone deep-copies n, so overrides can change the copy.
func (n *node) clone() *node {
	out := *n
	out.keys = append([]*node(nil), n.keys...)
	out.items = make([]*node, len(n.items))
	for i, it := range n.items {
		out.items[i] = it.clone()
	}
	return &out
}

// get returns the value of key in mapping n, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for i, k := range n.keys {
		if k.text == key {
			return n.items[i]
		}
	}
	return nil
}

// describe names a node's value for "found …" in messages.
func (n *node) describe() string {
	switch n.kind {
	case nullNode:
		return "nothing (null)"
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a list"
	}
	if n.expanded { // as written: the value may be a secret
		return strconv.Quote(n.shown)
	}
	switch n.tag {
	case tagStr:
		return strconv.Quote(n.text)
	default:
		return n.text
	}
}

// splitPath splits an override path ("phases[1].rate" or
// "phases.1.rate") into its segments.
func splitPath(path string) ([]string, error) {
	p := strings.NewReplacer("[", ".", "]", "").Replace(path)
	segs := strings.Split(p, ".")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("path %q: empty segment (want e.g. client.timeout or phases[1].rate)", path)
		}
	}
	return segs, nil
}

// set assigns value at path inside root, creating mappings on the way; a
// null value removes the field instead. In a list, a segment is an index
// (0-based; the length appends) or the name of an item (its name field).
// at is where the override came from, for the keys it creates.
func set(root *node, path string, value *node, at Pos) error {
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	cur := root
	for i, seg := range segs {
		last := i == len(segs)-1
		switch cur.kind {
		case nullNode, scalarNode:
			*cur = node{kind: mapNode, pos: at}
			fallthrough
		case mapNode:
			idx := -1
			for j, k := range cur.keys {
				if k.text == seg {
					idx = j
					break
				}
			}
			if last && value.kind == nullNode {
				// null removes the field: it takes its default again.
				if idx >= 0 {
					cur.keys = append(cur.keys[:idx], cur.keys[idx+1:]...)
					cur.items = append(cur.items[:idx], cur.items[idx+1:]...)
				}
				return nil
			}
			if idx < 0 {
				cur.keys = append(cur.keys, &node{kind: scalarNode, pos: at, tag: tagStr, text: seg})
				cur.items = append(cur.items, &node{kind: nullNode, pos: at})
				idx = len(cur.keys) - 1
			}
			if last {
				cur.items[idx] = value
				return nil
			}
			cur = cur.items[idx]
		case seqNode:
			idx, err := seqIndex(cur, seg)
			if err != nil {
				return err
			}
			if idx == len(cur.items) {
				cur.items = append(cur.items, &node{kind: nullNode, pos: at})
			}
			if last {
				cur.items[idx] = value
				return nil
			}
			cur = cur.items[idx]
		}
	}
	return nil
}

// seqIndex finds the item of list n that seg names: a 0-based index (the
// length appends), or the value of an item's name field.
func seqIndex(n *node, seg string) (int, error) {
	if i, err := strconv.Atoi(seg); err == nil {
		if i < 0 || i > len(n.items) {
			return 0, fmt.Errorf("index %d out of range: the list has %d item(s), index %d appends", i, len(n.items), len(n.items))
		}
		return i, nil
	}
	var names []string
	for i, it := range n.items {
		name := it.get("name")
		if name == nil || name.kind != scalarNode {
			continue
		}
		if name.text == seg {
			return i, nil
		}
		names = append(names, name.text)
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%q: want an index (0..%d)", seg, len(n.items))
	}
	return 0, fmt.Errorf("no item named %q; %s", seg, didYouMean(seg, names))
}

// parseValue parses an override's value text as YAML (so 300 is a number,
// [a, b] a list), falling back to a plain string.
func parseValue(text string, at Pos) *node {
	switch strings.TrimSpace(text) {
	case "":
		return &node{kind: scalarNode, pos: at, tag: tagStr, text: text}
	case "null", "Null", "NULL", "~":
		return &node{kind: nullNode, pos: at}
	}
	n, err := parseYAML(at.File, []byte(text))
	if err != nil {
		return &node{kind: scalarNode, pos: at, tag: tagStr, text: text}
	}
	relocate(n, at)
	return n
}

// relocate sets the position of every node of n to at.
func relocate(n *node, at Pos) {
	n.pos = at
	for _, k := range n.keys {
		k.pos = at
	}
	for _, it := range n.items {
		relocate(it, at)
	}
}
