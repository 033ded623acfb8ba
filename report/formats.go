package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Format is one output format of a run's report: its name as the CLI's
// --format and a profile's report.formats spell it, the file it gets in a
// directory of reports, and how it writes a Summary. The registry of
// formats is FormatList; flags and profiles read it, so they cannot
// disagree.
type Format struct {
	Name  string // as spelled in flags and profiles: text, json, …
	File  string // its file in a directory of reports: report.txt, windows.csv, …
	write func(w io.Writer, s *Summary, opts TextOptions) error
}

// FormatList returns every report format, in the order help lists them:
// text, json, csv, html, hgrm, hlog, junit.
func FormatList() []Format {
	return []Format{
		{"text", "report.txt", WriteText},
		{"json", "report.json", func(w io.Writer, s *Summary, _ TextOptions) error { return WriteJSON(w, s) }},
		{"csv", "windows.csv", func(w io.Writer, s *Summary, _ TextOptions) error { return WriteCSV(w, s) }},
		{"html", "report.html", func(w io.Writer, s *Summary, _ TextOptions) error {
			return WriteHTML(w, HTMLReport{Title: s.Title, Runs: []HTMLRun{{Summary: s}}})
		}},
		{"hgrm", "latency.hgrm", func(w io.Writer, s *Summary, _ TextOptions) error { return WriteHgrm(w, s) }},
		{"hlog", "latency.hlog", func(w io.Writer, s *Summary, _ TextOptions) error { return WriteHlog(w, s) }},
		{"junit", "junit.xml", writeJUnitSummary},
	}
}

// Formats returns the names of the report formats, in FormatList's order.
func Formats() []string {
	list := FormatList()
	names := make([]string, len(list))
	for i, f := range list {
		names[i] = f.Name
	}
	return names
}

// LookupFormat returns the format named name, and whether there is one.
func LookupFormat(name string) (Format, bool) {
	for _, f := range FormatList() {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// WriteFormat writes s in the named format (one of Formats()); text uses
// opts, junit writes s.Assertions as the suite of s.Label ("loadgen" when
// unlabelled).
func WriteFormat(w io.Writer, format string, s *Summary, opts TextOptions) error {
	f, ok := LookupFormat(format)
	if !ok {
		return fmt.Errorf("unknown report format %q (valid: %s)", format, strings.Join(Formats(), ", "))
	}
	return f.write(w, s, opts)
}

// writeJUnitSummary writes s's verdicts as one JUnit suite named after
// the run.
func writeJUnitSummary(w io.Writer, s *Summary, _ TextOptions) error {
	name := s.Label
	if name == "" {
		name = "loadgen"
	}
	return WriteJUnit(w, JUnitSuite{Name: name, Start: s.Start, Duration: time.Duration(s.DurationS * float64(time.Second))}, s.Assertions)
}
