package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/goodput-dev/goodput/results"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chartSeries is one line (or stacked band) of a chart.
type chartSeries struct {
	Name   string
	X, Y   []float64 // equal lengths; NaN in Y breaks the line
	Color  color.Color
	Dashed bool
	Width  vg.Length // 0: 1.6 pt
	Points bool      // draw a dot at each point
}

// chartShade is a shaded stretch of the x axis (a disturbance).
type chartShade struct {
	From, To float64
	Label    string
}

// chartMark is a vertical marker line at X (a tipping point).
type chartMark struct {
	X     float64
	Label string
	Color color.Color
}

// chartSpec describes one chart. Titles and legends are drawn by the HTML
// around it, so the SVG holds only the axes and the data.
type chartSpec struct {
	XLabel, YLabel string
	Series         []chartSeries
	// Stacked draws the series as bands stacked on one another, in order,
	// filling each band; every series must share X.
	Stacked bool
	LogY    bool
	// PercentileX makes the x axis a 1/(1−p) log axis labelled with
	// percentiles: X values are 1/(1−p).
	PercentileX bool
	// YFromZero keeps 0 in the y range of linear charts; XFromZero the
	// same for x (time axes start at the run's start).
	YFromZero bool
	XFromZero bool
	Shades    []chartShade
	// Gaps are stretches where the series have no value to draw (windows
	// without a successful request), shaded and labelled so a gap is
	// not mistaken for missing data.
	Gaps []chartShade
	// Limited are stretches of generator-limited windows (Window.
	// GeneratorLimited): shaded in their own colour so the generator's
	// lag is not read as the service's latency.
	Limited []chartShade
	Marks   []chartMark
	Width   vg.Length // 0: 520 pt
	Height  vg.Length // 0: 230 pt
}

// Chart palette: readable on white, distinct for the common colour
// blindnesses where it matters (goodput vs throughput).
var (
	colOffered    = color.RGBA{R: 0x6b, G: 0x72, B: 0x80, A: 0xff}
	colThroughput = color.RGBA{R: 0x25, G: 0x63, B: 0xeb, A: 0xff}
	colGoodput    = color.RGBA{R: 0x05, G: 0x96, B: 0x69, A: 0xff}
	colP50        = color.RGBA{R: 0x0e, G: 0xa5, B: 0xe9, A: 0xff}
	colP90        = color.RGBA{R: 0x63, G: 0x66, B: 0xf1, A: 0xff}
	colP99        = color.RGBA{R: 0xd9, G: 0x46, B: 0xef, A: 0xff}
	colP999       = color.RGBA{R: 0xe1, G: 0x1d, B: 0x48, A: 0xff}
	colMax        = color.RGBA{R: 0x78, G: 0x35, B: 0x0f, A: 0xff}
	colSLO        = color.RGBA{R: 0xdc, G: 0x26, B: 0x26, A: 0xff}
	colShade      = color.NRGBA{R: 0xf5, G: 0x9e, B: 0x0b, A: 0x28}
	colGap        = color.NRGBA{R: 0x6b, G: 0x72, B: 0x80, A: 0x22}
	colLimited    = color.NRGBA{R: 0x7c, G: 0x3a, B: 0xed, A: 0x22}
	colGrid       = color.RGBA{R: 0xe5, G: 0xe7, B: 0xeb, A: 0xff}
	colAxis       = color.RGBA{R: 0x4b, G: 0x55, B: 0x63, A: 0xff}
	colQueue      = color.RGBA{R: 0xf5, G: 0x9e, B: 0x0b, A: 0xff}
	colApp        = color.RGBA{R: 0x38, G: 0xbd, B: 0xf8, A: 0xff}
	colDep        = color.RGBA{R: 0x63, G: 0x66, B: 0xf1, A: 0xff}
	colLate       = color.RGBA{R: 0xd9, G: 0x77, B: 0x06, A: 0xff}
	colFailed     = color.RGBA{R: 0xdc, G: 0x26, B: 0x26, A: 0xff}
	colCold       = color.RGBA{R: 0x0e, G: 0x74, B: 0x90, A: 0xff}
)

