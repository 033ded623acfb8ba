// Command target runs the reference service: a small HTTP service with
// simulated dependencies of known capacity, which runs either as an honest
// default Go service (--preset unprotected) or with every resilience
// defence on (--preset protected).
//
// Run "target --help" for flags, examples and exit codes.
package main

import (
	"os"

	"github.com/goodput-dev/goodput/internal/cli"
)

func main() {
	err := run(cli.InterruptContext(), os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(cli.Exit("target", err, os.Stderr))
}
