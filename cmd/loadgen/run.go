package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/profiles"
)

// defaultProfile is what "loadgen run" plays without an argument.
const defaultProfile = "surge-recovery"

const runExamples = `  # the demo: surge-recovery, unprotected vs protected, about a minute
  loadgen run

  # a built-in profile, one variant, shortened, reports into ./ci-out
  loadgen run retry-storm --variant no-budget --variant retry-budget --short --out ci-out

  # your own profile with overrides, printing what would run
  loadgen run my-scenario.yaml --set phases.surge.rate=900 --set client.max_attempts=3 --dry-run
`

// runRun plays a profile: a built-in one by name, or a YAML file.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [NAME|FILE] [--set PATH=VALUE]... [--variant NAME]... [flags]", runExamples, stdout)
	sets := fs.StringArray("set", nil, "override a field of the profile, e.g. client.timeout=2s or phases.surge.rate=900 (repeatable)")
	variants := fs.StringArray("variant", nil, "play only this variant (repeatable; default: all, in order)")
	short := fs.Bool("short", false, "play the profile's shortened form (its short: overrides)")
	dryRun := fs.Bool("dry-run", false, "print the resolved scenario and its timeline, run nothing")
	out := fs.String("out", "", "directory for results and reports (default: the profile's report.dir, out)")
	seed := fs.Uint64("seed", 0, "seed of every random choice (default: the profile's, else from the clock)")
	quiet := fs.Bool("quiet", false, "no progress line and no fault log on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	name := defaultProfile
	switch fs.NArg() {
	case 0:
	case 1:
		name = fs.Arg(0)
	default:
		return usageErrorf("run: want one profile, got %d: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}
	doc, err := profiles.Open(name)
	if err != nil {
		return usageErrorf("run: %v", err)
	}
	runs, err := doc.Resolve(profiles.Options{Short: *short, Variants: *variants, Set: *sets})
	if err != nil {
		return usageErrorf("run: profile %s refused:\n%v", doc.Name(), err)
	}
	if *dryRun {
		if err := harness.DryRun(stdout, runs); err != nil {
			return runErrorf("run: %v", err)
		}
		return nil
	}
	opts := harness.Options{Name: strings.TrimSuffix(name, ".yaml"), OutDir: *out, Stdout: stdout, Terminal: isTerminal(stdout), Seed: *seed, Tool: "goodput/loadgen"}
	if !*quiet {
		opts.Progress = stderr
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	res, err := harness.Play(ctx, runs, opts)
	var cfgErr *harness.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		return usageErrorf("run: %v", err)
	case err != nil:
		return runErrorf("run: %v", err)
	case res.Interrupted:
		return runErrorf("run: interrupted; the partial results and reports were written (%s)", strings.Join(res.Files, ", "))
	case res.Failed > 0:
		return assertionError(fmt.Errorf("run: %d assertion(s) failed", res.Failed))
	}
	return nil
}