// smallChartHeight is the height of charts of one secondary series (the
// cold-start ratio), shorter than a regular chart's 230 pt.
const smallChartHeight vg.Length = 150

// runPalette colours the runs of a comparison, in order.
var runPalette = []color.Color{
	color.RGBA{R: 0x25, G: 0x63, B: 0xeb, A: 0xff},
	color.RGBA{R: 0xea, G: 0x58, B: 0x0c, A: 0xff},
	color.RGBA{R: 0x05, G: 0x96, B: 0x69, A: 0xff},
	color.RGBA{R: 0x93, G: 0x33, B: 0xea, A: 0xff},
	color.RGBA{R: 0xdb, G: 0x27, B: 0x77, A: 0xff},
	color.RGBA{R: 0x0d, G: 0x94, B: 0x88, A: 0xff},
	color.RGBA{R: 0x65, G: 0xa3, B: 0x0d, A: 0xff},
	color.RGBA{R: 0x64, G: 0x74, B: 0x8b, A: 0xff},
}

func runColor(i int) color.Color { return runPalette[i%len(runPalette)] }

// outcomeColor colours an outcome class in stacked charts.
func outcomeColor(o results.Outcome) color.Color {
	switch o {
	case results.OutcomeOK, results.OutcomeDelivered:
		return color.RGBA{R: 0x10, G: 0xb9, B: 0x81, A: 0xff}
	case results.OutcomeShed:
		return color.RGBA{R: 0xf5, G: 0x9e, B: 0x0b, A: 0xff}
	case results.OutcomeServerError:
		return color.RGBA{R: 0xef, G: 0x44, B: 0x44, A: 0xff}
	case results.OutcomeClientTimeout:
		return color.RGBA{R: 0x8b, G: 0x5c, B: 0xf6, A: 0xff}
	case results.OutcomeConnError:
		return color.RGBA{R: 0x99, G: 0x1b, B: 0x1b, A: 0xff}
	case results.OutcomeClientError:
		return color.RGBA{R: 0xec, G: 0x48, B: 0x99, A: 0xff}
	case results.OutcomeGeneratorDropped:
		return color.RGBA{R: 0x6b, G: 0x72, B: 0x80, A: 0xff}
	case results.OutcomeBudgetExhausted, results.OutcomeClientThrottled:
		return color.RGBA{R: 0x0e, G: 0xa5, B: 0xe9, A: 0xff}
	}
	return color.RGBA{R: 0xa8, G: 0xa2, B: 0x9e, A: 0xff}
}

// cssColor writes c as a CSS colour for the HTML legends.
func cssColor(c color.Color) string {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	if n.A == 0xff {
		return fmt.Sprintf("#%02x%02x%02x", n.R, n.G, n.B)
	}
	return fmt.Sprintf("rgba(%d,%d,%d,%.2f)", n.R, n.G, n.B, float64(n.A)/0xff)
}

