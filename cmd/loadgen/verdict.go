package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/report"
)

// verdictFlags holds the analysis and CI verdict flags of report and
// ramp: register them with addVerdictFlags, check them with parse before
// reading anything, then analyze each summary and finish.
type verdictFlags struct {
	recoveryFlags
	asserts    []string
	junit      string
	assertions []report.Assertion
}

// recoveryFlags holds the recovery tolerances, shared with compare.
type recoveryFlags struct {
	recWarmUp   time.Duration
	recWindow   time.Duration
	recGoodput  float64
	recP99      float64
	recoveryOpt report.RecoveryOptions // set by parse
}

// addVerdictFlags registers --assert, --junit and the recovery tolerances
// on fs.
func addVerdictFlags(fs *pflag.FlagSet) *verdictFlags {
	v := &verdictFlags{}
	fs.StringArrayVar(&v.asserts, "assert", nil, "check METRIC OP VALUE, e.g. 'p99 < 250ms', 'phase(surge).shed_ratio < 0.5' (repeatable; exit 1 when one fails; docs/assertions.md)")
	fs.StringVar(&v.junit, "junit", "", "also write the assertions' verdicts as JUnit XML to FILE")
	v.recoveryFlags.register(fs)
	return v
}

// register adds the recovery tolerance flags to fs.
func (r *recoveryFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&r.recWarmUp, "recovery-warmup", 0, "leave this much of the run's start out of the recovery baseline (default: a first phase named warm…)")
	fs.DurationVar(&r.recWindow, "recovery-window", report.DefaultRecoveryWindow, "how long goodput and p99 must stay within tolerance to count as recovered")
	fs.Float64Var(&r.recGoodput, "recovery-goodput", report.DefaultRecoveryGoodput, "recovered: goodput ≥ this fraction of the offered rate")
	fs.Float64Var(&r.recP99, "recovery-p99-factor", report.DefaultRecoveryP99Factor, "recovered: p99 ≤ max(this × baseline p99, SLO)")
}

// options checks the recovery flags and returns them as options; errors
// are usage errors.
func (r *recoveryFlags) options() (report.RecoveryOptions, error) {
	if r.recWindow <= 0 {
		return report.RecoveryOptions{}, cli.Usagef("--recovery-window must be positive, got %v", r.recWindow)
	}
	if r.recWarmUp < 0 {
		return report.RecoveryOptions{}, cli.Usagef("--recovery-warmup must not be negative, got %v", r.recWarmUp)
	}
	if !(r.recGoodput > 0 && r.recGoodput <= 1) {
		return report.RecoveryOptions{}, cli.Usagef("--recovery-goodput must be in (0, 1], got %v", r.recGoodput)
	}
	if !(r.recP99 >= 1) {
		return report.RecoveryOptions{}, cli.Usagef("--recovery-p99-factor must be ≥ 1, got %v", r.recP99)
	}
	return report.RecoveryOptions{Window: r.recWindow, Goodput: r.recGoodput, P99Factor: r.recP99, WarmUp: r.recWarmUp}, nil
}

// analyzeRun adds recovery (when the run had disturbances) and the
// tipping point (when it is a stepped ramp) to s.
func analyzeRun(s *report.Summary, opts report.RecoveryOptions) {
	report.AnalyzeRecovery(s, opts)
	if report.IsRamp(s) {
		report.AnalyzeTippingPoint(s, 0)
	}
}

// parse checks the flags and parses the assertions; every error is a
// usage error, given before any file is read or any load is sent.
func (v *verdictFlags) parse() error {
	opts, err := v.options()
	if err != nil {
		return err
	}
	as, err := report.ParseAssertions(v.asserts)
	if err != nil {
		return cli.Usagef("--assert: %v", err)
	}
	v.assertions = as
	v.recoveryOpt = opts
	return nil
}

// analyze adds recovery (when the run had disturbances), the tipping point
// (when it is a stepped ramp) and the assertions' verdicts to s.
func (v *verdictFlags) analyze(s *report.Summary) {
	analyzeRun(s, v.recoveryOpt)
	if len(v.assertions) > 0 {
		s.Assertions = report.Evaluate(v.assertions, report.FiguresOf(s), report.ScopesOf(s))
	}
}

// finish prints the verdicts on stderr, writes the JUnit file, and
// returns an assertion error (exit 1) when any assertion failed.
func (v *verdictFlags) finish(s *report.Summary, stderr io.Writer) error {
	if len(v.assertions) == 0 {
		if v.junit != "" {
			return v.writeJUnit(s)
		}
		return nil
	}
	if err := report.WriteVerdicts(stderr, s.Assertions); err != nil {
		return cli.Runf("%v", err)
	}
	if v.junit != "" {
		if err := v.writeJUnit(s); err != nil {
			return err
		}
	}
	if n := report.Failed(s.Assertions); n > 0 {
		return cli.Assertion(fmt.Errorf("%d of %d assertions failed", n, len(s.Assertions)))
	}
	return nil
}

func (v *verdictFlags) writeJUnit(s *report.Summary) error {
	f, err := os.Create(v.junit)
	if err != nil {
		return cli.Usagef("--junit: %v", err)
	}
	err = report.WriteFormat(f, "junit", s, report.TextOptions{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cli.Runf("write %s: %v", v.junit, err)
	}
	return nil
}

// reportFormats are the formats of "loadgen report": package report's
// registry.
func reportFormats() []string { return report.Formats() }

// writeReport writes s in format; the text format ends with the recovery
// verdict and the ramp's curve when the run has them.
func writeReport(w io.Writer, format string, s *report.Summary, opts report.TextOptions) error {
	switch format {
	case "text":
		if err := report.WriteFormat(w, format, s, opts); err != nil {
			return err
		}
		if s.Recovery != nil {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
			if err := s.Recovery.WriteText(w); err != nil {
				return err
			}
		}
		if s.TippingPoint != nil {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
			return s.TippingPoint.WriteText(w)
		}
		return nil
	}
	return report.WriteFormat(w, format, s, opts)
}
