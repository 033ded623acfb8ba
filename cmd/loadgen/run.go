package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/workload"
)

// defaultProfile is what "loadgen run" plays without an argument.
const defaultProfile = "surge-recovery"

const runExamples = `  # the demo: surge-recovery, unprotected vs protected, about a minute
  loadgen run

  # a built-in profile, one variant, shortened, reports into ./ci-out
  loadgen run retry-storm --variant no-budget --variant retry-budget --short --out ci-out

  # your own profile with overrides, printing what would run
  loadgen run my-scenario.yaml --set phases.surge.rate=900 --set client.max_attempts=3 --dry-run

  # shard 1 of 2 of a run against a running service (each shard runs this with its own index);
  # the dependency and target faults are applied once, by shard 0 (--fault-shard); load faults
  # (surge, burst, retry) and proxy faults by every shard on its own slice of the load
  loadgen run slow-dependency --set target.embedded=null --set target.url=http://svc:8080 \
      --set target.admin=http://svc:8081 --shard 1/2 --start-at 2026-01-02T15:04:05Z --out shared
  # then: loadgen merge shared/slow-dependency.shard-*-of-2.mpk -o all.mpk && loadgen report all.mpk
`

// runRun plays a profile: a built-in one by name, or a YAML file.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs, f := newRunFlags(stdout)
	sets, variants, short, dryRun, out, seed, quiet, sh, faultShard, tokenFile := f.sets, f.variants, f.short, f.dryRun, f.out, f.seed, f.quiet, f.sh, f.faultShard, f.tokenFile
	mf := f.mf
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	shard, err := sh.shardOf(fs)
	if err != nil {
		return err
	}
	startAt, err := sh.startInstant(time.Now())
	if err != nil {
		return err
	}
	procs, err := sh.procsOf()
	if err != nil {
		return err
	}
	if n := shard.N(); *faultShard < 0 || *faultShard >= n {
		return flagErr("fault-shard", fmt.Errorf("%d: want a shard index in [0, N) of a sharded run (--shard I/N, or --shards N with JOB_COMPLETION_INDEX); this run has %d shard(s)", *faultShard, n))
	}
	token, tokenFrom, err := adminToken(*tokenFile)
	if err != nil {
		return err
	}
	name := defaultProfile
	switch fs.NArg() {
	case 0:
	case 1:
		name = fs.Arg(0)
	default:
		return cli.Usagef("run: want one profile, got %d: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}
	doc, err := profiles.Open(name)
	if err != nil {
		return cli.Usagef("run: %v", err)
	}
	runs, err := doc.Resolve(profiles.Options{Short: *short, Variants: *variants, Set: *sets})
	if err != nil {
		return cli.Usagef("run: profile %s refused:\n%v", doc.Name(), err)
	}
	if err := shardable(runs, shard, sh.shard); err != nil {
		return err
	}
	opts := harness.Options{Name: strings.TrimSuffix(name, ".yaml"), OutDir: *out, Stdout: stdout, Terminal: isTerminal(stdout), Seed: *seed, Tool: "goodput/loadgen",
		Shard: shard, FaultShard: *faultShard, StartAt: startAt, Procs: procs, AdminToken: token, AdminTokenFrom: tokenFrom}
	if *dryRun {
		if err := harness.DryRun(stdout, runs, opts); err != nil {
			return cli.Runf("run: %v", err)
		}
		return nil
	}
	if !*quiet {
		opts.Progress = stderr
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	w, err := mf.start(ctx, "run", stderr)
	if err != nil {
		return err
	}
	defer func() {
		if serr := w.stop(ctx); serr != nil && err == nil {
			err = cli.Runf("run: %v", serr)
		}
	}()
	opts.Metrics = w.registry()
	res, err := harness.Play(ctx, runs, opts)
	var cfgErr *harness.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		return cli.Usagef("run: %v", err)
	case err != nil:
		return cli.Runf("run: %v", err)
	case res.Interrupted:
		return cli.Runf("run: interrupted; the partial results and reports were written (%s)", strings.Join(res.Files, ", "))
	case res.Failed > 0:
		return cli.Assertion(fmt.Errorf("run: %d assertion(s) failed", res.Failed))
	}
	return nil
}

// shardable refuses an embedded target in a sharded run: every shard would
// start a target of its own, so the run would not be one service under N
// times the load. flag is --shard's value ("" when the index came from
// JOB_COMPLETION_INDEX with --shards).
func shardable(runs []profiles.Run, shard workload.Shard, flag string) error {
	if shard.N() == 1 {
		return nil
	}
	how := fmt.Sprintf("--shards %d", shard.N())
	if flag != "" {
		how = "--shard " + flag
	}
	for _, r := range runs {
		if r.Scenario.Target.Embedded != nil {
			return cli.Usagef("run: %s: the profile's target.embedded cannot be sharded: each shard would start a target of its own; "+
				"start the service once and point every shard at it: --set target.embedded=null --set target.url=http://HOST:PORT (and --set target.admin=http://HOST:PORT for its faults)", how)
		}
	}
	return nil
}

// runFlags are the flags of loadgen run, where their values land.
type runFlags struct {
	sets       *[]string
	variants   *[]string
	short      *bool
	dryRun     *bool
	out        *string
	seed       *uint64
	quiet      *bool
	sh         *clientFlags
	faultShard *int
	tokenFile  *string
	mf         *metricsFlags
}

// newRunFlags returns the FlagSet of loadgen run and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newRunFlags(stdout io.Writer) (*pflag.FlagSet, runFlags) {
	fs := newFlagSet("run", "run [NAME|FILE] [--set PATH=VALUE]... [--variant NAME]... [flags]", runExamples, stdout)
	sets := fs.StringArray("set", nil, "override a field of the profile, e.g. client.timeout=2s or phases.surge.rate=900 (repeatable)")
	variants := fs.StringArray("variant", nil, "play only this variant (repeatable; default: all, in order)")
	short := fs.Bool("short", false, "play the profile's shortened form (its short: overrides)")
	dryRun := fs.Bool("dry-run", false, "print the resolved scenario and its timeline, run nothing")
	out := fs.String("out", "", "directory for results and reports (default: the profile's report.dir, out)")
	seed := fs.Uint64("seed", 0, "seed of every random choice (default: the profile's, else from the clock)")
	quiet := fs.Bool("quiet", false, "no progress line and no fault log on stderr")
	sh := &clientFlags{}
	addShardFlags(fs, sh)
	addProcsFlag(fs, sh)
	tokenFile := addAdminTokenFlag(fs, "the profile's target.admin (else its target.admin_token_file is read)")
	mf := addMetricsFlags(fs)
	faultShard := fs.Int("fault-shard", 0, "the shard that applies the faults on the target's admin API (dependency and target faults), once for the run; every shard applies load (surge, burst, retry) and proxy faults to its own slice of the load")
	return fs, runFlags{sets, variants, short, dryRun, out, seed, quiet, sh, faultShard, tokenFile, mf}
}
