package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
)

func resolve(t *testing.T, yaml string, opts profiles.Options) []profiles.Run {
	t.Helper()
	d, err := profiles.Parse("test.yaml", "", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := d.Resolve(opts)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

const smallScenario = `
seed: 7
target: {embedded: {preset: protected}}
requests:
  - {name: items, path: "/api/items/{rand:1-1000}"}
client: {timeout: 500ms}
phases:
  - {name: baseline, duration: 2s, rate: 100}
  - {name: slow, duration: 2s, rate: 100}
faults:
  - {name: slow-db, kind: delay, target: db, at: 2s, for: 1s, delay: 30ms}
assert:
  - goodput_ratio >= 0.5
  - phase(baseline).p99 < 2s
  - variant(nope).p99 < 1ms
  - max < 1us
report: {formats: [text, json, junit, html]}
`

func TestPlayEmbedded(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	out, err := Play(context.Background(), resolve(t, smallScenario, profiles.Options{}), Options{Name: "small", OutDir: dir, Stdout: &stdout})
	if err != nil {
		t.Fatalf("Play: %v\n%s", err, stdout.String())
	}
	// max < 1us cannot hold; the others hold with wide margins, and the
	// assertion scoped to another variant is not checked.
	if out.Failed != 1 || out.Interrupted || len(out.Variants[0].Verdicts) != 3 {
		t.Errorf("failed %d of %d, interrupted %v", out.Failed, len(out.Variants[0].Verdicts), out.Interrupted)
	}
	if !strings.Contains(stdout.String(), "FAIL  max = ") {
		t.Errorf("the failed assertion is not printed with its actual value:\n%s", stdout.String())
	}
	v := out.Variants[0]
	if v.Summary.Requests < 350 || v.Summary.Requests > 450 {
		t.Errorf("requests = %d, want about 400", v.Summary.Requests)
	}
	if len(v.Summary.Disturbances) != 1 || !v.Summary.Disturbances[0].Removed {
		t.Errorf("disturbances = %+v, want the slow-db fault applied and removed", v.Summary.Disturbances)
	}
	for _, name := range []string{"small.mpk", "report.json", "junit.xml", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	if !strings.Contains(stdout.String(), "goodput_ratio") {
		t.Errorf("verdicts not printed:\n%s", stdout.String())
	}
}

// The comparison of a scenario's variants compares its routes too.
func TestPlayComparesVariantsPerRoute(t *testing.T) {
	const scenario = `
seed: 7
target: {embedded: {preset: protected}}
requests:
  - {name: items, path: "/api/items/{rand:1-1000}"}
  - {name: health, path: "/healthz"}
phases:
  - {name: steady, duration: 1s, rate: 60}
variants:
  - {name: a}
  - {name: b, set: {target.embedded.preset: unprotected}}
report: {formats: [json]}
`
	var stdout bytes.Buffer
	out, err := Play(context.Background(), resolve(t, scenario, profiles.Options{}), Options{Name: "routes", OutDir: t.TempDir(), Stdout: &stdout})
	if err != nil {
		t.Fatalf("Play: %v\n%s", err, stdout.String())
	}
	if out.Comparison == nil {
		t.Fatal("no comparison of two variants")
	}
	var routes []string
	for _, r := range out.Comparison.Routes {
		routes = append(routes, r.Route)
	}
	if strings.Join(routes, ",") != "health,items" {
		t.Errorf("compared routes %q, want health and items\n%s", routes, stdout.String())
	}
}