// renderChart draws spec as an SVG element ready to inline in HTML: no
// XML prolog, scaled to its container's width, text in the page's font.
func renderChart(spec chartSpec) ([]byte, error) {
	data, r, err := seriesPlotters(spec)
	if err != nil {
		return nil, err
	}
	if r.empty() {
		return nil, errNoData
	}
	if spec.YFromZero && !spec.LogY {
		r.ymin = min(r.ymin, 0)
	}
	if spec.XFromZero && !spec.PercentileX {
		r.xmin = min(r.xmin, 0)
	}
	switch {
	case spec.LogY:
		r.ymin, r.ymax = logBounds(r.ymin, r.ymax)
	case r.ymax == r.ymin:
		r.ymax = r.ymin + 1
	default:
		r.ymax += 0.05 * (r.ymax - r.ymin)
	}
	for _, s := range slices.Concat(spec.Shades, spec.Gaps, spec.Limited) {
		r.xmin, r.xmax = min(r.xmin, s.From), max(r.xmax, s.To)
	}
	for _, m := range spec.Marks {
		r.xmin, r.xmax = min(r.xmin, m.X), max(r.xmax, m.X)
	}
	if r.xmax == r.xmin {
		r.xmax = r.xmin + 1
	}

	p := plot.New()
	styleAxes(p)
	p.X.Label.Text, p.Y.Label.Text = spec.XLabel, spec.YLabel
	if spec.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = latencyLogTicks{}
	}
	if spec.PercentileX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = percentileTicks{}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = colGrid, colGrid
	grid.Vertical.Width, grid.Horizontal.Width = 0.6, 0.6
	if !spec.PercentileX {
		grid.Vertical = draw.LineStyle{}
	}
	// Drawing order: grid, disturbances, data, markers.
	p.Add(grid)
	if len(spec.Shades) > 0 {
		p.Add(shadePlotter{spans: spec.Shades, fill: colShade, ink: color.RGBA{R: 0x92, G: 0x40, B: 0x0e, A: 0xff}})
	}
	if len(spec.Gaps) > 0 {
		p.Add(shadePlotter{spans: spec.Gaps, fill: colGap, ink: colAxis, bottom: true})
	}
	if len(spec.Limited) > 0 {
		p.Add(shadePlotter{spans: spec.Limited, fill: colLimited, ink: color.RGBA{R: 0x5b, G: 0x21, B: 0xb6, A: 0xff}, bottom: true})
	}
	p.Add(data...)
	if len(spec.Marks) > 0 {
		p.Add(markPlotter(spec.Marks))
	}
	var hover []hoverPoint
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = r.xmin, r.xmax, r.ymin, r.ymax

	w, h := spec.Width, spec.Height
	if w == 0 {
		w = 520
	}
	if h == 0 {
		h = 230
	}
	p.Add(hoverPlotter{spec: &spec, height: float64(h), out: &hover})
	c := vgsvg.New(w, h)
	// The top inset keeps the highest y tick's label inside the SVG.
	p.Draw(draw.Crop(draw.New(c), 0, 0, 0, -chartTopInset))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	svg := inlineSVG(buf.Bytes())
	if i := bytes.LastIndex(svg, []byte("</svg>")); i >= 0 {
		svg = append(svg[:i:i], append([]byte(hoverSVG(hover)), svg[i:]...)...)
	}
	return svg, nil
}

// chartTopInset is the room above the plot area, in points: half a tick
// label, so the top label is not clipped.
const chartTopInset = 7

// errNoData is returned for a chart with nothing to draw; callers leave
// the chart out.
var errNoData = errors.New("chart: no data")

// dataRange is the extent of a chart's data.
type dataRange struct{ xmin, xmax, ymin, ymax float64 }

func (r dataRange) empty() bool { return r.xmin > r.xmax }

func (r *dataRange) add(x, y float64) {
	r.xmin, r.xmax = min(r.xmin, x), max(r.xmax, x)
	r.ymin, r.ymax = min(r.ymin, y), max(r.ymax, y)
}

