package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/survey"
	"github.com/goodput-dev/goodput/target"
)

const surveyExamples = `  # how long a 3x surge the unprotected reference target survives (capacity 400/s, baseline 250/s)
  loadgen survey --preset unprotected --rate 250 --multipliers 3 --durations 1s..30s

  # the same with every defence on, as a heat map
  loadgen survey --preset protected --rate 250 --multipliers 2,3,4 --format html -o survey.html

  # a running service, in CI: exit 1 unless a 3x surge of 10 s is survived
  loadgen survey --url http://svc:8080/api/items/1 --rate 200 --multipliers 3 --durations 2s..20s \
      --assert 'survive(3x) >= 10s' --format json -o survey.json
`

// defaultSurveyPath is the request of a survey of the embedded target:
// the reference target's items route, capacity 400/s with its db pool of
// 8 and 20 ms queries.
const defaultSurveyPath = "/api/items/{rand:1-100000}"

// surveyFlags are the flags of loadgen survey, where their values land.
type surveyFlags struct {
	cf          *clientFlags
	rf          *recoveryFlags
	preset      *string
	targetConf  *string
	multipliers *[]string
	durations   *string
	resolution  *time.Duration
	warmup      *time.Duration
	judge       *time.Duration
	slowAfter   *time.Duration
	settle      *time.Duration
	slo         *time.Duration
	format      *string
	out         *string
	asserts     *[]string
	quiet       *bool
}

// newSurveyFlags returns the FlagSet of loadgen survey and where its values
// land, without running it: the CLI parses it, completion reads it. Its
// usage goes to stdout.
func newSurveyFlags(stdout io.Writer) (*pflag.FlagSet, surveyFlags) {
	fs := newFlagSet("survey", "survey (--preset NAME | --url URL) --rate BASELINE [--multipliers 3] [--durations 1s..30s] [flags]", surveyExamples, stdout)
	f := surveyFlags{}
	f.preset = fs.String("preset", "", "survey the reference target started in-process, fresh for each cell: unprotected, protected or serverless (--url is then a path, default "+defaultSurveyPath+")")
	f.targetConf = fs.String("target-config", "", "with --preset: a reference target configuration file (YAML, as target --print-config prints) applied over the preset, e.g. db: {pool: 4}")
	f.multipliers = fs.StringSlice("multipliers", []string{"3"}, "surge sizes, each a multiple of the baseline rate (comma-separated), e.g. 2,3,4")
	f.durations = fs.String("durations", "1s..30s", "surge durations searched, MIN..MAX: MIN and MAX are played first, then the boundary is bisected")
	f.resolution = fs.Duration("resolution", time.Second, "how close the bisection brings the longest surviving and the shortest failed duration")
	f.warmup = fs.Duration("warmup", 5*time.Second, "baseline before each surge: the service's behaviour recovery is judged against")
	f.judge = fs.Duration("judge", 15*time.Second, "baseline after each surge over which recovery is judged; a cell not recovered by its end is metastable (≥ 2 × --recovery-window)")
	f.slowAfter = fs.Duration("slow-after", 5*time.Second, "a cell that recovers later than this after the surge's end is slow")
	f.settle = fs.Duration("settle", 2*time.Minute, "with --url: before each cell, wait at most this long for the baseline to hold (goodput ≥ --recovery-goodput over --recovery-window); the survey ends with an error when it does not")
	f.slo = fs.Duration("slo", 0, "latency objective of goodput (default: the client's --deadline, or its --timeout)")
	f.format = fs.String("format", "text", "output: text (a table), json (survey.cells[], survey.boundary[]) or html (a heat map)")
	f.out = fs.StringP("output", "o", "", `write the survey to FILE ("-" or none: stdout)`)
	f.asserts = fs.StringArray("assert", nil, "check a boundary: 'survive(3x) >= 10s' holds when a 3x surge of 10 s is survived (repeatable; exit 1 when one fails)")
	f.quiet = fs.Bool("quiet", false, "no line per cell on stderr")
	f.cf = addClientFlags(fs)
	f.rf = &recoveryFlags{}
	f.rf.register(fs)
	// The demo's clients (profiles surge-recovery): SDK defaults with 3
	// attempts, 1 s timeout; the baseline of its reference target.
	for name, v := range map[string]string{"timeout": "1s", "max-attempts": "3", "rate": "250", "recovery-window": "3s"} {
		fl := fs.Lookup(name)
		_ = fl.Value.Set(v) // the defaults are valid values
		fl.DefValue = v
	}
	fs.Lookup("rate").Usage = "baseline offered load, requests/s, before and after each surge"
	// The survey makes its own schedule and plays as one generator.
	for _, name := range []string{"duration", "phase", "shard", "shards", "start-at", "recovery-warmup"} {
		_ = fs.MarkHidden(name) // registered just above
	}
	return fs, f
}

