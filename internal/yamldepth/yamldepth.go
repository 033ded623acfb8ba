// Package yamldepth refuses deeply nested YAML before it is decoded. A
// YAML decoder given 80 KB of "[[[[…" spends seconds and gigabytes before
// it fails; Check finds the nesting in one linear pass over the bytes,
// without allocating per byte, so a loader can call it first.
//
// Check estimates the nesting depth; it does not validate YAML. It counts
// flow collections ("[", "{" and their closers, outside quoted scalars and
// comments) and block collections (one level for each deeper indentation
// of a line, and one for each compact "- " or "? " entry that opens a
// line, as in "- - - x"). Block scalars ("|", ">") and quoted scalars are
// skipped. The estimate is close for the YAML people write and never
// far below the real depth, so a limit such as DefaultLimit refuses deep
// documents and accepts every sensible one. Anchors and aliases (which
// expand a document without nesting it) are out of its scope.
package yamldepth

import (
	"errors"
	"fmt"
)

// DefaultLimit is a nesting depth no configuration or scenario file
// needs: 64 levels.
const DefaultLimit = 64

// ErrTooDeep is the error every *Error wraps.
var ErrTooDeep = errors.New("yaml: nested too deeply")

// Error is a document nested deeper than the limit: Line and Column (both
// from 1; the column counts bytes) are where the first level beyond the
// limit opens.
type Error struct {
	Line, Column int
	Limit        int
}

// Error says where the nesting went beyond the limit.
func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: nested more than %d levels deep (flow [ { and block collections); refused before decoding",
		e.Line, e.Column, e.Limit)
}

// Unwrap returns ErrTooDeep.
func (e *Error) Unwrap() error { return ErrTooDeep }

// Check returns a *Error when data nests more than limit levels deep, and
// nil otherwise. A limit below 1 is read as DefaultLimit. It takes time
// linear in len(data) and memory linear in the depth reached (at most
// limit). Safe for concurrent use.
func Check(data []byte, limit int) error {
	if limit < 1 {
		limit = DefaultLimit
	}
	s := scanner{data: data, limit: limit, line: 1, blockScalar: -1}
	return s.run()
}

// scanner is Check's state. Not safe for concurrent use.
type scanner struct {
	data  []byte
	limit int
	i     int // the next byte
	line  int // of data[i], from 1
	bol   int // index of the first byte of the line

	flow   int   // open flow collections
	indent []int // indentations (columns from 0) of open block collections
	// blockScalar is the indentation of the line that opened a block
	// scalar ("|" or ">") whose content lines are being skipped, or -1.
	blockScalar int
}

func (s *scanner) tooDeep(at int) error {
	return &Error{Line: s.line, Column: at - s.bol + 1, Limit: s.limit}
}

// push opens a block collection at column col (the byte at index at).
func (s *scanner) push(col, at int) error {
	if n := len(s.indent); n > 0 && s.indent[n-1] >= col {
		return nil
	}
	if len(s.indent)+s.flow >= s.limit {
		return s.tooDeep(at)
	}
	s.indent = append(s.indent, col)
	return nil
}

func (s *scanner) run() error {
	for s.i < len(s.data) {
		skipped, err := s.lineStart()
		if err != nil {
			return err
		}
		if skipped {
			continue
		}
		if err := s.rest(); err != nil {
			return err
		}
	}
	return nil
}

