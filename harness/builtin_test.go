package harness

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
)

// TestBuiltinLessons plays the short form of the built-in profiles whose
// lessons the test suite guards, the profiles at once (not limited by
// -parallel, which is 2 here) and each one's variants in turn (each against
// a fresh in-process target), and checks that every assertion of the
// profile holds: the profile's assertions are its lesson.
//
// It does not run under the race detector, which multiplies the CPU the
// five plays need: on 2 cores they then saturate both, and the
// generators' lag (p99s of 20–174 ms at a few hundred requests a second)
// broke a latency or goodput assertion in one run of three, where
// without it 4 runs of 4 passed. `make test` plays it without -race; the
// code it plays is race-tested by the packages' own tests.
func TestBuiltinLessons(t *testing.T) {
	if testing.Short() {
		t.Skip("plays real scenarios for several seconds")
	}
	if raceDetector {
		t.Skip("the lessons' timings need the cores the race detector takes; make test plays them without -race")
	}
	names := []string{"surge-recovery", "retry-storm", "slow-dependency", "cold-start-modes", "concurrency-isolation"}
	type result struct {
		out    *Played
		stdout bytes.Buffer
		err    error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			r := &results[i]
			doc, err := profiles.Open(name)
			if err != nil {
				r.err = err
				return
			}
			runs, err := doc.Resolve(profiles.Options{Short: true})
			if err != nil {
				r.err = err
				return
			}
			r.out, r.err = Play(context.Background(), runs, Options{Name: name, OutDir: t.TempDir(), Stdout: &r.stdout})
		})
	}
	wg.Wait()
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			r := &results[i]
			if r.err != nil {
				t.Fatalf("Play: %v\n%s", r.err, r.stdout.String())
			}
			if r.out.Failed > 0 {
				t.Errorf("%d assertion(s) failed:\n%s", r.out.Failed, r.stdout.String())
			}
			if len(r.out.Variants) < 2 || r.out.Comparison == nil {
				t.Errorf("%d variants played, comparison %v; want every variant and a comparison", len(r.out.Variants), r.out.Comparison != nil)
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

// TestSurgeSurveyLesson plays the short form of the built-in surge survey:
// one 5 s surge of 3× a preset, each on a fresh target. Unprotected, it
// leaves the target metastable; protected, the target recovers. It runs
// alone, not beside the other lessons: each cell must first hold its
// baseline.
func TestSurgeSurveyLesson(t *testing.T) {
	if testing.Short() {
		t.Skip("plays two cells of real load, about 30 s")
	}
	doc, err := profiles.Open("surge-survey")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := doc.Resolve(profiles.Options{Short: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var stdout bytes.Buffer
	out, err := Play(context.Background(), runs, Options{Name: "surge-survey", OutDir: dir, Stdout: &stdout})
	if err != nil {
		t.Fatalf("Play: %v\n%s", err, stdout.String())
	}
	if out.Failed > 0 {
		t.Errorf("%d assertion(s) failed:\n%s", out.Failed, stdout.String())
	}
	if len(out.Surveys) != 2 || len(out.Variants) != 0 {
		t.Fatalf("%d surveys, %d variant runs; want the two presets surveyed", len(out.Surveys), len(out.Variants))
	}
	for _, s := range out.Surveys {
		if n := len(s.Report.Result.Cells); n != 1 {
			t.Errorf("%s: %d cells, want the one duration of the short form", s.Name, n)
		}
		if len(s.Report.Assertions) != 1 {
			t.Errorf("%s: %d assertions, want its own one", s.Name, len(s.Report.Assertions))
		}
	}
	for _, f := range []string{"survey-unprotected.json", "survey-protected.html"} {
		if !slices.Contains(out.Files, filepath.Join(dir, f)) {
			t.Errorf("%s not written: %v", f, out.Files)
		}
	}
	if !strings.Contains(stdout.String(), "survives") {
		t.Errorf("no survey table on stdout:\n%s", stdout.String())
	}
}
