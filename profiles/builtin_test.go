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
					asserts, length := len(r.Scenario.Assert), r.Scenario.Duration()
					if sv := r.Scenario.Survey; sv != nil {
						// A survey's short form plays one cell.
						asserts, length = len(sv.Assert), sv.Warmup+sv.Durations.Max+sv.Judge
						if short && sv.Durations.Min != sv.Durations.Max {
							t.Errorf("%s: short form surveys %v, want one duration", r.Name, sv.Durations)
						}
					}
					if asserts == 0 {
						t.Errorf("%s: no assertions: a built-in profile encodes its lesson as assertions", r.Name)
					}
					if short && length > 20e9 {
						t.Errorf("%s: short form lasts %v, want ≤ 20s", r.Name, length)
					}
				}
			}
		})
	}
}
