package harness

import (
	"bytes"
	"context"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
)

// TestBuiltinLessons plays the short form of the built-in profiles whose
// lessons the test suite guards, every variant at once (each against its
// own in-process target), and checks that every assertion of the profile
// holds: the profile's assertions are its lesson.
func TestBuiltinLessons(t *testing.T) {
	if testing.Short() {
		t.Skip("plays real scenarios for several seconds")
	}
	for _, name := range []string{"surge-recovery", "retry-storm", "slow-dependency"} {
		doc, err := profiles.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, variant := range doc.Variants() {
			t.Run(name+"/"+variant, func(t *testing.T) {
				t.Parallel()
				runs, err := doc.Resolve(profiles.Options{Short: true, Variants: []string{variant}})
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
}
