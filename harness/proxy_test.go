package harness

import (
	"bytes"
	"context"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
)

// TestProxyFault puts the fault proxy in front of the embedded target for
// a fault whose target is "proxy": its aborts reach the clients during the
// fault's window only.
func TestProxyFault(t *testing.T) {
	runs := resolve(t, `
seed: 3
target: {embedded: {preset: unprotected}}
requests: [{name: items, path: "/api/items/{rand:1-100}"}]
phases:
  - {name: before, duration: 1s, rate: 100}
  - {name: during, duration: 1s, rate: 100}
  - {name: after, duration: 1s, rate: 100}
faults:
  - {name: errors, kind: abort, target: proxy, at: 1s, for: 1s, status: 500, route: /api/items}
assert:
  - phase(before).ok_ratio >= 0.99
  - phase(during).error_ratio >= 0.9
  - phase(after).ok_ratio >= 0.99
`, profiles.Options{})
	var stdout bytes.Buffer
	out, err := Play(context.Background(), runs, Options{OutDir: t.TempDir(), Stdout: &stdout})
	if err != nil {
		t.Fatalf("Play: %v\n%s", err, stdout.String())
	}
	if out.Failed > 0 {
		t.Errorf("%d assertion(s) failed:\n%s", out.Failed, stdout.String())
	}
	if got := out.Variants[0].Summary.StatusCodes["500"]; got < 80 || got > 120 {
		t.Errorf("500 answers = %d, want about 100 (1 s at 100/s)", got)
	}
}
