// Command loadgen drives a service open-loop with the retry behaviour of real
// clients, injects faults, and reports goodput, latency and recovery time.
//
// Run "loadgen --help" for the subcommands and exit codes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
)

func main() {
	tuneGC(os.Getenv)
	err := run(cli.InterruptContext(), os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(cli.Exit("loadgen", err, os.Stderr))
}

// gcPercent is the garbage collector's target (GOGC) loadgen runs with
// unless the environment sets GOGC. A generator's live heap is small (about
// 4 MB at 25,000 rps), so at Go's default of 100 it collected twice in a
// run's first 70 ms, each collection's assists and pauses stalling the
// pacer, and the lag they left could grow into a collapse: against nginx
// on 2 cores at 25,000 rps, 5 runs of 5 had a lag p99 under 5 ms at 400,
// against 1 of 5 at 100 (2 of which collapsed: lag p99 37–60 ms, peak RSS
// 144–160 MB), and their peak RSS was no higher: 27–28 MB (issue #15).
const gcPercent = 400

// tuneGC sets the garbage collector's target to gcPercent unless
// getenv("GOGC") is set.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// command is one loadgen subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// flags builds the command's FlagSet without running it (completion
	// reads it).
	flags func(stdout io.Writer) *pflag.FlagSet
}

// flagsOf adapts a command's FlagSet constructor to command.flags.
func flagsOf[T any](build func(io.Writer) (*pflag.FlagSet, T)) func(io.Writer) *pflag.FlagSet {
	return func(w io.Writer) *pflag.FlagSet {
		fs, _ := build(w)
		return fs
	}
}

// commands lists the subcommands in the order "loadgen --help" shows them.
func commands() []command {
	return []command{
		{"attack", "drive a URL open-loop at a rate schedule and record every attempt", runAttack, flagsOf(newAttackFlags)},
		{"ramp", "step the offered load up to find the tipping point (goodput ≥ 99% of offered, p99 ≤ SLO)", runRamp, flagsOf(newRampFlags)},
		{"survey", "search how large and how long a surge the service survives: surge size × duration, bisected", runSurvey, flagsOf(newSurveyFlags)},
		{"report", "summarise one or more results files (text, json, csv, html, hgrm, hlog, junit)", runReport, flagsOf(newReportFlags)},
		{"merge", "merge the results files of a sharded run into one", runMerge, flagsOf(newMergeFlags)},
		{"encode", "write every attempt of results files as JSON Lines or CSV, for other tools", runEncode, flagsOf(newEncodeFlags)},
		{"compare", "compare runs side by side: one table, one chart each (text, json, html)", runCompare, flagsOf(newCompareFlags)},
		{"proxy", "an HTTP fault proxy: delay, abort, reset, stall, bandwidth, controlled by a JSON API", runProxy, flagsOf(newProxyFlags)},
		{"run", "play a scenario profile: target, phases, faults, reports, assertions, variants", runRun, flagsOf(newRunFlags)},
		{"profiles", "list the built-in scenario profiles, or print one", runProfiles, newProfilesFlags},
		{"completion", "print a shell completion script (bash, zsh, fish) generated from these flags", runCompletion, newCompletionFlags},
		{"version", "print the version and VCS revision of this build (also --version)", runVersion, newVersionFlags},
	}
}

const usageText = `loadgen drives a service open-loop with the retry behaviour of real clients,
injects faults, and reports goodput, latency and recovery time.

Usage:
  loadgen COMMAND [flags] [args]

Commands:
%s
Run "loadgen COMMAND --help" for a command's flags and examples.

Exit codes (every command):
  0  success
  1  the run worked but an assertion or SLO check failed
  2  bad usage, flags or input files (the message names the flag or file)
  3  the run could not be carried out (target unreachable or its TLS handshake failed,
     no attempt answered, interrupted before any result)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		return nil
	}
	if args[0] == "--version" {
		return runVersion(ctx, args[1:], stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	printUsage(stderr)
	return cli.Usagef("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	var list string
	for _, c := range commands() {
		list += fmt.Sprintf("  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usageText, list)
}

// runVersion prints the build's version: loadgen VERSION (GO VERSION).
func runVersion(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newVersionFlags(stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("version takes no arguments, got %q", fs.Args())
	}
	if _, err := fmt.Fprintf(stdout, "loadgen %s (%s)\n", cli.Version(), runtime.Version()); err != nil {
		return cli.Runf("write stdout: %w", err)
	}
	return nil
}

// newVersionFlags returns the FlagSet of loadgen version,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newVersionFlags(stdout io.Writer) *pflag.FlagSet {
	fs := newFlagSet("version", "version", "  loadgen version\n  loadgen --version\n", stdout)
	return fs
}
