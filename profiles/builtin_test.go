package profiles

import (
	"strings"
	"testing"
)

// TestBuiltinsLoad resolves every built-in profile, each variant, in its
// full and its short form.
func TestBuiltinsLoad(t *testing.T) {
	list, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Fatal("no built-in profiles")
	}
	for _, b := range list {
		t.Run(b.Name, func(t *testing.T) {
			if b.Description == "" || strings.Contains(b.Description, "\n") {
				t.Errorf("description %q: want one line", b.Description)
			}
			d, err := Open(b.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, short := range []bool{false, true} {
				runs, err := d.Resolve(Options{Short: short})
				if err != nil {
					t.Fatalf("short=%v: %v", short, err)
				}
				for _, r := range runs {
					if len(r.Scenario.Assert) == 0 {
						t.Errorf("%s: no assertions: a built-in profile encodes its lesson as assertions", r.Name)
					}
					if short && r.Scenario.Duration() > 20e9 {
						t.Errorf("%s: short form lasts %v, want ≤ 20s", r.Name, r.Scenario.Duration())
					}
				}
			}
		})
	}
}