// runSurvey searches, per multiplier, the longest surge the service
// survives.
func runSurvey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newSurveyFlags(stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("survey: unexpected argument %q (see loadgen survey --help)", fs.Arg(0))
	}
	for _, name := range []string{"duration", "phase", "shard", "shards", "start-at", "recovery-warmup"} {
		if fs.Changed(name) {
			return cli.Usagef("survey: --%s: a survey makes its own schedule (--warmup, the surge, --judge) and plays as one generator", name)
		}
	}
	o, err := f.searchOptions()
	if err != nil {
		return err
	}
	as, err := survey.ParseAssertions(*f.asserts)
	if err != nil {
		return cli.Usagef("survey: --assert: %v", err)
	}
	for _, a := range as {
		if err := a.Check(o); err != nil {
			return cli.Usagef("survey: --assert: %v", err)
		}
	}
	write, err := surveyWriter(*f.format)
	if err != nil {
		return err
	}
	trial, setup, err := f.trial(fs, stderr)
	if err != nil {
		return err
	}
	if trial.Embedded == nil {
		if err := preflight(ctx, "survey", trial.Config, stderr); err != nil {
			return err
		}
	}
	if err := trial.Validate(); err != nil {
		return cli.Usagef("survey: --%v", err)
	}
	if !*f.quiet {
		ms := make([]string, len(o.Multipliers))
		for i, m := range o.Multipliers {
			ms[i] = survey.FormatMultiplier(m)
		}
		fmt.Fprintf(stderr, "survey: seed %d, %s, baseline %g/s, surges of %s for %v..%v\n", setup.Seed, setup.Target, setup.BaselineRPS, strings.Join(ms, ", "), o.Min, o.Max)
		o.Progress = func(c survey.CellResult) {
			rec := ""
			if c.Verdict.Survived() {
				rec = fmt.Sprintf(" in %.1fs", c.Recovery.Seconds())
			}
			fmt.Fprintf(stderr, "survey: cell %d: %s: %s%s (goodput %.0f%% before, %.0f%% after)\n", c.Order, c.Cell, c.Verdict, rec, 100*c.BaselineGoodput, 100*c.AfterGoodput)
		}
	}
	dst, err := openOutput("survey", *f.out, stdout)
	if err != nil {
		return err
	}
	began := time.Now()
	res, searchErr := survey.Search(ctx, o, trial.Play)
	setup.Wall = time.Since(began)
	if searchErr != nil && res == nil {
		dst.Close()
		return cli.Runf("survey: %v", searchErr)
	}
	if searchErr != nil {
		// What was surveyed before the error is still written.
		res.Contradictions = survey.Contradictions(res.Cells)
	}
	rep := &survey.Report{Setup: setup, Result: res, Assertions: survey.Evaluate(as, res)}
	werr := write(dst, rep)
	if cerr := dst.Close(); werr == nil && cerr != nil {
		werr = fmt.Errorf("write %s: %w", *f.out, cerr)
	}
	switch {
	case searchErr != nil:
		return cli.Runf("survey: %v", searchErr)
	case werr != nil:
		return cli.Runf("survey: %v", werr)
	case res.Interrupted && len(res.Cells) == 0:
		return cli.Runf("survey: interrupted before any cell")
	case res.Interrupted:
		return cli.Runf("survey: interrupted after %d cells; the survey so far was written", len(res.Cells))
	}
	for _, b := range res.Boundaries {
		fmt.Fprintf(stderr, "survey: %s survives %s\n", survey.FormatMultiplier(b.Multiplier), b)
	}
	if len(res.Contradictions) > 0 {
		fmt.Fprintf(stderr, "survey: warning: %d contradiction(s) of monotonicity, e.g. %s\n", len(res.Contradictions), res.Contradictions[0])
	}
	if n := survey.Failed(rep.Assertions); n > 0 {
		for _, a := range rep.Assertions {
			if !a.Passed {
				fmt.Fprintf(stderr, "survey: FAIL %s: survives %s\n", a.Expr, a.Actual)
			}
		}
		return cli.Assertion(fmt.Errorf("%d of %d assertions failed", n, len(rep.Assertions)))
	}
	return nil
}

