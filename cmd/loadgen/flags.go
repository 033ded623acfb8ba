package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
)

// newFlagSet returns a FlagSet for a subcommand that prints usage and
// examples to stdout on --help, and names the bad flag on error.
func newFlagSet(name, usage, examples string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage:\n  loadgen %s\n\nFlags:\n", usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if examples != "" {
			fmt.Fprintf(stdout, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

// parseFlags parses args into fs, turning --help into cli.ErrHelp (pflag has
// already printed the usage) and any other failure into a usage error.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return cli.ErrHelp
	}
	if err != nil {
		return cli.Usagef("%s: %v (see loadgen %s --help)", fs.Name(), err, fs.Name())
	}
	return nil
}
