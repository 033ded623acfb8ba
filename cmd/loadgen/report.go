package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/results"
)

const reportExamples = `  # Summarise a run in the terminal
  loadgen report results.mpk

  # The JSON summary (schema: docs/results-json.md), e.g. for a CI script
  loadgen report --format json results.mpk | jq .goodput_ratio

  # Merge the files of four shards into one run, in 5-second windows
  loadgen report --window 5s shard-0.mpk shard-1.mpk shard-2.mpk shard-3.mpk

  # Goodput against a 200ms objective instead of the recorded one
  loadgen report --slo 200ms results.mpk

  # One CSV row per window; HdrHistogram percentile distribution and interval log
  loadgen report --format csv -o windows.csv results.mpk
  loadgen report --format hgrm -o latency.hgrm results.mpk
  loadgen report --format hlog -o latency.hlog results.mpk

  # CI verdicts (exit 1 when one fails, JUnit XML for the CI system) and an HTML report
  loadgen report --assert 'p99 < 250ms' --assert 'recovery_time < 15s' --junit junit.xml results.mpk
  loadgen report --format html -o report.html results.mpk

  # Every format at once into a directory, and the text summary on stdout
  loadgen report --out-dir report/ results.mpk

  # Straight from an attack
  loadgen attack --url http://127.0.0.1:8080/ --rate 100 --duration 10s -o - | loadgen report -
`

// runReport implements "loadgen report".
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newReportFlags(stdout)
	format, window, slo, output, windows, color, outs, outDir, title, slowest, vf := f.format, f.window, f.slo, f.output, f.windows, f.color, f.outs, f.outDir, f.title, f.slowest, f.vf
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := vf.parse(); err != nil {
		return err
	}
	if !slices.Contains(reportFormats(), *format) {
		return cli.Usagef("report: --format %q is not a format (valid: %s)", *format, strings.Join(reportFormats(), ", "))
	}
	if *window < time.Millisecond {
		return cli.Usagef("report: --window must be at least 1ms, got %v", *window)
	}
	if *slo < 0 {
		return cli.Usagef("report: --slo must not be negative, got %v", *slo)
	}
	if *color != "auto" && *color != "always" && *color != "never" {
		return cli.Usagef("report: --color %q is not valid (valid: auto, always, never)", *color)
	}
	if *slowest < 0 || *slowest > 1000 {
		return cli.Usagef("report: --slowest must be between 0 and 1000, got %d", *slowest)
	}
	files := fs.Args()
	if len(files) == 0 {
		return cli.Usagef("report: no results file given (use - for stdin; see loadgen report --help)")
	}

	agg := report.NewAggregator(report.Options{Window: *window, SLO: *slo, Slowest: cmp.Or(*slowest, -1)})
	if err := aggregateFiles(ctx, agg, files, stderr); err != nil {
		return err
	}
	s := agg.Summary()
	s.Title = *title
	vf.analyze(s)

	out, err := openOutput("report", *output, stdout)
	if err != nil {
		return err
	}
	opts := report.TextOptions{Windows: *windows, Color: *color == "always" || (*color == "auto" && !out.toFile() && isTerminal(stdout))}
	err = writeReport(out, *format, s, opts)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", *output, cerr)
	}
	if err != nil {
		return cli.Runf("report: %v", err)
	}
	if err := writeExtraOutputs(s, outs, *outDir, *windows); err != nil {
		return err
	}
	return vf.finish(s, stderr)
}

// outDirFile names the file of each format in --out-dir.
func outDirFile(format string) string {
	f, _ := report.LookupFormat(format)
	return f.File
}

func outDirFiles() []string {
	var names []string
	for _, f := range reportFormats() {
		names = append(names, outDirFile(f))
	}
	return names
}

