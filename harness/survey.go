package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/survey"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/workload"
)

// ErrNotSettled is returned by a survey trial against a running service
// that did not hold its baseline within SurveyTrial.Settle before a cell.
var ErrNotSettled = errors.New("the service did not come back to its baseline")

// SurveyTrial plays the cells of a survey for real: for each cell, the
// baseline for Warmup, the baseline times the cell's multiplier for the
// cell's duration, then the baseline for Judge, over which recovery from
// the surge is judged (report.AnalyzeRecovery with Recovery). Each cell
// starts from a recovered service: against the reference target
// (Embedded) a fresh target per cell, against a running service a wait
// until its baseline holds. Not safe for concurrent use: cells play one
// after another.
type SurveyTrial struct {
	// Config is the load of every cell: the mix, the clients, the
	// connections. Its Schedule, Seed and Start are set per cell (Seed
	// to survey.CellSeed(Seed, cell)); with Embedded, its BaseURL too.
	Config workload.Config
	// Embedded, when set, is the reference target's configuration; each
	// cell starts a fresh one on 127.0.0.1, seeded with the cell's seed.
	// Nil: the cells go to Config's URLs.
	Embedded *target.Config
	// Baseline is the offered rate before and after each surge,
	// requests/s.
	Baseline float64
	// Warmup is the baseline before the surge; Judge the baseline after
	// it. Judge must hold at least two recovery windows for a cell that
	// does not recover to count as metastable.
	Warmup, Judge time.Duration
	// SlowAfter is the recovery time beyond which a cell is slow.
	SlowAfter time.Duration
	// SLO is the latency objective of goodput.
	SLO time.Duration
	// Recovery is the tolerance of recovery detection (its SLO is SLO).
	Recovery report.RecoveryOptions
	// Seed is the survey's seed.
	Seed uint64
	// Settle bounds the wait for a running service's baseline to hold
	// before a cell (ErrNotSettled when it does not); ignored with
	// Embedded.
	Settle time.Duration
	// Log receives a line per probe of the wait; nil discards.
	Log io.Writer
}

// Validate checks the trial's timing, naming the flag-like field.
func (t *SurveyTrial) Validate() error {
	rec := t.Recovery
	if rec.Window <= 0 {
		rec.Window = report.DefaultRecoveryWindow
	}
	switch {
	case !(t.Baseline > 0):
		return fmt.Errorf("baseline rate: %v, want > 0 requests/s", t.Baseline)
	case t.Warmup < 2*time.Second:
		return fmt.Errorf("warmup: %v, want ≥ 2s: recovery is judged against the baseline it measures", t.Warmup)
	case t.Judge < 2*rec.Window:
		return fmt.Errorf("judge: %v, want ≥ 2 × the recovery window (%v) to tell metastable from slow", t.Judge, rec.Window)
	case t.Embedded == nil && t.Settle <= 0:
		return fmt.Errorf("settle: %v, want > 0 against a running service", t.Settle)
	}
	return nil
}

// ErrBaselineNotHeld is returned by a survey trial whose cell, played
// BaselineTries times, never held its baseline before the surge: the
// service, or the machine the load runs on, cannot carry the baseline,
// and a verdict on the surge would mean nothing.
var ErrBaselineNotHeld = errors.New("the baseline did not hold before the surge")

// BaselineTries is how many times a cell is played when its baseline did
// not hold before the surge (goodput below the recovery tolerance).
const BaselineTries = 3

// Play plays cell c and classifies it. It is a survey.Trial. A cell whose
// baseline did not hold before the surge is played again, from a
// recovered service, up to BaselineTries times in all; then the trial
// fails with ErrBaselineNotHeld.
func (t *SurveyTrial) Play(ctx context.Context, c survey.Cell) (survey.Outcome, error) {
	want := t.Recovery.Goodput
	if want <= 0 {
		want = report.DefaultRecoveryGoodput
	}
	var out survey.Outcome
	for try := 1; try <= BaselineTries; try++ {
		var err error
		if out, err = t.play(ctx, c); err != nil || out.BaselineGoodput >= want {
			return out, err
		}
		if t.Log != nil {
			fmt.Fprintf(t.Log, "survey: %s: the baseline did not hold before the surge (goodput %.0f%% of %g/s, want ≥ %.0f%%), try %d of %d\n", c, 100*out.BaselineGoodput, t.Baseline, 100*want, try, BaselineTries)
		}
	}
	return out, fmt.Errorf("%w: goodput %.0f%% of %g/s in %d tries, want ≥ %.0f%%: lower the baseline rate, or give the load more CPU", ErrBaselineNotHeld, 100*out.BaselineGoodput, t.Baseline, BaselineTries, 100*want)
}

