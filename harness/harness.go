package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/goodput-dev/goodput/harness/metrics"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
)

// Options configure how a scenario is played. The zero value plays
// silently into the scenario's report directory.
type Options struct {
	// Name of the scenario (the profile's name), used as the JUnit suite
	// and in headings; "" gives "scenario".
	Name string
	// OutDir replaces the scenario's report.dir when set.
	OutDir string
	// Stdout receives the text report, the verdicts and the comparison;
	// nil discards them.
	Stdout io.Writer
	// Progress receives the live progress line; nil: none.
	Progress io.Writer
	// Terminal redraws the progress line in place and colours the text
	// report.
	Terminal bool
	// Logger logs fault actions and rollbacks; nil discards.
	Logger *slog.Logger
	// Tool is the tool name and version recorded in results headers.
	Tool string
	// Seed replaces the scenario's seed when not 0.
	Seed uint64
	// Shard is this generator's slice of every variant's schedule in a
	// run shared by several generators; the zero value plays the whole
	// schedule. A sharded play refuses target.embedded; writes
	// <label>.shard-I-of-N.mpk results; applies the faults on the target's
	// admin API only when it is the FaultShard, and the load and proxy
	// faults on every shard (a burst split among them); and evaluates no
	// assertions and writes no reports, which judge the merged shards.
	Shard workload.Shard
	// FaultShard is the index of the shard that applies the faults acting
	// on shared state (the target's admin API); ignored when unsharded.
	FaultShard int
	// StartAt is the agreed wall-clock start of the first variant, shared
	// by every shard; later variants start at instants derived from it.
	// Zero: each variant starts just after it is ready.
	StartAt time.Time
	// Procs is every variant's workload.Config.Procs: the cores the
	// generator runs Go code on (0 leaves GOMAXPROCS alone).
	Procs int
	// AdminToken is the bearer token of an external target's admin API
	// (target.admin); when empty, the scenario's target.admin_token_file
	// is read. AdminTokenFrom names where it came from (a flag, a
	// variable) for the error of a call the target refuses.
	AdminToken, AdminTokenFrom string
	// Metrics, when set, counts every variant's records into live series
	// on this registry, labelled run with the variant's label (see
	// DriveOptions.Metrics); the caller serves it.
	Metrics *metrics.Registry
}

// Variant is what one variant's run amounted to.
type Variant struct {
	Name        string // the variant's name (the scenario's when it has none)
	ResultsFile string
	Summary     *report.Summary
	Verdicts    []report.Verdict
	Interrupted bool
	// FaultError is the fault timeline's error: a fault that failed to
	// apply, or a rollback that failed (what is left in place).
	FaultError error
	// Figures are the run's metrics for assertions and the comparison:
	// the Summary's, plus wasted_work read from the reference target.
	Figures report.Figures
}

// Played is what a play amounted to.
type Played struct {
	Variants    []Variant
	Comparison  *report.Comparison // set when several variants ran
	Failed      int                // failed assertions, all variants
	Interrupted bool               // the context ended the play early
	Files       []string           // reports and results written
	Seed        uint64             // the seed every variant used
	// Surveys are the variants' surge surveys, for a scenario with a
	// survey block (then Variants is empty).
	Surveys []SurveyPlayed
}