// seriesPlotters turns the series into plotters (lines split at NaN, or
// stacked bands) and measures their extent. On a log axis, points ≤ 0
// are left out.
func seriesPlotters(spec chartSpec) ([]plot.Plotter, dataRange, error) {
	r := dataRange{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	var out []plot.Plotter
	if spec.Stacked {
		var lower []float64
		for _, s := range spec.Series {
			if lower == nil {
				lower = make([]float64, len(s.X))
			}
			if len(s.X) != len(lower) || len(s.Y) != len(s.X) {
				return nil, r, fmt.Errorf("chart: stacked series %q has %d points, want %d", s.Name, len(s.Y), len(lower))
			}
			pts := make(plotter.XYs, 0, 2*len(s.X))
			upper := make([]float64, len(s.X))
			for i, x := range s.X {
				y := s.Y[i]
				if math.IsNaN(y) {
					y = 0
				}
				upper[i] = lower[i] + y
				pts = append(pts, plotter.XY{X: x, Y: upper[i]})
				r.add(x, upper[i])
				r.add(x, lower[i])
			}
			for i := len(s.X) - 1; i >= 0; i-- {
				pts = append(pts, plotter.XY{X: s.X[i], Y: lower[i]})
			}
			if len(pts) > 2 {
				poly, err := plotter.NewPolygon(pts)
				if err != nil {
					return nil, r, fmt.Errorf("chart: series %q: %w", s.Name, err)
				}
				poly.Color = s.Color
				poly.LineStyle.Width = 0
				out = append(out, poly)
			}
			lower = upper
		}
		return out, r, nil
	}
	for _, s := range spec.Series {
		if len(s.X) != len(s.Y) {
			return nil, r, fmt.Errorf("chart: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		var seg plotter.XYs
		flush := func() error {
			if len(seg) == 0 {
				return nil
			}
			if len(seg) == 1 || s.Points {
				sc, err := plotter.NewScatter(seg)
				if err != nil {
					return fmt.Errorf("chart: series %q: %w", s.Name, err)
				}
				sc.GlyphStyle.Color = s.Color
				sc.GlyphStyle.Radius = 2.2
				sc.GlyphStyle.Shape = draw.CircleGlyph{}
				out = append(out, sc)
			}
			if len(seg) > 1 {
				l, err := plotter.NewLine(seg)
				if err != nil {
					return fmt.Errorf("chart: series %q: %w", s.Name, err)
				}
				l.LineStyle.Color = s.Color
				l.LineStyle.Width = s.Width
				if l.LineStyle.Width == 0 {
					l.LineStyle.Width = 1.6
				}
				if s.Dashed {
					l.LineStyle.Dashes = []vg.Length{5, 3}
				}
				out = append(out, l)
			}
			seg = nil
			return nil
		}
		for i, x := range s.X {
			y := s.Y[i]
			if math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(x) || (spec.LogY && y <= 0) || (spec.PercentileX && x <= 0) {
				if err := flush(); err != nil {
					return nil, r, err
				}
				continue
			}
			seg = append(seg, plotter.XY{X: x, Y: y})
			r.add(x, y)
		}
		if err := flush(); err != nil {
			return nil, r, err
		}
	}
	return out, r, nil
}

// chartFont is Liberation Sans: Arial's metrics, so the browser's
// fallback sans-serif takes the room the layout measured.
var chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// styleAxes sets the house style: grey axes, small sans-serif text.
func styleAxes(p *plot.Plot) {
	p.BackgroundColor = nil
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Color = colAxis
		a.LineStyle.Color = colAxis
		a.LineStyle.Width = 0.8
		a.Label.TextStyle.Font = font.From(chartFont, 11)
		a.Label.TextStyle.Color = colAxis
		a.Tick.Label.Font = font.From(chartFont, 10)
		a.Tick.Label.Color = colAxis
		a.Tick.LineStyle.Color = colAxis
		a.Tick.LineStyle.Width = 0.6
		a.Tick.Length = 4
		a.Padding = 2
	}
	p.X.Tick.Marker = compactTicks{}
	p.Y.Tick.Marker = compactTicks{}
}

// compactTicks are plot's default linear ticks, labelled without
// trailing zeros (25, not 25.00) and with k/M for large values.
type compactTicks struct{}

// Ticks implements plot.Ticker.
func (compactTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = compactNumber(ticks[i].Value)
		}
	}
	return ticks
}