// lineStart handles the indentation and the compact entries of the line
// at s.i, in block context. It reports whether it skipped the whole line
// (the content of a block scalar).
func (s *scanner) lineStart() (skipped bool, err error) {
	s.bol = s.i
	col := 0
	for s.i < len(s.data) && s.data[s.i] == ' ' {
		s.i++
		col++
	}
	if s.i == len(s.data) {
		return false, nil
	}
	c := s.data[s.i]
	if c == '\n' || c == '\r' || c == '#' {
		return false, nil // blank or comment lines open nothing
	}
	if s.blockScalar >= 0 {
		if col > s.blockScalar {
			s.skipLine()
			return true, nil
		}
		s.blockScalar = -1
	}
	if s.flow > 0 {
		return false, nil // inside a multi-line flow collection, indentation means nothing
	}
	for len(s.indent) > 0 && s.indent[len(s.indent)-1] > col {
		s.indent = s.indent[:len(s.indent)-1]
	}
	// The line's node is a block collection when it is an entry ("- ",
	// "? ") or a mapping key; a flow collection or a scalar opens no
	// block level.
	if s.entry() || s.mappingKey() {
		if err := s.push(col, s.i); err != nil {
			return false, err
		}
	}
	// Compact entries: "- - x" or "? - x": each entry's node is a block
	// collection when it is itself an entry or a mapping key.
	for s.entry() {
		s.i++
		col++
		for s.i < len(s.data) && s.data[s.i] == ' ' {
			s.i++
			col++
		}
		if s.entry() || s.mappingKey() {
			if err := s.push(col, s.i); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// entry reports whether a block sequence entry ("- ") or complex key
// ("? ") starts at s.i.
func (s *scanner) entry() bool {
	return s.i+1 < len(s.data) && (s.data[s.i] == '-' || s.data[s.i] == '?') && isSpace(s.data[s.i+1]) ||
		s.i+1 == len(s.data) && (s.data[s.i] == '-' || s.data[s.i] == '?')
}

// mappingKey reports whether the rest of the line from s.i is a block
// mapping entry: it has a ":" followed by a space or the end of the line
// before any comment, and does not start with a flow collection. Quoted
// keys are not looked into (the colon after them counts).
func (s *scanner) mappingKey() bool {
	if s.i >= len(s.data) || s.data[s.i] == '[' || s.data[s.i] == '{' {
		return false
	}
	prev := byte(' ')
	for j := s.i; j < len(s.data) && !isBreak(s.data[j]); j++ {
		c := s.data[j]
		if c == '#' && isSpace(prev) {
			return false
		}
		if c == ':' && (j+1 == len(s.data) || isSpace(s.data[j+1])) {
			return true
		}
		prev = c
	}
	return false
}

// rest scans the line from s.i to its end (or, for a quoted scalar, to
// the scalar's end), counting flow collections.
func (s *scanner) rest() error {
	prev := byte(' ') // the byte before s.i on this line (' ' at its start)
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '\n':
			s.i++
			s.line++
			return nil
		case c == '#' && isSpace(prev):
			s.skipLine()
			return nil
		case c == '"' || c == '\'':
			if s.flow > 0 || isSpace(prev) || isIndicator(prev) {
				s.quoted(c)
				prev = c
				continue
			}
		case c == '[' || c == '{':
			if s.flow > 0 || isSpace(prev) || isIndicator(prev) {
				if len(s.indent)+s.flow >= s.limit {
					return s.tooDeep(s.i)
				}
				s.flow++
			}
		case c == ']' || c == '}':
			if s.flow > 0 {
				s.flow--
			}
		case (c == '|' || c == '>') && s.flow == 0 && isSpace(prev):
			if s.blockScalarHeader() {
				s.blockScalar = s.lineIndent()
				s.skipLine()
				return nil
			}
		}
		prev = c
		s.i++
	}
	return nil
}

// blockScalarHeader reports whether the "|" or ">" at s.i starts a block
// scalar: only indentation and chomping indicators, then a comment or the
// end of the line, follow it.
func (s *scanner) blockScalarHeader() bool {
	j := s.i + 1
	for j < len(s.data) && (s.data[j] == '+' || s.data[j] == '-' || (s.data[j] >= '1' && s.data[j] <= '9')) {
		j++
	}
	for j < len(s.data) && s.data[j] == ' ' {
		j++
	}
	return j == len(s.data) || isBreak(s.data[j]) || s.data[j] == '#'
}

// lineIndent returns the indentation of the line at s.bol.
func (s *scanner) lineIndent() int {
	n := 0
	for s.bol+n < len(s.data) && s.data[s.bol+n] == ' ' {
		n++
	}
	return n
}

// quoted skips the quoted scalar starting at s.i (quote q), across lines:
// a backslash escapes in double quotes, and two single quotes make one
// in single quotes.
func (s *scanner) quoted(q byte) {
	s.i++
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '\n':
			s.line++
			s.bol = s.i + 1
		case c == '\\' && q == '"':
			s.i++
			if s.i < len(s.data) && s.data[s.i] == '\n' {
				s.line++
				s.bol = s.i + 1
			}
		case c == q:
			if q == '\'' && s.i+1 < len(s.data) && s.data[s.i+1] == '\'' {
				s.i++
				break
			}
			s.i++
			return
		}
		s.i++
	}
}

// skipLine moves s.i past the end of the current line.
func (s *scanner) skipLine() {
	for s.i < len(s.data) && s.data[s.i] != '\n' {
		s.i++
	}
	if s.i < len(s.data) {
		s.i++
		s.line++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || isBreak(c) }

func isBreak(c byte) bool { return c == '\n' || c == '\r' }

// isIndicator reports whether c, just before a quote or bracket in block
// context, makes it the start of a node ("-[a]" and "a:[b]" are not YAML,
// but counting them errs on the side of depth). Inside a flow collection
// every bracket counts.
func isIndicator(c byte) bool {
	switch c {
	case ':', '-', '?':
		return true
	}
	return false
}