// Play runs each resolved variant in order, each against a fresh target,
// and writes the reports. A scenario with a survey block is surveyed
// instead, variant by variant (Played.Surveys). It returns an error when the scenario could not
// be carried out (a *ConfigError before anything ran, ErrUnreachable, an
// I/O error, a fault that failed to roll back); assertion failures are
// counted in Outcome.Failed, and an interrupted play returns the partial
// Outcome with Interrupted set and a nil error.
func Play(ctx context.Context, runs []profiles.Run, opts Options) (*Played, error) {
	if len(runs) == 0 {
		return nil, &ConfigError{errors.New("no scenario to play")}
	}
	if err := checkShard(runs, &opts); err != nil {
		return nil, err
	}
	seed := opts.Seed
	if seed == 0 {
		seed = runs[0].Scenario.Seed
	}
	if seed == 0 && !opts.StartAt.IsZero() {
		// Every shard of one run draws the same seed from the instant
		// they agreed on.
		seed = uint64(opts.StartAt.UnixNano())
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if runs[0].Scenario.Survey != nil {
		return playSurveys(ctx, runs, seed, &opts)
	}
	// Check every variant before running any, so a mistake in the last
	// one does not cost the time of the first.
	preps := make([]*prepared, len(runs))
	for i, r := range runs {
		p, err := prepare(label(r, opts), r.Scenario, seed)
		if err != nil {
			if len(runs) > 1 {
				return nil, &ConfigError{fmt.Errorf("variant %s: %w", r.Name, err)}
			}
			return nil, err
		}
		preps[i] = p
	}
	var starts []time.Time
	if !opts.StartAt.IsZero() {
		starts = variantStarts(opts.StartAt, preps)
	}
	out := &Played{Seed: seed}
	var faultErrs []error
	for i, p := range preps {
		if ctx.Err() != nil {
			out.Interrupted = true
			break
		}
		var start time.Time
		if starts != nil {
			start = starts[i]
		}
		v, err := playVariant(ctx, p, runs[i], start, &opts)
		if err != nil {
			return out, err
		}
		if v.FaultError != nil {
			faultErrs = append(faultErrs, fmt.Errorf("%s: %w", p.label, v.FaultError))
		}
		out.Variants = append(out.Variants, *v)
		out.Files = append(out.Files, v.ResultsFile)
		out.Failed += report.Failed(v.Verdicts)
		if v.Interrupted {
			out.Interrupted = true
			break
		}
	}
	if opts.sharded() {
		writeShardNote(opts.stdout(), out, &opts)
	} else if err := writeReports(out, runs, &opts); err != nil {
		return out, err
	}
	if err := errors.Join(faultErrs...); err != nil {
		return out, fmt.Errorf("faults: %w", err)
	}
	return out, nil
}

// label names a variant's results: the variant's name, or the scenario's.
func label(r profiles.Run, opts Options) string {
	if r.Name != "" {
		return r.Name
	}
	if opts.Name != "" {
		return filepath.Base(opts.Name)
	}
	return "scenario"
}

// outDir is where a scenario's results and reports go.
func outDir(s *profiles.Scenario, opts *Options) string {
	if opts.OutDir != "" {
		return opts.OutDir
	}
	return s.Report.Dir
}

// playVariant starts the variant's target, plays it from agreed (or just
// after it is ready when agreed is zero), stops the target and summarises
// the results file.
func playVariant(ctx context.Context, p *prepared, r profiles.Run, agreed time.Time, opts *Options) (*Variant, error) {
	stdout := opts.stdout()
	if r.Name != "" {
		desc := ""
		if r.Description != "" {
			desc = ": " + r.Description
		}
		fmt.Fprintf(stdout, "== variant %s%s\n", r.Name, desc)
	}
	start := agreed
	if start.IsZero() {
		start = time.Now().Add(startLead)
	}
	var dl net.Listener
	deliverTo := ""
	if p.scenario.Sink.Enabled {
		var err error
		if dl, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start the delivery sink: %w", err)
		}
		defer dl.Close() // the run closes it; this covers a run that never started
		deliverTo = DeliveryURL(dl)
	}
	svc, err := startTarget(ctx, p.scenario, deliverTo, opts)
	if err != nil {
		return nil, err
	}
	if usesProxy(p.scenario) {
		if svc.proxy, err = startProxy(ctx, svc, p.seed); err != nil {
			return nil, errors.Join(err, svc.stop())
		}
	}
	res, playErr := p.play(ctx, svc, start, !agreed.IsZero(), dl, outDir(p.scenario, opts), opts)
	wasted, wastedErr := -1.0, error(nil)
	if playErr == nil && svc.admin != "" {
		wasted, wastedErr = wastedWork(context.WithoutCancel(ctx), svc.admin, svc.token)
	}
	stopErr := svc.stop()
	if playErr != nil {
		return nil, playErr
	}
	if stopErr != nil {
		return nil, fmt.Errorf("stop the reference target: %w", stopErr)
	}
	sum, err := summarize(res.file, p.scenario)
	if err != nil {
		return nil, err
	}
	v := &Variant{Name: p.label, ResultsFile: res.file, Summary: sum, Interrupted: res.interrupted, FaultError: res.faultErr}
	v.Figures = report.FiguresOf(sum)
	switch {
	case wastedErr != nil:
		sum.Warnings = append(sum.Warnings, wastedErr.Error())
	case wasted >= 0:
		v.Figures["wasted_work"] = wasted
	}
	if opts.sharded() {
		fmt.Fprintf(stdout, "shard %s of variant %s:\n", opts.Shard, p.label)
	} else if v.Verdicts, err = evaluate(v.Figures, sum, p.scenario, r.Name); err != nil {
		return nil, err
	}
	sum.Assertions = v.Verdicts
	if err := report.WriteText(stdout, sum, report.TextOptions{Color: opts.Terminal}); err != nil {
		return nil, fmt.Errorf("write the text report: %w", err)
	}
	if len(v.Verdicts) > 0 {
		if err := report.WriteVerdicts(stdout, v.Verdicts); err != nil {
			return nil, fmt.Errorf("write the verdicts: %w", err)
		}
	}
	fmt.Fprintln(stdout)
	return v, nil
}

