package report

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/goodput-dev/goodput/results"
)

// htmlSlow is one traced request of the HTML report's slowest-requests
// section: a headline, a Gantt bar and a table of its attempts.
type htmlSlow struct {
	Headline string
	Gantt    template.HTML
	Rows     [][]htmlCell
}

// Gantt bar geometry, in SVG user units.
const (
	ganttWidth  = 640.0
	ganttHeight = 34.0
	ganttBarY   = 4.0
	ganttBarH   = 14.0
	ganttTimeY  = 21.0 // the Server-Timing strip under each attempt
	ganttTimeH  = 5.0
)

// slowestSection builds the slowest-requests section: one Gantt bar per
// request, all on the scale of the slowest, so bars compare at a glance.
func slowestSection(reqs []SlowRequest) []htmlSlow {
	if len(reqs) == 0 {
		return nil
	}
	span := 0.0
	for _, r := range reqs {
		span = max(span, r.LatencyMs)
		for _, a := range r.Attempts {
			span = max(span, a.EndMs)
		}
	}
	span = max(span, 1e-3)
	out := make([]htmlSlow, 0, len(reqs))
	for i, r := range reqs {
		s := htmlSlow{Headline: fmt.Sprintf("#%d %s", i+1, slowHeadline(r)), Gantt: ganttSVG(r, span)}
		for _, a := range r.Attempts {
			row := []htmlCell{num(strconv.Itoa(a.Attempt)), num(formatMsValue(a.StartMs)), num(formatMsValue(a.EndMs)), num(formatMsValue(a.WaitMs)),
				num(statusText(a.Status)), {Text: a.Outcome, Class: outcomeTone(a.Outcome)}}
			if st := a.ServerTiming; st != nil {
				row = append(row, num(formatMsValue(st.Queue)), num(formatMsValue(st.App)), num(formatMsValue(st.Dep)))
			} else {
				row = append(row, num("–"), num("–"), num("–"))
			}
			s.Rows = append(s.Rows, row)
		}
		out = append(out, s)
	}
	return out
}

func outcomeTone(o string) string {
	if o == results.OutcomeOK.String() {
		return "good"
	}
	return "bad"
}

// ganttSVG draws a request's attempts on one line from its intended start
// (x = 0) to span ms: a bar per attempt coloured by outcome, a dotted line
// for each wait, and under each attempt its Server-Timing split (queue,
// app, dependencies) ending where the attempt ends. Every mark has a
// <title>, shown on hover and read by screen readers.
func ganttSVG(r SlowRequest, span float64) template.HTML {
	x := func(ms float64) float64 { return max(0, min(ganttWidth, ms/span*ganttWidth)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="gantt" role="img" viewBox="0 0 %g %g" preserveAspectRatio="none" aria-label="%s">`, ganttWidth, ganttHeight,
		template.HTMLEscapeString(fmt.Sprintf("request %d: %d attempts over %s", r.RequestID, len(r.Attempts), formatMsValue(r.LatencyMs))))
	fmt.Fprintf(&b, `<title>request %d: %s, %s</title>`, r.RequestID, formatMsValue(r.LatencyMs), template.HTMLEscapeString(r.Outcome))
	fmt.Fprintf(&b, `<line x1="0" y1="%g" x2="%g" y2="%g" stroke="#d1d5db" stroke-width="1"/>`, ganttBarY+ganttBarH/2, ganttWidth, ganttBarY+ganttBarH/2)
	prevEnd := 0.0
	for _, a := range r.Attempts {
		if a.WaitMs > 0 {
			fmt.Fprintf(&b, `<line class="wait" x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#6b7280" stroke-width="2" stroke-dasharray="2 2"><title>wait %s before attempt %d</title></line>`,
				x(prevEnd), ganttBarY+ganttBarH/2, x(a.StartMs), ganttBarY+ganttBarH/2, formatMsValue(a.WaitMs), a.Attempt)
		}
		col := results.OutcomeOK
		if o, err := results.ParseOutcome(a.Outcome); err == nil {
			col = o
		}
		x0, x1 := x(a.StartMs), x(a.EndMs)
		fmt.Fprintf(&b, `<rect class="attempt" x="%.1f" y="%g" width="%.1f" height="%g" rx="2" fill="%s"><title>attempt %d: %s → %s, %s, %s</title></rect>`,
			x0, ganttBarY, max(x1-x0, 1), ganttBarH, cssColor(outcomeColor(col)), a.Attempt, formatMsValue(a.StartMs), formatMsValue(a.EndMs),
			statusText(a.Status), template.HTMLEscapeString(a.Outcome))
		if st := a.ServerTiming; st != nil {
			at := a.EndMs - st.Queue - st.App - st.Dep
			for _, part := range []struct {
				name string
				ms   float64
				col  string
			}{{"queue", st.Queue, cssColor(colQueue)}, {"app", st.App, cssColor(colApp)}, {"dependencies", st.Dep, cssColor(colDep)}} {
				if part.ms <= 0 {
					continue
				}
				fmt.Fprintf(&b, `<rect class="timing" x="%.1f" y="%g" width="%.1f" height="%g" fill="%s"><title>attempt %d %s %s</title></rect>`,
					x(at), ganttTimeY, max(x(at+part.ms)-x(at), 0.5), ganttTimeH, part.col, a.Attempt, part.name, formatMsValue(part.ms))
				at += part.ms
			}
		}
		prevEnd = a.EndMs
	}
	b.WriteString(`</svg>`)
	// Every value above is a number or escaped text.
	return template.HTML(b.String())
}
