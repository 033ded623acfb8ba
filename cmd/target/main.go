// Command target runs the reference service: a small HTTP service with
// simulated dependencies of known capacity, which runs either as an honest
// default Go service (--preset unprotected) or with every resilience
// defence on (--preset protected).
//
// Run "target --help" for flags, examples and exit codes.
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
		// a user who presses Ctrl-C twice during a long drain is never stuck.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// Exit codes, as documented in the --help text.
const (
	exitOK    = 0
	exitUsage = 2
	exitRun   = 3
)

// exitError carries the exit code an error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad usage, flags or configuration files (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

// runErrorf reports a service that could not run (exit 3).
func runErrorf(format string, args ...any) error {
	return &exitError{exitRun, fmt.Errorf(format, args...)}
}

// errHelp is returned when --help was asked for: exit 0.
var errHelp = errors.New("help requested")

// exitCode maps err to the exit code and prints it on stderr in one line.
// Errors that carry no code are run errors (3).
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "target: %v\n", err)
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitRun
}