// summarize reads a results file into a Summary with recovery and, for
// staircases, the tipping point.
func summarize(file string, s *profiles.Scenario) (*report.Summary, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read results %s: %w", file, err)
	}
	defer f.Close()
	rd, err := results.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read results %s: %w", file, err)
	}
	agg := report.NewAggregator(report.Options{Window: s.Report.Window, SLO: s.SLO.Latency})
	if err := agg.AddHeader(rd.Header()); err != nil {
		return nil, fmt.Errorf("read results %s: %w", file, err)
	}
	if err := report.ReadInto(context.Background(), agg, rd); err != nil {
		return nil, fmt.Errorf("read results %s: %w", file, err)
	}
	if err := rd.Truncated(); err != nil {
		agg.Warn(err.Error())
	}
	sum := agg.Summary()
	analyzeRecovery(sum, recoveryOptions(s))
	if report.IsRamp(sum) {
		report.AnalyzeTippingPoint(sum, s.SLO.Latency)
	}
	return sum, nil
}

// analyzeRecovery sets sum.Recovery, judged on the schedule's windows
// only: the windows after it hold the in-flight requests draining with
// nothing offered, which would count as recovered however collapsed the
// service was.
func analyzeRecovery(sum *report.Summary, opts report.RecoveryOptions) {
	sched := *sum
	end := time.Duration(sum.DurationS * float64(time.Second))
	for len(sched.Windows) > 0 && sched.Windows[len(sched.Windows)-1].Start() >= end {
		sched.Windows = sched.Windows[:len(sched.Windows)-1]
	}
	report.AnalyzeRecovery(&sched, opts)
	sum.Recovery = sched.Recovery
}

// evaluate checks the scenario's assertions that apply to the variant.
func evaluate(figures report.Figures, sum *report.Summary, s *profiles.Scenario, variant string) ([]report.Verdict, error) {
	var exprs []string
	for _, a := range s.Assert {
		if a.Variant == "" || a.Variant == variant {
			exprs = append(exprs, a.Expr())
		}
	}
	if len(exprs) == 0 {
		return nil, nil
	}
	as, err := report.ParseAssertions(exprs)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("assert: %w", err)}
	}
	return report.Evaluate(as, figures, report.ScopesOf(sum)), nil
}

func (o *Options) stdout() io.Writer {
	if o.Stdout != nil {
		return o.Stdout
	}
	return io.Discard
}
