package profiles

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must return a scenario
// or an error, never panic, and an accepted scenario must survive a YAML
// round trip.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.yaml")
	builtin, _ := filepath.Glob("builtin/*.yaml")
	for _, file := range append(append(files, more...), builtin...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "client.max_attempts=3")
	}
	f.Add([]byte("a: &a [*a]"), "x=1")
	f.Add([]byte("a: &a {b: *a}"), "phases[0]=")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		d, err := Parse("fuzz.yaml", "", data)
		if err != nil {
			return
		}
		runs, err := d.Resolve(Options{Short: true, Set: []string{set}})
		if err != nil {
			return
		}
		for _, r := range runs {
			out := r.Scenario.YAML()
			_ = r.Scenario.JSON()
			d2, err := Parse("roundtrip.yaml", "", out)
			if err != nil {
				t.Fatalf("accepted scenario does not reload: %v\n%s", err, out)
			}
			if _, err := d2.Resolve(Options{}); err != nil {
				t.Fatalf("accepted scenario does not resolve again: %v\n%s", err, out)
			}
		}
	})
}
