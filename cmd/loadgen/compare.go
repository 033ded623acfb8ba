package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/report"
)

const compareExamples = `  # Two configurations side by side, labelled
  loadgen compare unprotected=a.mpk protected=b.mpk

  # The same as JSON (key "compare"), or as one self-contained HTML page
  loadgen compare --format json fifo.mpk lifo.mpk
  loadgen compare --format html -o compare.html off=off.mpk static=static.mpk adaptive=adaptive.mpk

  # A run recorded by several shards: list its files with commas
  loadgen compare before=b0.mpk,b1.mpk after=a0.mpk,a1.mpk
`

// compareFormats are the formats of "loadgen compare".
var compareFormats = []string{"text", "json", "html"}

// runCompare implements "loadgen compare".
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newCompareFlags(stdout)
	format, output, window, slo, rf := f.format, f.output, f.window, f.slo, f.rf
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !slices.Contains(compareFormats, *format) {
		return cli.Usagef("compare: --format %q is not a format (valid: %s)", *format, strings.Join(compareFormats, ", "))
	}
	if *window <= 0 {
		return cli.Usagef("compare: --window must be positive, got %v", *window)
	}
	if *slo < 0 {
		return cli.Usagef("compare: --slo must not be negative, got %v", *slo)
	}
	opts, err := rf.options()
	if err != nil {
		return err
	}
	specs, err := parseRunArgs(fs.Args())
	if err != nil {
		return err
	}

	runs := make([]report.HTMLRun, len(specs))
	cmpRuns := make([]report.CompareRun, len(specs))
	for i, sp := range specs {
		agg := report.NewAggregator(report.Options{Window: *window, SLO: *slo})
		if err := aggregateFiles(ctx, agg, sp.files, stderr); err != nil {
			return err
		}
		s := agg.Summary()
		analyzeRun(s, opts)
		label := sp.label
		if label == "" {
			label = s.Label
		}
		if label == "" || labelTaken(runs[:i], label) {
			label = strings.TrimSuffix(filepath.Base(sp.files[0]), filepath.Ext(sp.files[0]))
		}
		runs[i] = report.HTMLRun{Label: label, Summary: s}
		cmpRuns[i] = report.CompareRun{Label: label, Figures: report.FiguresOf(s), Routes: report.RouteFigures(s)}
	}
	c := report.Compare(cmpRuns)

	out, err := openOutput("compare", *output, stdout)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		err = c.WriteJSON(out)
	case "html":
		err = report.WriteHTML(out, report.HTMLReport{Title: "goodput comparison", Runs: runs, Comparison: &c})
	default:
		err = c.WriteText(out)
	}
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", *output, cerr)
	}
	if err != nil {
		return cli.Runf("compare: %v", err)
	}
	return nil
}

// runArg is one run of a comparison: an optional label and its files.
type runArg struct {
	label string
	files []string
}

// parseRunArgs reads [NAME=]FILE[,FILE...] arguments. A NAME holds no
// path separator, so a file whose name holds "=" can still be given with
// a directory ("./a=b.mpk").
func parseRunArgs(args []string) ([]runArg, error) {
	if len(args) < 2 {
		return nil, cli.Usagef("compare: give at least two runs ([NAME=]FILE; see loadgen compare --help), got %d", len(args))
	}
	out := make([]runArg, 0, len(args))
	seen := map[string]bool{}
	for _, a := range args {
		var r runArg
		files := a
		if name, rest, ok := strings.Cut(a, "="); ok && !strings.ContainsAny(name, `/\`) {
			if name == "" || rest == "" {
				return nil, cli.Usagef("compare: %q: want NAME=FILE with a non-empty name and file", a)
			}
			if seen[name] {
				return nil, cli.Usagef("compare: the label %q is given twice", name)
			}
			seen[name] = true
			r.label, files = name, rest
		}
		for _, f := range strings.Split(files, ",") {
			if f == "" {
				return nil, cli.Usagef("compare: %q: empty file name", a)
			}
			r.files = append(r.files, f)
		}
		out = append(out, r)
	}
	return out, nil
}

func labelTaken(runs []report.HTMLRun, label string) bool {
	for _, r := range runs {
		if r.Label == label {
			return true
		}
	}
	return false
}

// compareFlags are the flags of loadgen compare, where their values land.
type compareFlags struct {
	format *string
	output *string
	window *time.Duration
	slo    *time.Duration
	rf     *recoveryFlags
}

// newCompareFlags returns the FlagSet of loadgen compare and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newCompareFlags(stdout io.Writer) (*pflag.FlagSet, compareFlags) {
	fs := newFlagSet("compare", "compare [--format text|json|html] [-o FILE] [NAME=]FILE[,FILE...] ...", compareExamples, stdout)
	format := fs.String("format", "text", "output format: "+strings.Join(compareFormats, ", "))
	output := fs.StringP("output", "o", "", "write the comparison to FILE instead of stdout")
	window := fs.Duration("window", report.DefaultWindow, "width of the report's time windows")
	slo := fs.Duration("slo", 0, "latency objective for goodput, from intended start (default: the SLO recorded in each run)")
	rf := &recoveryFlags{}
	rf.register(fs)
	return fs, compareFlags{format, output, window, slo, rf}
}
