package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
)

// maxHoverPoints bounds the hover targets of one series: longer series
// get every k-th point, so a long run's report stays small.
const maxHoverPoints = 600

// hoverPoint is a data point where the rendered chart puts it (SVG user
// units, y down) and what hovering over it says.
type hoverPoint struct {
	x, y  float64
	title string
}

// hoverPlotter draws nothing: it records where each point of the chart's
// series lands, so that renderChart can put an invisible circle with a
// <title> there (vgsvg cannot write one itself).
type hoverPlotter struct {
	spec   *chartSpec
	height float64 // the canvas height, to turn vg's y-up into SVG's y-down
	out    *[]hoverPoint
}

// Plot implements plot.Plotter.
func (h hoverPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	spec := h.spec
	var lower []float64
	for _, s := range spec.Series {
		if len(s.X) != len(s.Y) {
			continue
		}
		if spec.Stacked && lower == nil {
			lower = make([]float64, len(s.X))
		}
		stride := max(1, (len(s.X)+maxHoverPoints-1)/maxHoverPoints)
		for i, x := range s.X {
			y := s.Y[i]
			top := y
			if spec.Stacked {
				if math.IsNaN(y) {
					y = 0
				}
				top = lower[i] + y
				lower[i] = top
			}
			if i%stride != 0 || math.IsNaN(top) || math.IsInf(top, 0) || math.IsNaN(x) || (spec.LogY && top <= 0) || (spec.PercentileX && x <= 0) {
				continue
			}
			if s.Name == "" || (spec.Stacked && y == 0) {
				continue
			}
			px, py := float64(tx(x)), float64(ty(top))
			if px < float64(c.Min.X)-0.5 || px > float64(c.Max.X)+0.5 || py < float64(c.Min.Y)-0.5 || py > float64(c.Max.Y)+0.5 {
				continue
			}
			*h.out = append(*h.out, hoverPoint{x: px, y: h.height - py, title: s.Name + " · " + spec.xText(x) + ": " + spec.yText(y)})
		}
	}
}

// xText writes an x value as the chart's axis reads it.
func (s *chartSpec) xText(x float64) string {
	if s.PercentileX {
		return "p" + strings.TrimSuffix(fmt.Sprintf("%.4g", 100*(1-1/x)), ".0")
	}
	if s.XLabel == "time (s)" {
		return compactNumber(x) + "s"
	}
	return compactNumber(x) + " " + s.XLabel
}

// yText writes a y value with the chart's unit.
func (s *chartSpec) yText(y float64) string {
	if s.LogY {
		return formatMs(y)
	}
	return compactNumber(round2(y)) + " " + s.YLabel
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// hoverSVG is the group of hover targets to append to a chart's SVG.
func hoverSVG(pts []hoverPoint) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<g class="points" fill="#000" fill-opacity="0" pointer-events="all">`)
	for _, p := range pts {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4"><title>%s</title></circle>`, p.x, p.y, template.HTMLEscapeString(p.title))
	}
	b.WriteString(`</g>`)
	return b.String()
}

// nameSVG gives an inline chart its accessible name: an aria-label on the
// <svg> element and a <title> as its first child.
func nameSVG(svg []byte, name string) []byte {
	esc := template.HTMLEscapeString(name)
	s := string(svg)
	open := strings.Index(s, "<svg ")
	end := strings.Index(s[max(open, 0):], ">")
	if open < 0 || end < 0 {
		return svg
	}
	end += open
	return []byte(s[:end] + ` aria-label="` + esc + `">` + "\n<title>" + esc + "</title>" + s[end+1:])
}
