package profiles

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is where a value came from: a file position, or a command-line
// override (File holds "--set path=value" and Line is 0).
type Pos struct {
	File string
	Line int // 1-based; 0 when the value did not come from a file
	Col  int // 1-based
}

// String formats p as file:line:column, or the override text alone.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// FieldError is one refused value: where it is, the field's path in the
// scenario (e.g. "phases[1].duration"), and what is wrong and what would
// be valid.
type FieldError struct {
	Pos  Pos
	Path string // empty for errors about the document itself (syntax)
	Msg  string
}

// Error formats e as "file:line:col: path: message".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Path + ": " + e.Msg
}

// Errors is every problem found in a scenario, in file order. A profile is
// refused as a whole, so the user sees all its mistakes at once.
type Errors []*FieldError

// maxErrors bounds how many problems one load reports.
const maxErrors = 20

// Error lists the problems one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted returns es ordered by file, line, column, path, and capped at
// maxErrors (with a last line saying how many were left out).
func (es Errors) sorted() Errors {
	out := append(Errors(nil), es...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return out[i].Path < out[j].Path
	})
	if len(out) > maxErrors {
		more := len(out) - maxErrors
		last := out[maxErrors-1].Pos
		out = append(out[:maxErrors], &FieldError{Pos: last, Msg: fmt.Sprintf("… and %d more problems", more)})
	}
	return out
}

// suggest returns the candidate closest to s by edit distance when it is
// close enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	limit := max(1, min(3, len([]rune(s))/3))
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (counted in
// runes).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// didYouMean formats a hint for s among valid: `did you mean "x"? (valid:
// a, b, c)`, or just the valid list.
func didYouMean(s string, valid []string) string {
	list := "valid: " + strings.Join(valid, ", ")
	if g := suggest(s, valid); g != "" {
		return fmt.Sprintf("did you mean %q? (%s)", g, list)
	}
	return list
}
