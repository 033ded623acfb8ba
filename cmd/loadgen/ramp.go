package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/workload"
)

const rampExamples = `  # Find the tipping point between 100 and 1000 requests/s, 10 s a step
  loadgen ramp --url http://127.0.0.1:8080/api/items/1 --from 100 --to 1000 --step 50 --step-duration 10s --slo 250ms

  # Keep the results, and fail the build when capacity regressed
  loadgen ramp --url http://127.0.0.1:8080/ --from 200 --to 800 --step 50 --step-duration 5s \
      -o ramp.mpk --assert 'tipping_point >= 400' --junit junit.xml

  # The curve as an HTML page (goodput and p99 against offered load)
  loadgen ramp --url http://127.0.0.1:8080/ --from 100 --to 600 --step 100 --step-duration 5s --format html --report ramp.html
`

// rampMaxSteps bounds the number of steps of a ramp.
const rampMaxSteps = 1000

// runRamp steps the offered load up until two steps past the knee and
// reports the tipping point.
func runRamp(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs, f := newRampFlags(stdout)
	from, to, step, stepDur, slo, all, format, reportTo, output, label, cf, vf := f.from, f.to, f.step, f.stepDur, f.slo, f.all, f.format, f.reportTo, f.output, f.label, f.cf, f.vf
	mf := f.mf
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("ramp: unexpected argument %q (see loadgen ramp --help)", fs.Arg(0))
	}
	for _, name := range []string{"rate", "duration", "phase"} {
		if fs.Changed(name) {
			return cli.Usagef("ramp: --%s does not apply: the steps come from --from, --to, --step and --step-duration", name)
		}
	}
	rates, err := rampRates(*from, *to, *step)
	if err != nil {
		return err
	}
	if *stepDur <= 0 {
		return cli.Usagef("ramp: --step-duration must be positive, got %v", *stepDur)
	}
	if *slo < 0 {
		return cli.Usagef("ramp: --slo must not be negative, got %v", *slo)
	}
	if !slices.Contains([]string{"text", "json", "html"}, *format) {
		return cli.Usagef("ramp: --format %q is not a format (valid: text, json, html)", *format)
	}
	if *output == "-" && *reportTo == "" {
		return cli.Usagef("ramp: -o - writes the results to stdout: give --report FILE for the report")
	}
	if err := vf.parse(); err != nil {
		return err
	}
	for _, r := range rates {
		cf.phases = append(cf.phases, fmt.Sprintf("%v@%g", *stepDur, r))
	}
	cfg, err := cf.workloadConfig(fs)
	if err != nil {
		return err
	}
	phases := make([]workload.Phase, len(rates))
	for i, r := range rates {
		phases[i] = workload.Phase{Name: fmt.Sprintf("step %g/s", r), Duration: *stepDur, From: r, To: r}
	}
	if cfg.Schedule, err = workload.NewSchedule(phases...); err != nil {
		return cli.Usagef("ramp: %v", err)
	}
	objective := *slo
	if objective == 0 {
		objective = cfg.Retry.SLO()
	}
	if err := preflight(ctx, "ramp", cfg, stderr); err != nil {
		return err
	}
	w, err := mf.start(ctx, "ramp", stderr)
	if err != nil {
		return err
	}
	defer func() {
		if serr := w.stop(ctx); serr != nil && err == nil {
			err = cli.Runf("ramp: %v", serr)
		}
	}()
	d, err := harness.NewDriver(cfg)
	if err != nil {
		return cli.Usagef("ramp: %v", err)
	}
	header := cf.resultsHeader("ramp", cfg, d.Start())
	header.SLO = objective
	header.Label = *label
	fmt.Fprintf(stderr, "ramp: seed %d, %d steps of %v from %g to %g requests/s, SLO %v\n", cfg.Seed, len(rates), *stepDur, rates[0], rates[len(rates)-1], objective)

	opts := harness.DriveOptions{
		Name: "ramp", Log: stderr, Header: header, SLO: objective,
		Summarize: &report.Options{SLO: objective},
		Steps:     &harness.Steps{SLO: objective, StopPastKnee: !*all},
		Metrics:   w.registry(),
	}
	closeOut := func() error { return nil }
	if *output != "" {
		dst, err := openOutput("ramp", *output, stdout)
		if err != nil {
			return err
		}
		opts.Out, closeOut = dst, dst.Close
	}
	driven, runErr := d.Run(ctx, opts)
	if err := closeOut(); err != nil {
		return cli.Runf("ramp: write %s: %v", *output, err)
	}
	if runErr != nil {
		return cli.Runf("ramp: %v", runErr)
	}
	if driven.Interrupted {
		fmt.Fprintln(stderr, "ramp: interrupted; reporting the steps that completed")
	}

	s := driven.Summary
	vf.analyze(s)
	if s.TippingPoint == nil {
		report.AnalyzeTippingPoint(s, objective)
	}
	if err := writeRampReport(stdout, *reportTo, *format, s); err != nil {
		return err
	}
	if err := unanswered("ramp", driven.Counts); err != nil {
		return err
	}
	return vf.finish(s, stderr)
}

