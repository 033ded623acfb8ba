package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/survey"
)

// SurveyPlayed is one variant's surge survey.
type SurveyPlayed struct {
	Name   string // the variant's name (the scenario's when it has none)
	Report *survey.Report
}

// playSurveys surveys each variant of a scenario with a survey block in
// turn, writes each survey's text to Stdout and its json and html forms
// (as the scenario's report.formats ask) to the output directory as
// survey-LABEL.json and survey-LABEL.html.
func playSurveys(ctx context.Context, runs []profiles.Run, seed uint64, opts *Options) (*Played, error) {
	if opts.sharded() {
		return nil, &ConfigError{errors.New("survey: a surge survey plays as one generator, it cannot be sharded")}
	}
	trials := make([]*SurveyTrial, len(runs))
	for i, r := range runs {
		t, err := surveyTrial(label(r, *opts), r.Scenario, seed, opts)
		if err != nil {
			if len(runs) > 1 {
				return nil, &ConfigError{fmt.Errorf("variant %s: %w", r.Name, err)}
			}
			return nil, err
		}
		trials[i] = t
	}
	out := &Played{Seed: seed}
	stdout := opts.stdout()
	for i, r := range runs {
		if ctx.Err() != nil {
			out.Interrupted = true
			break
		}
		name := label(r, *opts)
		if r.Name != "" {
			desc := ""
			if r.Description != "" {
				desc = ": " + r.Description
			}
			fmt.Fprintf(stdout, "== variant %s%s\n", r.Name, desc)
		}
		s, t := r.Scenario, trials[i]
		if s.Target.Embedded == nil {
			svc, err := startTarget(ctx, s, "", opts) // checks that the URL answers
			if err != nil {
				return out, err
			}
			if err := svc.stop(); err != nil {
				return out, err
			}
		}
		o := surveyOptions(s.Survey)
		if opts.Progress != nil {
			o.Progress = func(c survey.CellResult) {
				fmt.Fprintf(opts.Progress, "survey %s: cell %d: %s: %s\n", name, c.Order, c.Cell, c.Verdict)
			}
		}
		began := time.Now()
		res, err := survey.Search(ctx, o, t.Play)
		if err != nil {
			return out, fmt.Errorf("survey %s: %w", name, err)
		}
		var as []survey.Assertion
		for _, a := range s.Survey.Assert {
			if a.Variant == "" || a.Variant == r.Name {
				sa, err := survey.ParseAssertion(a.Expr)
				if err != nil {
					return out, &ConfigError{fmt.Errorf("survey.assert: %w", err)} // the profile validated it
				}
				as = append(as, sa)
			}
		}
		target := s.Target.URL
		if e := s.Target.Embedded; e != nil {
			target = "embedded " + string(e.Preset)
		}
		rep := &survey.Report{
			Setup:      survey.Setup{Target: target, BaselineRPS: t.Baseline, Warmup: t.Warmup, Judge: t.Judge, SlowAfter: t.SlowAfter, Seed: seed, Wall: time.Since(began)},
			Result:     res,
			Assertions: survey.Evaluate(as, res),
		}
		out.Surveys = append(out.Surveys, SurveyPlayed{Name: name, Report: rep})
		out.Failed += survey.Failed(rep.Assertions)
		if err := survey.WriteText(stdout, rep); err != nil {
			return out, err
		}
		fmt.Fprintln(stdout)
		files, err := writeSurvey(rep, name, outDir(s, opts), s.Report.Formats)
		out.Files = append(out.Files, files...)
		if err != nil {
			return out, err
		}
		if res.Interrupted {
			out.Interrupted = true
			break
		}
	}
	for _, f := range out.Files {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	return out, nil
}

// surveyOptions returns the search space of a survey block.
func surveyOptions(sv *profiles.Survey) survey.Options {
	return survey.Options{Multipliers: sv.Multipliers, Min: sv.Durations.Min, Max: sv.Durations.Max, Resolution: sv.Resolution}
}

// surveyTrial returns the trial that plays the cells of scenario s.
func surveyTrial(label string, s *profiles.Scenario, seed uint64, opts *Options) (*SurveyTrial, error) {
	p, err := prepare(label, s, seed)
	if err != nil {
		return nil, err
	}
	cfg, err := p.loadConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg.BaseURL = s.Target.URL
	sv := s.Survey
	tr := &SurveyTrial{
		Config:   cfg,
		Baseline: float64(sv.Rate), Warmup: sv.Warmup, Judge: sv.Judge, SlowAfter: sv.SlowAfter, Settle: sv.Settle,
		SLO:      s.SLO.Latency,
		Recovery: recoveryOptions(s),
		Seed:     seed,
		Log:      opts.Progress,
	}
	if s.Target.Embedded != nil {
		tc, err := targetConfig(s)
		if err != nil {
			return nil, err
		}
		tr.Embedded = &tc
	}
	if err := tr.Validate(); err != nil {
		return nil, &ConfigError{fmt.Errorf("survey: %w", err)}
	}
	return tr, nil
}

// writeSurvey writes rep in the file formats of formats (json, html) to
// dir, named after the variant, and returns the files written.
func writeSurvey(rep *survey.Report, name, dir string, formats []profiles.Format) ([]string, error) {
	var files []string
	for _, f := range formats {
		var write func(*os.File) error
		switch f {
		case profiles.FormatJSON:
			write = func(w *os.File) error { return survey.WriteJSON(w, rep) }
		case profiles.FormatHTML:
			write = func(w *os.File) error { return survey.WriteHTML(w, rep) }
		default:
			continue // text went to stdout; the run reports do not apply
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return files, fmt.Errorf("create the report directory: %w", err)
		}
		path := filepath.Join(dir, "survey-"+name+"."+string(f))
		fh, err := os.Create(path)
		if err != nil {
			return files, fmt.Errorf("write %s: %w", path, err)
		}
		werr := write(fh)
		if err := errors.Join(werr, fh.Close()); err != nil {
			return files, fmt.Errorf("write %s: %w", path, err)
		}
		files = append(files, path)
	}
	return files, nil
}
