package yamldepth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestCheck(t *testing.T) {
	nest := func(open, close string, n int) string { return strings.Repeat(open, n) + strings.Repeat(close, n) }
	tests := []struct {
		name     string
		yaml     string
		limit    int
		line     int // 0: accepted
		col      int
		tooDeep  bool
		validYAM bool
	}{
		{name: "empty", yaml: "", limit: 4},
		{name: "scalars", yaml: "a: 1\nb: two\n", limit: 1},
		{name: "flow at the limit", yaml: "a: " + nest("[", "]", 3) + "\n", limit: 4},
		{name: "flow beyond the limit", yaml: "a: " + nest("[", "]", 4) + "\n", limit: 4, line: 1, col: 7},
		{name: "bare flow beyond", yaml: nest("[", "]", 5), limit: 4, line: 1, col: 5},
		{name: "maps in flow", yaml: "x: {a: {b: {c: 1}}}\n", limit: 3, line: 1, col: 12},
		{name: "multi-line flow", yaml: "a: [\n  [\n    [1]]]\n", limit: 3, line: 3, col: 5},
		{name: "block at the limit", yaml: "a:\n  b:\n    c: 1\n", limit: 3},
		{name: "block beyond", yaml: "a:\n  b:\n    c:\n      d: 1\n", limit: 3, line: 4, col: 7},
		{name: "dedent frees levels", yaml: "a:\n  b:\n    c: 1\nd:\n  e:\n    f: 1\n", limit: 3},
		{name: "compact sequences", yaml: "- - - - x\n", limit: 3, line: 1, col: 7},
		{name: "compact at the limit", yaml: "- - - x\n", limit: 3},
		{name: "brackets in quotes", yaml: `a: "[[[[[["` + "\nb: '{{{{{{'\n", limit: 2},
		{name: "escaped quote", yaml: `a: "\"[[[[[["` + "\n", limit: 2},
		{name: "doubled single quote", yaml: "a: 'it''s [[[[[['\n", limit: 2},
		{name: "brackets in comments", yaml: "a: 1 # [[[[[[\n# {{{{{{\n", limit: 2},
		{name: "brackets in a plain scalar", yaml: "a: x[[[[[[y\n", limit: 2},
		{name: "brackets in a block scalar", yaml: "a: |\n  [[[[[[\n  {{{{{{\nb: 1\n", limit: 2},
		{name: "folded block scalar", yaml: "a: >-\n  [[[[[[\nb: [[[1]]]\n", limit: 3, line: 3, col: 6},
		{name: "multi-line quote", yaml: "a: \"x\n  [[[[[[\"\nb: 1\n", limit: 2},
		{name: "line and column after a multi-line quote", yaml: "a: \"x\n y\"\nb: [[[1]]]\n", limit: 3, line: 3, col: 6},
		{name: "zero limit is the default", yaml: nest("[", "]", DefaultLimit), limit: 0},
		{name: "default limit", yaml: nest("[", "]", DefaultLimit+1), limit: 0, line: 1, col: DefaultLimit + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.yaml), tt.limit)
			if tt.line == 0 {
				if err != nil {
					t.Fatalf("Check: %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check: %v, want *Error", err)
			}
			if !errors.Is(err, ErrTooDeep) {
				t.Errorf("%v is not ErrTooDeep", err)
			}
			if e.Line != tt.line || e.Column != tt.col {
				t.Errorf("at %d:%d, want %d:%d (%v)", e.Line, e.Column, tt.line, tt.col, err)
			}
		})
	}
}

// TestCheckIsFastOnHostileInput is the reason for the package: 80 KB of
// "[" took a YAML decoder 10 s and 2.5 GB; Check refuses it at once.
func TestCheckIsFastOnHostileInput(t *testing.T) {
	for _, open := range []string{"[", "{", "- "} {
		data := []byte(strings.Repeat(open, 80<<10/len(open)))
		allocs := testing.AllocsPerRun(5, func() {
			if err := Check(data, DefaultLimit); !errors.Is(err, ErrTooDeep) {
				t.Fatalf("%q×n: %v, want ErrTooDeep", open, err)
			}
		})
		if allocs > 10 {
			t.Errorf("%q×n: %.0f allocations, want few", open, allocs)
		}
	}
}

// TestCheckAcceptsWhatDecodes: documents within the limit that the YAML
// decoder reads are accepted.
func TestCheckAcceptsWhatDecodes(t *testing.T) {
	for _, doc := range []string{
		"seed: 7\ntarget:\n  embedded:\n    preset: unprotected\nrequests:\n  - name: items\n    path: \"/api/items/{rand:1-100000}\"\n    weight: 9\n",
		"variants:\n  - name: unbounded\n    set:\n      target.embedded.overrides.list: {max_page_size: 1000000, scan_budget: 1000000}\n",
		"assert:\n  - phase(baseline).goodput_ratio >= 0.85\n  - variant(bounded).phase(load).p99 < 300ms\n",
		"a: [1, [2, [3, {b: [4]}]]]\n",
	} {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("test document does not decode: %v\n%s", err, doc)
		}
		if err := Check([]byte(doc), 8); err != nil {
			t.Errorf("Check: %v\n%s", err, doc)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, seed := range []string{"", "a: [1, {b: 2}]\n", "- - - x\n", "a: |\n  [[\n", "a: \"[\\\"\n", strings.Repeat("[", 100)} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		err := Check(data, 8)
		if err == nil && Check(data, 9) != nil {
			t.Fatalf("accepted at limit 8, refused at 9")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Check took %v on %d bytes", d, len(data))
		}
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Check: %v, want *Error", err)
		}
		// The position is inside data, at what opened the level.
		lines := strings.Split(string(data), "\n")
		if e.Line < 1 || e.Line > len(lines) || e.Column < 1 || e.Column > len(lines[e.Line-1]) {
			t.Fatalf("position %d:%d outside the document", e.Line, e.Column)
		}
		if e.Limit != 8 {
			t.Fatalf("limit %d, want 8", e.Limit)
		}
		// Monotonic: what a limit refuses, a lower limit refuses too.
		if Check(data, 7) == nil {
			t.Fatalf("refused at limit 8, accepted at 7")
		}
	})
}
