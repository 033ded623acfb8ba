package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/profiles"
)

const profilesExamples = `  # list the built-in profiles
  loadgen profiles

  # print one, to read it or to start a profile of your own from it
  loadgen profiles surge-recovery > my-surge.yaml
`

// runProfiles lists the built-in profiles, or prints one.
func runProfiles(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newProfilesFlags(stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		list, err := profiles.Builtins()
		if err != nil {
			return cli.Runf("profiles: %v", err)
		}
		width := 0
		for _, b := range list {
			width = max(width, len(b.Name))
		}
		for _, b := range list {
			if _, err := fmt.Fprintf(stdout, "%-*s  %s\n", width, b.Name, b.Description); err != nil {
				return cli.Runf("profiles: %v", err)
			}
		}
		return nil
	case 1:
		data, err := profiles.BuiltinSource(fs.Arg(0))
		if err != nil {
			return cli.Usagef("profiles: %v (see loadgen profiles)", err)
		}
		if _, err := stdout.Write(data); err != nil {
			return cli.Runf("profiles: %v", err)
		}
		return nil
	default:
		return cli.Usagef("profiles: want at most one profile name, got %d arguments", fs.NArg())
	}
}

// newProfilesFlags returns the FlagSet of loadgen profiles,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newProfilesFlags(stdout io.Writer) *pflag.FlagSet {
	fs := newFlagSet("profiles", "profiles [NAME]", profilesExamples, stdout)
	return fs
}
