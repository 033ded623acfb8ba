// Package cli holds what goodput's commands share: their exit codes, the
// errors that carry them, and the context that Ctrl-C ends.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of every goodput command, as their --help texts and the
// README document them.
const (
	ExitOK        = 0 // success
	ExitAssertion = 1 // the run worked but an assertion or SLO check failed
	ExitUsage     = 2 // bad usage, flags, configuration or input files
	ExitRun       = 3 // the work could not be carried out
)

// Error carries the exit code an error should end the process with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Usagef reports bad usage, flags, configuration or input files
// (ExitUsage).
func Usagef(format string, args ...any) error {
	return &Error{ExitUsage, fmt.Errorf(format, args...)}
}

// Runf reports work that could not be carried out (ExitRun).
func Runf(format string, args ...any) error {
	return &Error{ExitRun, fmt.Errorf(format, args...)}
}

// Assertion reports a run whose assertions or SLO checks failed
// (ExitAssertion); the failures have already been printed.
func Assertion(err error) error { return &Error{ExitAssertion, err} }

// ErrHelp is returned when --help was asked for: exit 0, nothing more to
// say.
var ErrHelp = errors.New("help requested")

// Code returns the exit code of err: ExitOK for nil and ErrHelp, the code
// an Error carries, else ExitRun.
func Code(err error) int {
	var e *Error
	switch {
	case err == nil || errors.Is(err, ErrHelp):
		return ExitOK
	case errors.As(err, &e):
		return e.Code
	}
	return ExitRun
}

// Exit returns the exit code of err after printing err on stderr in one
// line, prefixed by the command's name.
func Exit(name string, err error, stderr io.Writer) int {
	code := Code(err)
	if code != ExitOK {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return code
}

// InterruptContext returns a context that the first SIGINT or SIGTERM
// ends. A second signal then has its default effect, so a user who
// presses Ctrl-C twice during a long drain is never stuck.
func InterruptContext() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}

// IsTerminal reports whether w is a terminal (a character device): where
// a progress line can be redrawn in place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
