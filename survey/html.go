package survey

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed html.tmpl
var htmlText string

// htmlPage is parsed once per call: WriteHTML keeps no package state.
func htmlPage() (*template.Template, error) {
	return template.New("survey").Parse(htmlText)
}

// htmlCell is one square of the heat map.
type htmlCell struct {
	Class string // recovered, slow, metastable or untried
	Text  string // the verdict as shown
	Time  string // the recovery time, "" when none
	Label string // the accessible name: what the cell says in full
	Order int    // when it was played, from 1; 0 untried
	Edge  bool   // the last surviving duration of the row's boundary
}

type htmlRow struct {
	Multiplier string
	Boundary   string
	Cells      []htmlCell
}

type htmlData struct {
	Title          string
	Summary        string
	Durations      []string
	Rows           []htmlRow
	Contradictions []string
	Assertions     []Checked
	Failed         int
	Interrupted    bool
}

// WriteHTML writes the survey as a self-contained HTML page (no script,
// no external resource): a heat map with a row per multiplier (the largest
// on top) and a column per duration played, each cell coloured by its
// verdict and showing its recovery time, then the boundaries, the
// contradictions and the assertions.
func WriteHTML(w io.Writer, rep *Report) error {
	t, err := htmlPage()
	if err != nil {
		return fmt.Errorf("survey HTML template: %w", err)
	}
	r := rep.Result
	ds := durationsTried(r.Cells)
	d := htmlData{
		Title:       "goodput survey · " + rep.Setup.Target,
		Summary:     rep.summaryLine(),
		Assertions:  rep.Assertions,
		Failed:      Failed(rep.Assertions),
		Interrupted: r.Interrupted,
	}
	for _, x := range ds {
		d.Durations = append(d.Durations, x.String())
	}
	for _, m := range sortedMultipliers(r.Options.Multipliers) {
		row := htmlRow{Multiplier: FormatMultiplier(m), Boundary: r.boundaryText(m)}
		b, finished := r.Boundary(m)
		for _, x := range ds {
			c, ok := cellAt(r.Cells, m, x)
			row.Cells = append(row.Cells, heatCell(c, ok, m, x, finished && b.Bound != BelowMin && b.Survived == x))
		}
		d.Rows = append(d.Rows, row)
	}
	for _, c := range r.Contradictions {
		d.Contradictions = append(d.Contradictions, c.String())
	}
	if err := t.Execute(w, d); err != nil {
		return fmt.Errorf("write the survey HTML: %w", err)
	}
	return nil
}

// heatCell is the square of cell c (played when ok) at multiplier m and
// duration x.
func heatCell(c CellResult, ok bool, m float64, x time.Duration, edge bool) htmlCell {
	name := FormatMultiplier(m) + " for " + x.String()
	if !ok {
		return htmlCell{Class: "untried", Text: "·", Label: name + ": not played"}
	}
	h := htmlCell{Class: string(c.Verdict), Text: string(c.Verdict), Order: c.Order, Edge: edge}
	if c.Verdict.Survived() {
		h.Time = formatSeconds(c.Recovery)
		h.Label = fmt.Sprintf("%s: %s, recovery %s (cell %d)", name, c.Verdict, h.Time, c.Order)
	} else {
		h.Label = fmt.Sprintf("%s: %s, not recovered (cell %d)", name, c.Verdict, c.Order)
	}
	return h
}