// play plays cell c once.
func (t *SurveyTrial) play(ctx context.Context, c survey.Cell) (survey.Outcome, error) {
	seed := survey.CellSeed(t.Seed, c)
	cfg := t.Config
	cfg.Seed, cfg.Start = seed, time.Time{}
	var stop func() error
	if t.Embedded != nil {
		tc := *t.Embedded
		tc.Seed = seed
		svc, err := startEmbedded(ctx, tc)
		if err != nil {
			return survey.Outcome{}, err
		}
		stop = svc.stop
		cfg.BaseURL = svc.url
	} else if err := t.settle(ctx, cfg); err != nil {
		return survey.Outcome{}, err
	}
	phases := []workload.Phase{
		{Name: "baseline", Duration: t.Warmup, From: t.Baseline, To: t.Baseline},
		{Name: "surge", Duration: c.Duration, From: t.Baseline * c.Multiplier, To: t.Baseline * c.Multiplier},
		{Name: "after", Duration: t.Judge, From: t.Baseline, To: t.Baseline},
	}
	sum, err := t.drive(ctx, cfg, phases)
	if stop != nil {
		err = errors.Join(err, stop())
	}
	if err != nil {
		return survey.Outcome{}, err
	}
	if ctx.Err() != nil {
		return survey.Outcome{}, ctx.Err()
	}
	// The surge is a disturbance whatever its multiplier (a phase counts
	// as a surge by itself only at 1.5× its neighbours).
	sum.Disturbances = append(sum.Disturbances, report.Disturbance{Name: "surge", StartS: t.Warmup.Seconds(), EndS: (t.Warmup + c.Duration).Seconds(), Removed: true})
	rec := t.Recovery
	rec.SLO = t.SLO
	rec.WarmUp = time.Second // the target's own first second
	analyzeRecovery(sum, rec)
	out := survey.Outcome{Seed: seed, BaselineGoodput: -1, AfterGoodput: -1}
	if len(sum.Phases) == 3 {
		out.AfterGoodput = sum.Phases[2].GoodputRatio
	}
	r := sum.Recovery
	if r == nil {
		return out, errors.New("no recovery verdict: the surge was not seen")
	}
	if r.Baseline.Windows > 0 {
		// The baseline recovery is judged against: its windows after the
		// target's first second.
		out.BaselineGoodput = r.Baseline.GoodputRatio
	}
	out.Verdict = survey.Classify(r.Recovered, r.RecoveryTime(), t.SlowAfter)
	if out.Verdict.Survived() {
		out.Recovery = r.RecoveryTime()
	}
	return out, nil
}

// drive plays phases with cfg and returns their summary.
func (t *SurveyTrial) drive(ctx context.Context, cfg workload.Config, phases []workload.Phase) (*report.Summary, error) {
	sched, err := workload.NewSchedule(phases...)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	cfg.Schedule = sched
	d, err := NewDriver(cfg)
	if err != nil {
		return nil, err
	}
	driven, err := d.Run(ctx, DriveOptions{
		Name:      "survey",
		Header:    results.Header{Tool: "goodput/loadgen survey", Seed: cfg.Seed, SLO: t.SLO, Phases: phaseInfos(phases)},
		Summarize: &report.Options{SLO: t.SLO, Slowest: -1},
		SLO:       t.SLO,
	})
	if err != nil {
		return nil, err
	}
	if c := driven.Counts; c.Attempts > 0 && c.Answered == 0 && !driven.Interrupted {
		return nil, fmt.Errorf("%w: none of the %d attempts got an HTTP answer (%s)", ErrUnreachable, c.Attempts, c.TopError)
	}
	return driven.Summary, nil
}

// settle waits until a running service holds its baseline: goodput ≥
// Recovery.Goodput × offered over one recovery window of baseline load,
// probing again until Settle has passed.
func (t *SurveyTrial) settle(ctx context.Context, cfg workload.Config) error {
	rec := t.Recovery
	if rec.Window <= 0 {
		rec.Window = report.DefaultRecoveryWindow
	}
	if rec.Goodput <= 0 {
		rec.Goodput = report.DefaultRecoveryGoodput
	}
	deadline := time.Now().Add(t.Settle)
	probe := []workload.Phase{{Name: "settle", Duration: rec.Window, From: t.Baseline, To: t.Baseline}}
	for n := 1; ; n++ {
		sum, err := t.drive(ctx, cfg, probe)
		if err != nil {
			return fmt.Errorf("wait for the baseline: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if sum.GoodputRatio >= rec.Goodput {
			return nil
		}
		if t.Log != nil {
			fmt.Fprintf(t.Log, "survey: waiting for the baseline to hold: goodput %.0f%% of %g/s over %v (probe %d)\n", 100*sum.GoodputRatio, t.Baseline, rec.Window, n)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w within %v: goodput %.0f%% of the offered %g/s, want ≥ %.0f%% over %v", ErrNotSettled, t.Settle, 100*sum.GoodputRatio, t.Baseline, 100*rec.Goodput, rec.Window)
		}
	}
}
