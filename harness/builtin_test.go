package harness

import (
	"bytes"
	"context"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
)

// TestBuiltinLessons plays the short form of the built-in profiles whose
// lessons the test suite guards, the profiles at once and each one's
// variants in turn (each against a fresh in-process target), and checks that every assertion of the profile
// holds: the profile's assertions are its lesson.
func TestBuiltinLessons(t *testing.T) {
	if testing.Short() {
		t.Skip("plays real scenarios for several seconds")
	}
	for _, name := range []string{"surge-recovery", "retry-storm", "slow-dependency"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc, err := profiles.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := doc.Resolve(profiles.Options{Short: true})
			if err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			out, err := Play(context.Background(), runs, Options{Name: name, OutDir: t.TempDir(), Stdout: &stdout})
			if err != nil {
				t.Fatalf("Play: %v\n%s", err, stdout.String())
			}
			if out.Failed > 0 {
				t.Errorf("%d assertion(s) failed:\n%s", out.Failed, stdout.String())
			}
		})
	}
}

// TestBuiltinsPrepare checks every variant of every built-in profile as
// Play does before it starts anything: the target's overrides against its
// schema, the client policies, the fault timeline.
func TestBuiltinsPrepare(t *testing.T) {
	list, err := profiles.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		doc, err := profiles.Open(b.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, short := range []bool{false, true} {
			runs, err := doc.Resolve(profiles.Options{Short: short})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if _, err := prepare(r.Name, r.Scenario, 1); err != nil {
					t.Errorf("%s/%s (short %v): %v", b.Name, r.Name, short, err)
				}
			}
		}
	}
}
