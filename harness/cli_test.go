package harness

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
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
	if err := DryRun(&b, runs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"# variant unprotected", "# variant protected", "preset: protected", "#         8s  apply  surge (surge on load)", "#        18s  remove surge (surge on load)", "#        32s  end"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
}