// writeExtraOutputs writes the --out-FORMAT files and the --out-dir
// directory.
func writeExtraOutputs(s *report.Summary, outs map[string]*string, dir string, windows bool) error {
	files := make(map[string]string) // path → format
	for _, f := range reportFormats() {
		if p := *outs[f]; p != "" {
			files[p] = f
		}
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return cli.Usagef("report: --out-dir: %v", err)
		}
		for _, f := range reportFormats() {
			files[filepath.Join(dir, outDirFile(f))] = f
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		f, err := os.Create(p)
		if err != nil {
			return cli.Usagef("report: %v", err)
		}
		err = writeReport(f, files[p], s, report.TextOptions{Windows: windows})
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return cli.Runf("report: write %s: %v", p, err)
		}
	}
	return nil
}

// aggregateFiles reads every results file into agg. Unreadable or foreign
// files and files of another run are usage errors naming the file; an
// incomplete or damaged file is a warning on stderr (and in the report).
func aggregateFiles(ctx context.Context, agg *report.Aggregator, files []string, stderr io.Writer) error {
	for _, name := range files {
		err := readResultsFile(name, func(rd *results.Reader) error {
			if err := agg.AddHeader(rd.Header()); err != nil {
				return err
			}
			return report.ReadInto(ctx, agg, rd)
		}, func(problem error) {
			// ReadInto put it in the summary's warnings.
			fmt.Fprintf(stderr, "loadgen: warning: %s: %v\n", name, problem)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// readResultsFile opens name ("-" for stdin), checks that it is a results
// stream and hands its reader to read. warn is told, once read has
// returned, when the stream was not complete (see results.Integrity): cut,
// damaged, without its end-of-run trailer.
func readResultsFile(name string, read func(*results.Reader) error, warn func(error)) error {
	var in io.Reader
	if name == "-" {
		in = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return cli.Usagef("read results %s: %v", name, err)
		}
		defer f.Close()
		in = f
	}
	rd, err := results.NewReader(in)
	if err != nil {
		return cli.Usagef("read results %s: %v", name, err)
	}
	if err := read(rd); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return cli.Runf("read results %s: interrupted", name)
		}
		return cli.Usagef("read results %s: %v", name, err)
	}
	if err := rd.Integrity().Err(); err != nil {
		warn(err)
	}
	return nil
}

// isTerminal reports whether w is a terminal (a character device) and
// NO_COLOR is unset.
func isTerminal(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return cli.IsTerminal(w)
}

// reportFlags are the flags of loadgen report, where their values land.
type reportFlags struct {
	format  *string
	window  *time.Duration
	slo     *time.Duration
	output  *string
	windows *bool
	color   *string
	outs    map[string]*string
	outDir  *string
	title   *string
	slowest *int
	vf      *verdictFlags
}

// newReportFlags returns the FlagSet of loadgen report and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newReportFlags(stdout io.Writer) (*pflag.FlagSet, reportFlags) {
	fs := newFlagSet("report", "report [--format "+strings.Join(reportFormats(), "|")+"] [--window D] [--slo D] [-o FILE] FILE...",
		reportExamples, stdout)
	format := fs.String("format", "text", "output format: "+strings.Join(reportFormats(), ", "))
	window := fs.Duration("window", report.DefaultWindow, "width of the report's time windows")
	slo := fs.Duration("slo", 0, "latency objective for goodput, from intended start (default: the SLO recorded in the results, the client's timeout)")
	output := fs.StringP("output", "o", "", "write the report to FILE instead of stdout")
	windows := fs.Bool("windows", false, "text format: add a table with one line per window")
	color := fs.String("color", "auto", "text format colours: auto (when stdout is a terminal and NO_COLOR is unset), always, never")
	outs := make(map[string]*string)
	for _, f := range reportFormats() {
		outs[f] = fs.String("out-"+f, "", "also write the "+f+" report to FILE")
	}
	outDir := fs.String("out-dir", "", "also write every format into DIR: "+strings.Join(outDirFiles(), ", "))
	title := fs.String("title", "", "title of the report, shown in every format (default: goodput report)")
	slowest := fs.Int("slowest", report.DefaultSlowest, "trace the N slowest requests, attempt by attempt (0: none; at most 1000)")
	vf := addVerdictFlags(fs)
	return fs, reportFlags{format, window, slo, output, windows, color, outs, outDir, title, slowest, vf}
}