// searchOptions returns the search space of the flags.
func (f surveyFlags) searchOptions() (survey.Options, error) {
	var o survey.Options
	for _, s := range *f.multipliers {
		m, err := survey.ParseMultiplier(s)
		if err != nil {
			return o, cli.Usagef("survey: --multipliers: %v", err)
		}
		o.Multipliers = append(o.Multipliers, m)
	}
	var err error
	if o.Min, o.Max, err = survey.ParseDurations(*f.durations); err != nil {
		return o, cli.Usagef("survey: --durations: %v", err)
	}
	o.Resolution = *f.resolution
	if err := o.Validate(); err != nil {
		return o, cli.Usagef("survey: --%v", err)
	}
	return o, nil
}

// trial returns the trial that plays each cell, and the setup its reports
// show.
func (f surveyFlags) trial(fs *pflag.FlagSet, stderr io.Writer) (*harness.SurveyTrial, survey.Setup, error) {
	cf := f.cf
	t := &harness.SurveyTrial{Baseline: cf.rate, Warmup: *f.warmup, Judge: *f.judge, SlowAfter: *f.slowAfter, Settle: *f.settle, Log: stderr}
	var setup survey.Setup
	if *f.targetConf != "" && *f.preset == "" {
		return nil, setup, cli.Usagef("survey: --target-config configures the embedded target: give --preset too")
	}
	if *f.preset != "" {
		tc, err := target.Preset(*f.preset)
		if err != nil {
			return nil, setup, cli.Usagef("survey: --preset: %v", err)
		}
		if cf.targets != "" {
			return nil, setup, cli.Usagef("survey: --preset and --targets: the embedded target is surveyed on --url, a path")
		}
		if cf.url == "" {
			cf.url = defaultSurveyPath
		}
		if !strings.HasPrefix(cf.url, "/") {
			return nil, setup, cli.Usagef("survey: --url %s: with --preset, a path on the embedded target (e.g. %s)", cf.url, defaultSurveyPath)
		}
		tc.Preset = *f.preset
		if *f.targetConf != "" {
			data, err := os.ReadFile(*f.targetConf)
			if err != nil {
				return nil, setup, cli.Usagef("survey: --target-config: %v", err)
			}
			if tc, err = target.DecodeYAML(tc, true, *f.targetConf, data); err != nil {
				return nil, setup, cli.Usagef("survey: --target-config: %v", err)
			}
		}
		t.Embedded = &tc
		cf.base = "http://127.0.0.1" // replaced by each cell's target
		setup.Target = "embedded " + *f.preset
	}
	cfg, err := cf.workloadConfig(fs)
	if err != nil {
		return nil, setup, err
	}
	if setup.Target == "" {
		setup.Target = cf.url
		if cf.url == "" {
			setup.Target = cf.targets
		}
	}
	rec, err := f.rf.options()
	if err != nil {
		return nil, setup, err
	}
	slo := *f.slo
	switch {
	case slo < 0:
		return nil, setup, cli.Usagef("survey: --slo must not be negative, got %v", slo)
	case slo == 0 && cfg.Retry.Deadline > 0:
		slo = cfg.Retry.Deadline
	case slo == 0:
		slo = cfg.Retry.AttemptTimeout
	}
	t.Config, t.SLO, t.Recovery, t.Seed = cfg, slo, rec, cfg.Seed
	setup.BaselineRPS, setup.Warmup, setup.Judge, setup.SlowAfter, setup.Seed = t.Baseline, t.Warmup, t.Judge, t.SlowAfter, t.Seed
	return t, setup, nil
}

// surveyWriter returns the writer of a survey output format.
func surveyWriter(format string) (func(io.Writer, *survey.Report) error, error) {
	switch format {
	case "text":
		return survey.WriteText, nil
	case "json":
		return survey.WriteJSON, nil
	case "html":
		return survey.WriteHTML, nil
	}
	return nil, cli.Usagef("survey: --format %q: want text, json or html", format)
}