// rampRates returns the offered rate of each step: from, from+step, … up
// to to.
func rampRates(from, to, step float64) ([]float64, error) {
	switch {
	case !(from > 0) || math.IsInf(from, 0):
		return nil, cli.Usagef("ramp: --from must be a positive rate (requests/s), got %v", from)
	case !(to >= from) || math.IsInf(to, 0):
		return nil, cli.Usagef("ramp: --to must be a rate ≥ --from (%v), got %v", from, to)
	case !(step > 0):
		return nil, cli.Usagef("ramp: --step must be a positive rate (requests/s), got %v", step)
	}
	n := int(math.Floor((to-from)/step+1e-9)) + 1
	if n > rampMaxSteps {
		return nil, cli.Usagef("ramp: %d steps from %v to %v by %v: at most %d", n, from, to, step, rampMaxSteps)
	}
	rates := make([]float64, n)
	for i := range rates {
		rates[i] = from + float64(i)*step
	}
	return rates, nil
}

// writeRampReport writes s's report in format to path (stdout when "").
func writeRampReport(stdout io.Writer, path, format string, s *report.Summary) error {
	out := stdout
	var file *os.File
	if path != "" && path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return cli.Usagef("ramp: --report: %v", err)
		}
		file, out = f, f
	}
	var err error
	switch format {
	case "json":
		err = report.WriteJSON(out, s)
	case "html":
		err = report.WriteHTML(out, report.HTMLReport{Title: "goodput ramp", Runs: []report.HTMLRun{{Summary: s}}})
	default:
		err = s.TippingPoint.WriteText(out)
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return cli.Runf("ramp: write report: %v", err)
	}
	return nil
}

// rampFlags are the flags of loadgen ramp, where their values land.
type rampFlags struct {
	from     *float64
	to       *float64
	step     *float64
	stepDur  *time.Duration
	slo      *time.Duration
	all      *bool
	format   *string
	reportTo *string
	output   *string
	label    *string
	cf       *clientFlags
	vf       *verdictFlags
	mf       *metricsFlags
}

// newRampFlags returns the FlagSet of loadgen ramp and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newRampFlags(stdout io.Writer) (*pflag.FlagSet, rampFlags) {
	fs := newFlagSet("ramp", "ramp --url URL --from R0 --to R1 --step dR --step-duration D [--slo D] [client flags]", rampExamples, stdout)
	from := fs.Float64("from", 0, "offered load of the first step, requests/s (required)")
	to := fs.Float64("to", 0, "offered load of the last step, requests/s (required)")
	step := fs.Float64("step", 0, "increase of the offered load from one step to the next, requests/s (required)")
	stepDur := fs.Duration("step-duration", 10*time.Second, "how long each step lasts")
	slo := fs.Duration("slo", 0, "latency objective of a step's p99 and of goodput (default: the client's deadline, or its timeout)")
	all := fs.Bool("all-steps", false, "run every step, even past the knee (default: stop two steps after the last step within capacity)")
	format := fs.String("format", "text", "report format: text (the curve and the tipping point), json or html")
	reportTo := fs.String("report", "", "write the report to FILE instead of stdout")
	output := fs.StringP("output", "o", "", `also write the results stream to FILE ("-" for stdout)`)
	label := fs.String("label", "", "name of the run, recorded in the results header and shown by every report")
	cf := addClientFlags(fs)
	vf := addVerdictFlags(fs)
	mf := addMetricsFlags(fs)
	for _, name := range []string{"rate", "duration", "phase"} {
		_ = fs.MarkHidden(name)
	}
	return fs, rampFlags{from, to, step, stepDur, slo, all, format, reportTo, output, label, cf, vf, mf}
}
