package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"

	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/target"
)

func TestProfilesListsBuiltins(t *testing.T) {
	out, stderr, code := runCLI(t, "profiles")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"surge-recovery", "retry-storm", "slow-dependency"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, name+" ") && len(strings.TrimSpace(strings.TrimPrefix(line, name))) > 10 {
				found = true
			}
		}
		if !found {
			t.Errorf("no line with %s and its description:\n%s", name, out)
		}
	}
	show, _, code := runCLI(t, "profiles", "retry-storm")
	if code != 0 || !strings.Contains(show, "kind: capacity") {
		t.Errorf("profiles retry-storm: exit %d\n%s", code, show)
	}
	if _, stderr, code := runCLI(t, "profiles", "retry-strom"); code != 2 || !strings.Contains(stderr, "retry-strom") {
		t.Errorf("unknown profile: exit %d, %s", code, stderr)
	}
}

func TestRunDryRun(t *testing.T) {
	out, stderr, code := runCLI(t, "run", "--dry-run", "--variant", "protected", "--set", "phases.surge.rate=300")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"# variant protected", "rate: 300", "# timeline", "apply  surge (surge on load)"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "# variant unprotected") {
		t.Errorf("--variant protected also printed unprotected")
	}
}

func TestRunRefusesBadProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("target: {url: http://127.0.0.1:1}\nrequests: [{name: a, path: /}]\nphases:\n  - {name: p, duraton: 5s, rate: 10}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "run", path)
	want := path + `:4:15: phases[0].duraton: unknown field; did you mean "duration"?`
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, want)
	}
	if err := os.WriteFile(path, []byte("target: {url: http://127.0.0.1:1}\nrequests: [{name: a, path: /}]\nphases: [{name: p, duration: 5s, rate: 10}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, "run", path, "--set", "client.timout=1s")
	if code != 2 || !strings.Contains(stderr, "--set client.timout=1s: client.timout: unknown field") {
		t.Errorf("bad --set: exit %d, %s", code, stderr)
	}
}

func TestRunUnreachableExits3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	path := filepath.Join(t.TempDir(), "gone.yaml")
	if err := os.WriteFile(path, []byte("target: {url: \"http://"+addr+"\"}\nrequests: [{name: a, path: /}]\nphases: [{name: p, duration: 5s, rate: 10}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "run", path, "--quiet", "--out", t.TempDir())
	if code != 3 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "target unreachable") {
		t.Errorf("exit %d, stderr %q; want exit 3 and one line", code, stderr)
	}
}

// TestRunInterruptedExits3 interrupts the loadgen binary with SIGINT while
// "loadgen run" has a fault in place on a reference target: exit 3, the
// partial report written, the dependency restored.
func TestRunInterruptedExits3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real process")
	}
	cfg, err := target.Preset(target.PresetUnprotected)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := target.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	apiURL, adminURL, _ := e2e.Serve(t, srv)
	dir := t.TempDir()
	path := filepath.Join(dir, "slow.yaml")
	profile := "target: {url: \"" + apiURL + "\", admin: \"" + adminURL + "\"}\n" +
		"requests: [{name: items, path: /api/items/1}]\n" +
		"phases: [{name: steady, duration: 30s, rate: 20}]\n" +
		"faults: [{name: slow-db, kind: delay, target: db, at: 100ms, for: 20s, delay: 30ms}]\n" +
		"report: {formats: [text, json]}\n"
	if err := os.WriteFile(path, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	// The real binary, interrupted by SIGINT as Ctrl-C does, once the
	// fault is in place.
	loadgen, _ := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, loadgen, "run", path, "--quiet", "--out", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	client := &targetadmin.Client{BaseURL: adminURL}
	for ctx.Err() == nil {
		if c, err := client.Dep(ctx, "db"); err == nil && c.AddLatency > 0 {
			break
		}
		wait, stop := context.WithTimeout(ctx, 20*time.Millisecond)
		<-wait.Done()
		stop()
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("loadgen run: %v, stderr %q; want exit 3 and interrupted", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Errorf("partial report not written: %v", err)
	}
	if c, err := client.Dep(context.Background(), "db"); err != nil || c.AddLatency != 0 {
		t.Errorf("db after the run: %+v, %v; want add_latency restored to 0", c, err)
	}
}