// compactNumber writes v for an axis: 0.25, 40, 1.5k, 2M.
func compactNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	case a < 1e-9:
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// logBounds widens [lo, hi] to whole decades for a log axis.
func logBounds(lo, hi float64) (float64, float64) {
	lo = math.Pow10(int(math.Floor(math.Log10(lo))))
	hi = math.Pow10(int(math.Ceil(math.Log10(hi))))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// latencyLogTicks labels a log axis of milliseconds with units: 1ms, 10ms,
// 100ms, 1s; with 1-2-5 steps when it spans less than three decades.
type latencyLogTicks struct{}

// Ticks implements plot.Ticker.
func (latencyLogTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	dense := math.Log10(hi/lo) < 3
	for d := math.Pow10(int(math.Floor(math.Log10(lo)))); d <= hi*1.0001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v < lo*0.9999 || v > hi*1.0001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || dense {
				t.Label = formatMs(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// formatMs writes ms milliseconds compactly for an axis: 0.5ms, 20ms, 2s.
func formatMs(ms float64) string {
	if ms >= 1000 {
		return strconv.FormatFloat(ms/1000, 'g', 3, 64) + "s"
	}
	return strconv.FormatFloat(ms, 'g', 3, 64) + "ms"
}

// percentileTicks labels a log axis of 1/(1−p) with percentiles.
type percentileTicks struct{}

// Ticks implements plot.Ticker.
func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	labels := []struct {
		x     float64
		label string
	}{{1, "0%"}, {2, "50%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"}, {1e5, "99.999%"}, {1e6, "99.9999%"}, {1e7, "99.99999%"}}
	var ticks []plot.Tick
	for _, l := range labels {
		if l.x >= lo*0.9999 && l.x <= hi*1.0001 {
			ticks = append(ticks, plot.Tick{Value: l.x, Label: l.label})
		}
	}
	return ticks
}

// shadePlotter shades stretches of the x axis over the plot's full height
// (disturbances, gaps), labelled at the top or, with bottom, at the
// bottom.
type shadePlotter struct {
	spans     []chartShade
	fill, ink color.Color
	bottom    bool
}

// Plot implements plot.Plotter.
func (s shadePlotter) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	c.SetColor(s.fill)
	for _, sh := range s.spans {
		x0, x1 := max(tx(sh.From), c.Min.X), min(tx(sh.To), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.Fill(vg.Rectangle{Min: vg.Point{X: x0, Y: c.Min.Y}, Max: vg.Point{X: x1, Y: c.Max.Y}}.Path())
		if sh.Label != "" {
			sty := p.X.Tick.Label
			sty.Color = s.ink
			sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
			at := vg.Point{X: x0 + 3, Y: c.Max.Y - 2}
			if s.bottom {
				sty.YAlign = draw.YBottom
				at.Y = c.Min.Y + 2
			}
			c.FillText(sty, at, sh.Label)
		}
	}
}

// markPlotter draws labelled vertical lines.
type markPlotter []chartMark

// Plot implements plot.Plotter.
func (m markPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	for _, mk := range m {
		x := tx(mk.X)
		ls := draw.LineStyle{Color: mk.Color, Width: 1.4, Dashes: []vg.Length{4, 3}}
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		if mk.Label != "" {
			sty := p.X.Tick.Label
			sty.Color = mk.Color
			sty.XAlign, sty.YAlign = draw.XRight, draw.YTop
			c.FillText(sty, vg.Point{X: x - 3, Y: c.Max.Y - 2}, mk.Label)
		}
	}
}

var (
	svgProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)
	svgSize   = regexp.MustCompile(`<svg width="[^"]*" height="[^"]*"`)
	svgFont   = regexp.MustCompile(`font-family:Liberation Sans;`)
)

// inlineSVG makes vgsvg's standalone document an element to inline in
// HTML: no prolog, the width of its container, and the page's sans-serif
// font (Liberation Sans has Arial's metrics, so labels keep their size).
func inlineSVG(doc []byte) []byte {
	doc = svgProlog.ReplaceAll(doc, nil)
	doc = svgSize.ReplaceAll(doc, []byte(`<svg class="chart" role="img" preserveAspectRatio="xMidYMid meet"`))
	return svgFont.ReplaceAll(doc, []byte(`font-family:'Liberation Sans',Arial,Helvetica,sans-serif;`))
}
