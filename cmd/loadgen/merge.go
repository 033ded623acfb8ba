package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
)

const mergeExamples = `  # Make one run of the results of four shards
  loadgen merge -o run.mpk shard-0.mpk shard-1.mpk shard-2.mpk shard-3.mpk
  loadgen report run.mpk

  # Merge to stdout
  loadgen merge -o - shard-*.mpk | loadgen report --format json -
`

// runMerge implements "loadgen merge": several results streams of one
// sharded run become one stream.
func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newMergeFlags(stdout)
	output := f.output
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	files := fs.Args()
	if *output == "" {
		return cli.Usagef("merge: -o FILE is required (- for stdout)")
	}
	if len(files) == 0 {
		return cli.Usagef("merge: no results files given (see loadgen merge --help)")
	}

	// First pass: the headers, to refuse files of different runs before
	// writing anything.
	headers := make([]results.Header, len(files))
	for i, name := range files {
		if name == "-" {
			return cli.Usagef("merge: reading stdin is not supported: merge reads each file twice")
		}
		err := readResultsFile(name, func(rd *results.Reader) error {
			headers[i] = rd.Header()
			return nil
		}, func(error) {})
		if err != nil {
			return err
		}
	}
	for i := 1; i < len(headers); i++ {
		if err := results.SameRun(headers[0], headers[i]); err != nil {
			return cli.Usagef("merge: %s and %s: %v", files[0], files[i], err)
		}
	}
	merged, err := results.MergeHeaders(headers)
	if err != nil {
		return cli.Usagef("merge: %v", err)
	}

	var out io.Writer = stdout
	var tmp *os.File
	if *output != "-" {
		tmp, err = os.CreateTemp(filepath.Dir(*output), filepath.Base(*output)+".tmp-*")
		if err != nil {
			return cli.Usagef("merge: -o: %v", err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	w, err := results.NewWriter(out, merged)
	if err != nil {
		return cli.Runf("merge: %v", err)
	}
	for _, name := range files {
		err := readResultsFile(name, func(rd *results.Reader) error {
			return copyRecords(ctx, w, rd)
		}, func(problem error) {
			fmt.Fprintf(stderr, "loadgen: warning: %s: %v\n", name, problem)
			// The merged stream is no more complete than its inputs.
			w.MarkIncomplete(fmt.Sprintf("merged from %s: %v", name, problem))
		})
		if err != nil {
			var we writeError
			if errors.As(err, &we) {
				return cli.Runf("merge: %v", we.err)
			}
			return err
		}
	}
	if err := w.Close(); err != nil {
		return cli.Runf("merge: %v", err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return cli.Runf("merge: close %s: %v", tmp.Name(), err)
		}
		if err := os.Rename(tmp.Name(), *output); err != nil {
			return cli.Runf("merge: %v", err)
		}
		tmp = nil
	}
	return nil
}

// writeError marks a failure to write the output, as opposed to a failure
// to read an input.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }

// copyRecords copies every record of rd to w.
func copyRecords(ctx context.Context, w *results.Writer, rd *results.Reader) error {
	return results.Each(ctx, rd,
		func(r *results.Result) error { return writeErr(w.WriteResult(r)) },
		func(e *results.Event) error { return writeErr(w.WriteEvent(e)) })
}

// writeErr marks err, when there is one, as a failure to write.
func writeErr(err error) error {
	if err != nil {
		return writeError{err}
	}
	return nil
}

// mergeFlags are the flags of loadgen merge, where their values land.
type mergeFlags struct {
	output *string
}

// newMergeFlags returns the FlagSet of loadgen merge and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newMergeFlags(stdout io.Writer) (*pflag.FlagSet, mergeFlags) {
	fs := newFlagSet("merge", "merge -o FILE FILE...", mergeExamples, stdout)
	output := fs.StringP("output", "o", "", "write the merged results to FILE (- for stdout); required")
	return fs, mergeFlags{output}
}
