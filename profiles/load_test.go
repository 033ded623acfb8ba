package profiles

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/workload/retry"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with the golden file path, or rewrites it with
// -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// loadErr parses and resolves a profile file and returns the error text.
func loadErr(t *testing.T, file string, opts Options) string {
	t.Helper()
	d, err := Open(file)
	if err == nil {
		_, err = d.Resolve(opts)
	}
	if err == nil {
		t.Fatalf("%s loaded without error", file)
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("%s: error is %T, want Errors: %v", file, err, err)
	}
	return err.Error() + "\n"
}

// TestErrorGolden loads one malformed fixture per class of error and
// compares the exact messages (file:line:col, path, found, valid).
func TestErrorGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", loadErr(t, f, Options{}))
		})
	}
}

// TestOverrideErrorGolden checks errors of command-line overrides: they
// name the --set or --variant they came from.
func TestOverrideErrorGolden(t *testing.T) {
	cases := []struct {
		name string
		opts Options
	}{
		{"set-unknown-field", Options{Set: []string{"client.timout=2s"}}},
		{"set-bad-value", Options{Set: []string{"phases.baseline.rate=lots", "client.max_attempts=2.5"}}},
		{"set-unknown-item", Options{Set: []string{"phases.surge.rate=300"}}},
		{"set-index-range", Options{Set: []string{"phases[5].rate=300"}}},
		{"set-no-equals", Options{Set: []string{"client.timeout"}}},
		{"variant-unknown", Options{Variants: []string{"protected"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			golden(t, "testdata/errors/"+c.name+".golden", loadErr(t, "testdata/valid.yaml", c.opts))
		})
	}
}

func resolveOne(t *testing.T, file string, opts Options) *Scenario {
	t.Helper()
	d, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := d.Resolve(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(runs))
	}
	return runs[0].Scenario
}

func TestDefaults(t *testing.T) {
	s := resolveOne(t, "testdata/valid.yaml", Options{})
	if s.Client.Timeout != time.Second || s.Client.MaxAttempts != 1 || s.Client.Backoff.BackoffKind != retry.BackoffExponential || *s.Client.RetryAfter != true {
		t.Errorf("client defaults: %+v", s.Client)
	}
	if s.Client.Connections != 1000 {
		t.Errorf("client.connections = %d, want 1000 (loadgen attack's default)", s.Client.Connections)
	}
	if s.SLO.Latency != time.Second {
		t.Errorf("slo.latency = %v, want the client timeout 1s", s.SLO.Latency)
	}
	if s.Requests[0].Method != "GET" || s.Requests[0].Weight != 1 {
		t.Errorf("request defaults: %+v", s.Requests[0])
	}
	if s.Duration() != 5*time.Second {
		t.Errorf("Duration = %v, want 5s", s.Duration())
	}
}

func TestSetOverrides(t *testing.T) {
	s := resolveOne(t, "testdata/valid.yaml", Options{Set: []string{
		"phases.baseline.rate=600/min",   // by name, with a unit
		"phases[0].duration=7s",          // by index
		"client.retry_on=[503, timeout]", // a YAML list
		"client.deadline=3s",
		"phases.1={name: more, duration: 1s, rate: 5}", // append to the list
		"requests.0.headers.X-Test=yes",
	}})
	if s.Phases[0].Rate != 10 || s.Phases[0].Duration != 7*time.Second {
		t.Errorf("phase 0 = %+v, want rate 10, duration 7s", s.Phases[0])
	}
	if len(s.Client.RetryOn) != 2 || s.Client.RetryOn[1].String() != "timeout" {
		t.Errorf("retry_on = %v", s.Client.RetryOn)
	}
	if s.SLO.Latency != 3*time.Second {
		t.Errorf("slo.latency = %v, want the deadline 3s", s.SLO.Latency)
	}
	if len(s.Phases) != 2 || s.Phases[1].Name != "more" {
		t.Errorf("phases = %+v", s.Phases)
	}
	if s.Requests[0].Headers["X-Test"] != "yes" {
		t.Errorf("headers = %v", s.Requests[0].Headers)
	}
}

