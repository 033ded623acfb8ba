package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/report"
)

// writeReports prints the comparison and recovery verdicts of a play and
// writes its json, html and junit files (one for the play) and csv, hgrm
// and hlog files (one per variant) as the scenario asks.
func writeReports(out *Played, runs []profiles.Run, opts *Options) error {
	if len(out.Variants) == 0 {
		return nil
	}
	s := runs[0].Scenario
	stdout := opts.stdout()
	if len(out.Variants) > 1 {
		cr := make([]report.CompareRun, len(out.Variants))
		for i, v := range out.Variants {
			cr[i] = report.CompareRun{Label: v.Name, Figures: v.Figures}
			if v.Summary != nil {
				cr[i].Routes = report.RouteFigures(v.Summary)
			}
		}
		c := report.Compare(cr)
		out.Comparison = &c
		fmt.Fprintln(stdout, "== comparison")
		if err := c.WriteText(stdout); err != nil {
			return fmt.Errorf("write the comparison: %w", err)
		}
		fmt.Fprintln(stdout)
	}
	writeRecoveryVerdicts(stdout, out)
	dir := outDir(s, opts)
	paths := map[profiles.Format]string{
		profiles.FormatJSON:  orDefault(s.Report.JSON, dir, "report.json"),
		profiles.FormatHTML:  orDefault(s.Report.HTML, dir, "report.html"),
		profiles.FormatJUnit: orDefault(s.Report.JUnit, dir, "junit.xml"),
	}
	for _, f := range s.Report.Formats {
		if f == profiles.FormatText {
			continue // text went to stdout
		}
		path, ok := paths[f]
		if !ok {
			// A format of one run (csv, hgrm, hlog): one file per variant.
			rf, _ := report.LookupFormat(string(f))
			for _, v := range out.Variants {
				name := rf.File
				if len(out.Variants) > 1 {
					name = v.Name + "." + name
				}
				var buf bytes.Buffer
				if err := report.WriteFormat(&buf, rf.Name, v.Summary, report.TextOptions{}); err != nil {
					return fmt.Errorf("render the %s report of %s: %w", f, v.Name, err)
				}
				if err := writeReportFile(out, stdout, filepath.Join(dir, name), f, buf.Bytes()); err != nil {
					return err
				}
			}
			continue
		}
		var buf bytes.Buffer
		var err error
		switch f {
		case profiles.FormatJSON:
			err = writeJSON(&buf, out)
		case profiles.FormatHTML:
			err = writeHTML(&buf, out, opts)
		case profiles.FormatJUnit:
			err = writeJUnit(&buf, out, opts)
		}
		if err != nil {
			return fmt.Errorf("render the %s report: %w", f, err)
		}
		if err := writeReportFile(out, stdout, path, f, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeReportFile writes a rendered report to path and lists it in out.
func writeReportFile(out *Played, stdout io.Writer, path string, f profiles.Format, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the %s report: %w", f, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write the %s report: %w", f, err)
	}
	out.Files = append(out.Files, path)
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}

func orDefault(path, dir, name string) string {
	if path != "" {
		return path
	}
	return filepath.Join(dir, name)
}

// writeRecoveryVerdicts prints one line per variant: recovered in how
// long, not recovered, or metastable.
func writeRecoveryVerdicts(w io.Writer, out *Played) {
	shown := false
	for _, v := range out.Variants {
		rec := v.Summary.Recovery
		if rec == nil || len(rec.Disturbances) == 0 {
			continue
		}
		if !shown {
			fmt.Fprintln(w, "== recovery")
			shown = true
		}
		switch {
		case rec.Recovered:
			fmt.Fprintf(w, "%-14s recovered in %v\n", v.Name, rec.RecoveryTime().Round(100*time.Millisecond))
		case rec.Metastable:
			fmt.Fprintf(w, "%-14s NOT recovered: metastable (the trigger ended, the collapse did not)\n", v.Name)
		default:
			fmt.Fprintf(w, "%-14s NOT recovered before the run ended\n", v.Name)
		}
	}
	if out.Interrupted {
		fmt.Fprintln(w, "the run was interrupted: the reports cover the partial run")
	}
	total := 0
	for _, v := range out.Variants {
		total += len(v.Verdicts)
	}
	switch {
	case total == 0:
	case out.Failed == 0:
		fmt.Fprintf(w, "verdict: all %d assertions passed\n", total)
	default:
		fmt.Fprintf(w, "verdict: %d of %d assertions FAILED\n", out.Failed, total)
	}
	fmt.Fprintln(w)
}

// writeJSON writes the summary of a single variant, or every variant's
// and their comparison.
func writeJSON(w io.Writer, out *Played) error {
	if len(out.Variants) == 1 {
		return report.WriteJSON(w, out.Variants[0].Summary)
	}
	doc := struct {
		Variants []*report.Summary `json:"variants"`
		Compare  json.RawMessage   `json:"compare,omitempty"`
	}{}
	for _, v := range out.Variants {
		doc.Variants = append(doc.Variants, v.Summary)
	}
	if out.Comparison != nil {
		var buf bytes.Buffer
		if err := out.Comparison.WriteJSON(&buf); err != nil {
			return err
		}
		doc.Compare = buf.Bytes()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// writeJUnit writes one test case per assertion and variant, named
// "VARIANT: assertion" when there are several variants.
func writeJUnit(w io.Writer, out *Played, opts *Options) error {
	var vs []report.Verdict
	var took time.Duration
	for _, v := range out.Variants {
		for _, vd := range v.Verdicts {
			vs = append(vs, labelled(vd, v.Name, len(out.Variants) > 1))
		}
		took += time.Duration(v.Summary.DurationS * float64(time.Second))
	}
	name := opts.Name
	if name == "" {
		name = "scenario"
	}
	return report.WriteJUnit(w, report.JUnitSuite{Name: name, Start: out.Variants[0].Summary.Start, Duration: took}, vs)
}

// writeHTML writes one self-contained HTML report: the run, or the
// variants side by side with their comparison.
func writeHTML(w io.Writer, out *Played, opts *Options) error {
	r := report.HTMLReport{Title: "goodput: " + opts.Name, Comparison: out.Comparison, Generated: time.Now()}
	if opts.Name == "" {
		r.Title = ""
	}
	for _, v := range out.Variants {
		r.Runs = append(r.Runs, report.HTMLRun{Label: v.Name, Summary: v.Summary})
		for _, vd := range v.Verdicts {
			r.Verdicts = append(r.Verdicts, labelled(vd, v.Name, len(out.Variants) > 1))
		}
	}
	return report.WriteHTML(w, r)
}

// labelled prefixes a verdict with its variant's name when a play had
// several variants, so one list (JUnit, HTML) tells them apart.
func labelled(vd report.Verdict, variant string, several bool) report.Verdict {
	if several {
		vd.Assertion.Expr = variant + ": " + vd.Assertion.Expr
		vd.Message = variant + ": " + vd.Message
	}
	return vd
}
