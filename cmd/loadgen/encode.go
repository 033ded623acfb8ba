package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/results/export"
)

const encodeExamples = `  # Every attempt as JSON Lines, for jq
  loadgen encode --to jsonl run.mpk | jq 'select(.outcome != "ok") | .route' | sort | uniq -c

  # Every attempt of a sharded run as one CSV file
  loadgen encode --to csv -o attempts.csv shard-*.mpk

  # From a pipe
  loadgen attack --url http://127.0.0.1:8080/ --rate 100 --duration 10s -o - | loadgen encode --to csv -
`

// runEncode implements "loadgen encode": results streams become one line
// per attempt in JSON Lines or CSV.
func runEncode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newEncodeFlags(stdout)
	to, output := f.to, f.output
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	format, err := export.ParseFormat(*to)
	if err != nil {
		return cli.Usagef("encode: --to: %v", err)
	}
	files := fs.Args()
	if len(files) == 0 {
		return cli.Usagef("encode: no results files given (- reads stdin; see loadgen encode --help)")
	}
	out, err := openOutput("encode", *output, stdout)
	if err != nil {
		return err
	}
	defer out.Close()
	w, err := export.NewWriter(out, format)
	if err != nil {
		return cli.Usagef("encode: %v", err)
	}
	for _, name := range files {
		err := readResultsFile(name, func(rd *results.Reader) error {
			if err := w.SetHeader(rd.Header()); err != nil {
				return writeError{err}
			}
			return exportRecords(ctx, w, rd)
		}, func(trunc error) {
			fmt.Fprintf(stderr, "loadgen: warning: %s: %v\n", name, trunc)
		})
		if err != nil {
			var we writeError
			if errors.As(err, &we) {
				return cli.Runf("encode: write %s: %v", *output, we.err)
			}
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return cli.Runf("encode: write %s: %v", *output, err)
	}
	if err := out.Close(); err != nil {
		return cli.Runf("encode: close %s: %v", *output, err)
	}
	return nil
}

// exportRecords writes every attempt of rd to w; events are not attempts
// and are skipped.
func exportRecords(ctx context.Context, w *export.Writer, rd *results.Reader) error {
	return results.Each(ctx, rd, func(r *results.Result) error { return writeErr(w.Write(r)) }, nil)
}

// encodeFlags are the flags of loadgen encode, where their values land.
type encodeFlags struct {
	to     *string
	output *string
}

// newEncodeFlags returns the FlagSet of loadgen encode and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newEncodeFlags(stdout io.Writer) (*pflag.FlagSet, encodeFlags) {
	fs := newFlagSet("encode", "encode --to jsonl|csv [-o FILE] FILE...", encodeExamples, stdout)
	to := fs.String("to", "jsonl", "output format: jsonl or csv")
	output := fs.StringP("output", "o", "-", "write to FILE (- for stdout)")
	return fs, encodeFlags{to, output}
}