func TestVariantsAndShort(t *testing.T) {
	d, err := Open("testdata/variants.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Variants(), ","); got != "slow,fast" {
		t.Fatalf("Variants = %s", got)
	}
	runs, err := d.Resolve(Options{Short: true, Set: []string{"client.timeout=3s"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Name != "slow" || runs[1].Name != "fast" {
		t.Fatalf("runs = %+v", runs)
	}
	if runs[0].Scenario.Client.MaxAttempts != 1 || runs[1].Scenario.Client.MaxAttempts != 3 {
		t.Errorf("max_attempts = %d, %d; want 1, 3", runs[0].Scenario.Client.MaxAttempts, runs[1].Scenario.Client.MaxAttempts)
	}
	for _, r := range runs {
		if r.Scenario.Phases[0].Duration != time.Second {
			t.Errorf("%s: short form not applied: %v", r.Name, r.Scenario.Phases[0].Duration)
		}
		if r.Scenario.Client.Timeout != 3*time.Second {
			t.Errorf("%s: --set not applied last: %v", r.Name, r.Scenario.Client.Timeout)
		}
		if r.Scenario.Variants != nil || r.Scenario.Short.Len() != 0 {
			t.Errorf("%s: resolved scenario keeps variants/short", r.Name)
		}
	}
	only, err := d.Resolve(Options{Variants: []string{"fast"}})
	if err != nil || len(only) != 1 || only[0].Name != "fast" || only[0].Scenario.Phases[0].Duration != 10*time.Second {
		t.Errorf("Resolve(fast) = %+v, %v", only, err)
	}
	// The document itself is unchanged by resolving.
	again, err := d.Resolve(Options{})
	if err != nil || again[1].Scenario.Client.Timeout != time.Second {
		t.Errorf("document changed by an earlier Resolve: %+v, %v", again, err)
	}
}

func TestPolicies(t *testing.T) {
	s := resolveOne(t, "testdata/variants.yaml", Options{Variants: []string{"slow"}})
	c, ok := s.Policy("retrying")
	if !ok {
		t.Fatal("no policy retrying")
	}
	if c.MaxAttempts != 4 || c.RetryBudget.Kind != retry.BudgetNone || c.Timeout != time.Second {
		t.Errorf("Policy(retrying) = %+v, want the client with max_attempts 4", c)
	}
	if s.Faults[0].Target != "load" {
		t.Errorf("target = %q, want the default load", s.Faults[0].Target)
	}
	tl, err := s.Timeline()
	if err != nil || len(tl.Entries) != 1 || tl.Entries[0].At != 5*time.Second {
		t.Errorf("Timeline = %+v, %v", tl, err)
	}
}

// TestYAMLRoundTrip checks that a resolved scenario written as YAML loads
// back to the same scenario.
func TestYAMLRoundTrip(t *testing.T) {
	for _, file := range []string{"testdata/valid.yaml", "testdata/variants.yaml"} {
		d, err := Open(file)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := d.Resolve(Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			out := r.Scenario.YAML()
			d2, err := Parse("roundtrip.yaml", "", out)
			if err != nil {
				t.Fatalf("%s/%s: reload: %v\n%s", file, r.Name, err, out)
			}
			runs2, err := d2.Resolve(Options{})
			if err != nil {
				t.Fatalf("%s/%s: resolve reloaded: %v\n%s", file, r.Name, err, out)
			}
			if again := runs2[0].Scenario.YAML(); string(again) != string(out) {
				t.Errorf("%s/%s: round trip differs:\n%s\n---\n%s", file, r.Name, out, again)
			}
		}
	}
}

func TestOpenUnknown(t *testing.T) {
	_, err := Open("surge-recovry")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `did you mean "surge-recovery"`) {
		t.Errorf("Open(surge-recovry) = %v", err)
	}
}

// TestUnknownMetric checks that an assertion's metric is checked against
// the report package's list (which grows), with a did-you-mean.
func TestUnknownMetric(t *testing.T) {
	got := loadErr(t, "testdata/valid.yaml", Options{Set: []string{"assert=[goodput_ration >= 0.9]"}})
	for _, want := range []string{"--set assert=[goodput_ration >= 0.9]: assert[0]: ", `unknown metric "goodput_ration"`, "goodput_ratio"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
}

// TestSetNullRemoves points a built-in profile at a running service: null
// removes the embedded target, so the URL can replace it.
func TestSetNullRemoves(t *testing.T) {
	d, err := Open("surge-recovery")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := d.Resolve(Options{Variants: []string{"protected"}, Set: []string{"target.embedded=null", "target.url=http://127.0.0.1:8080", "faults.surge.multiplier=2"}})
	if err != nil {
		t.Fatal(err)
	}
	s := runs[0].Scenario
	if s.Target.Embedded != nil || s.Target.URL != "http://127.0.0.1:8080" || s.Faults[0].Multiplier != 2 {
		t.Errorf("target = %+v, multiplier %v", s.Target, s.Faults[0].Multiplier)
	}
}

func TestClientTLSFilesAreRelativeToTheProfile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tls.yaml")
	body := "target:\n  url: https://127.0.0.1:8443\nrequests:\n  - {name: a, path: /a}\nphases:\n  - {name: steady, duration: 1s, rate: 10/s}\n" +
		"client:\n  tls: {ca_file: pki/ca.pem, cert_file: /abs/client.pem, key_file: pki/client-key.pem, server_name: svc.test}\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := resolveOne(t, file, Options{})
	want := ClientTLS{CAFile: filepath.Join(dir, "pki/ca.pem"), CertFile: "/abs/client.pem", KeyFile: filepath.Join(dir, "pki/client-key.pem"), ServerName: "svc.test"}
	if s.Client.TLS != want {
		t.Fatalf("client.tls = %+v, want %+v", s.Client.TLS, want)
	}
}

// An 80 KB profile of nested brackets took 10 s and 2.5 GB before the YAML
// parser refused it: the depth check refuses it first, quickly, naming the
// file, line and column where the nesting went too deep.
func TestDeeplyNestedProfileIsRefusedFast(t *testing.T) {
	const depth = 40_000 // "[" and "]": 80 KB
	data := []byte("description: deep\nrequests: " + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n")
	path := filepath.Join(t.TempDir(), "deep.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Open(path)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a profile nested 40000 levels deep was accepted")
	}
	// The top mapping is level 1, so the 64th bracket (line 2, column
	// 11 + 63) opens level 65, one too deep.
	if want := path + ":2:74: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
	if !strings.Contains(err.Error(), "nested more than 64 levels deep") {
		t.Errorf("error %q does not say the profile is nested too deeply", err)
	}
	if took > 2*time.Second { // ~10 s before the check, milliseconds after
		t.Errorf("refusing it took %v, want well under 2s", took)
	}
}
