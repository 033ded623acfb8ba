package harness

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/workload"
)

func TestUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	runs := resolve(t, `
target: {url: "http://`+addr+`"}
requests: [{name: items, path: /}]
phases: [{name: p, duration: 1s, rate: 10}]
`, profiles.Options{})
	_, err = Play(context.Background(), runs, Options{OutDir: t.TempDir()})
	if !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Play = %v, want one line wrapping ErrUnreachable", err)
	}
}

func TestBadOverridesRefusedBeforeRunning(t *testing.T) {
	runs := resolve(t, `
target: {embedded: {preset: protected, overrides: {db: {pol: 3}}}}
requests: [{name: items, path: /api/items/1}]
phases: [{name: p, duration: 1s, rate: 10}]
`, profiles.Options{})
	dir := t.TempDir()
	_, err := Play(context.Background(), runs, Options{OutDir: dir})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `test.yaml:2:57: target.embedded.overrides.db.pol: unknown field; did you mean "pool"?`) {
		t.Errorf("Play = %v, want a ConfigError naming the field", err)
	}
}

func TestDryRun(t *testing.T) {
	doc, err := profiles.Open("surge-recovery")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := doc.Resolve(profiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := DryRun(&b, runs, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"# variant unprotected", "# variant protected", "preset: protected", "#         8s  apply  surge (surge on load)", "#        18s  remove surge (surge on load)", "#        32s  end"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
}

// TestDryRunOfAShard: a shard's dry run shows its share of each phase's
// rate and leaves the admin API's faults to the fault shard.
func TestDryRunOfAShard(t *testing.T) {
	doc, err := profiles.Open("slow-dependency")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := doc.Resolve(profiles.Options{Variants: []string{"shared"},
		Set: []string{"target.embedded=null", "target.url=http://127.0.0.1:9", "target.admin=http://127.0.0.1:8"}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := DryRun(&b, runs, Options{Shard: workload.Shard{Index: 1, Count: 2}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"# shard 1 of 2: offers 1/2 of every phase's rate; shard 0 applies",
		"phase baseline       125/s", "apply  slow-search (latency on search), applied by shard 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := DryRun(&b, runs, Options{Shard: workload.Shard{Index: 0, Count: 2}}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "applied by shard") || !strings.Contains(out, "apply  slow-search (latency on search)") {
		t.Errorf("the fault shard's dry run should apply the fault itself:\n%s", out)
	}
}
