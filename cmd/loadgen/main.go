// Command loadgen drives a service open-loop with the retry behaviour of real
// clients, injects faults, and reports goodput, latency and recovery time.
//
// Run "loadgen --help" for the subcommands and exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal after the first restores the default action, so
		// a user who presses Ctrl-C twice is never stuck.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// command is one loadgen subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order "loadgen --help" shows them.
func commands() []command {
	return []command{
		{"attack", "drive a URL open-loop at a rate schedule and record every attempt", runAttack},
		{"ramp", "step the offered load up to find the tipping point (goodput ≥ 99% of offered, p99 ≤ SLO)", runRamp},
		{"report", "summarise one or more results files (text, json, csv, hgrm, hlog)", runReport},
		{"merge", "merge the results files of a sharded run into one", runMerge},
		{"compare", "compare runs side by side: one table, one chart each (text, json, html)", runCompare},
		{"proxy", "an HTTP fault proxy: delay, abort, reset, stall, bandwidth, controlled by a JSON API", runProxy},
		{"run", "play a scenario profile: target, phases, faults, reports, assertions, variants", runRun},
		{"profiles", "list the built-in scenario profiles, or print one", runProfiles},
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
  3  the run could not be carried out (target unreachable, interrupted before any result)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	printUsage(stderr)
	return usageErrorf("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	var list string
	for _, c := range commands() {
		list += fmt.Sprintf("  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usageText, list)
}

// Exit codes, as documented in usageText and the README.
const (
	exitOK        = 0
	exitAssertion = 1
	exitUsage     = 2
	exitRun       = 3
)

// exitError carries the exit code an error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad usage, flags or input files (exit code 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

// runErrorf reports a run that could not be carried out (exit code 3).
func runErrorf(format string, args ...any) error {
	return &exitError{exitRun, fmt.Errorf(format, args...)}
}

// assertionError reports a run whose assertions or SLO checks failed (exit
// code 1). The failures have already been printed.
func assertionError(err error) error { return &exitError{exitAssertion, err} }

// errHelp is returned when --help was asked for: exit 0, nothing more to say.
var errHelp = errors.New("help requested")

// exitCode maps err to the process exit code and prints it on stderr in one
// line. Errors that carry no code are run errors (3).
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "loadgen: %v\n", err)
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitRun
}
