package report

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/internal/chromium"
	"github.com/goodput-dev/goodput/results"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var screenshotPath = flag.String("screenshot", "", "also write the HTML report screenshots to this path (a .png; the ramp and compare reports get -ramp and -compare suffixes)")

// syntheticRamp is a stepped ramp, 3 s a step from 100 to 700 rps, against
// a service with capacity 400 rps and a 20 ms service time: past capacity
// its queue grows and requests start missing the 250 ms SLO.
func syntheticRamp() (results.Header, []record) {
	h := results.Header{Version: results.FormatVersion, Tool: "goodput/test", Host: "gen-1", Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Seed: 3, Label: "ramp", SLO: 250 * time.Millisecond}
	rng := rand.New(rand.NewPCG(3, 3))
	const capacity = 400.0
	var recs []record
	var id uint64
	var backlog time.Duration // queueing delay carried from one request to the next
	for i, rate := 0, 100.0; rate <= 700; i, rate = i+1, rate+100 {
		off := time.Duration(i) * 3 * time.Second
		h.Phases = append(h.Phases, results.PhaseInfo{Name: fmt.Sprintf("step-%d", i+1), Offset: off, Duration: 3 * time.Second, FromRPS: rate, ToRPS: rate})
		gap := time.Duration(float64(time.Second) / rate)
		for t := time.Duration(0); t < 3*time.Second; t += gap {
			id++
			// Each request adds 1/capacity s of work; the time passes drains it.
			backlog = max(0, backlog+time.Duration(float64(time.Second)/capacity)-gap)
			lat := 20*time.Millisecond + backlog + time.Duration(rng.IntN(3000))*time.Microsecond
			intended := off + t
			r := results.Result{RequestID: id, Attempt: 1, Phase: uint16(i), Final: true, Route: "GET /items", Intended: intended, Start: intended, End: intended + lat, Status: 200, Outcome: results.OutcomeOK}
			if lat > time.Second {
				r.End, r.Status, r.Outcome = intended+time.Second, 0, results.OutcomeClientTimeout
			}
			recs = append(recs, record{kind: results.RecordResult, res: r})
		}
	}
	return h, recs
}

// htmlFixtures renders the three kinds of HTML report: one run with
// recovery and assertions, a ramp, and a comparison.
func htmlFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	run := aggregate(t, Options{}, syntheticFile(t, 1))
	AnalyzeRecovery(run, RecoveryOptions{Window: 2 * time.Second})
	run.Assertions = Evaluate(mustParse(t, "p99 < 250ms", "goodput_ratio >= 0.99", "recovery_time < 5s", "phase(surge).shed_ratio < 0.5"), FiguresOf(run), Scopes{Phases: PhaseFigures(run)})

	h, recs := syntheticRamp()
	data, _ := encodeStream(t, h, recs)
	ramp := aggregate(t, Options{}, data)
	require.True(t, IsRamp(ramp))
	AnalyzeTippingPoint(ramp, 0)

	other := aggregate(t, Options{}, syntheticFile(t, 2))
	other.Label = "protected"
	AnalyzeRecovery(other, RecoveryOptions{Window: 2 * time.Second})

	out := map[string][]byte{}
	for name, rep := range map[string]HTMLReport{
		"run":     {Runs: []HTMLRun{{Summary: run}}},
		"ramp":    {Title: "goodput ramp", Runs: []HTMLRun{{Summary: ramp}}},
		"compare": {Title: "goodput comparison", Runs: []HTMLRun{{Label: "unprotected", Summary: run}, {Summary: other}}},
	} {
		var buf bytes.Buffer
		require.NoError(t, WriteHTML(&buf, rep), name)
		out[name] = buf.Bytes()
	}
	return out
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	for name, page := range htmlFixtures(t) {
		t.Run(name, func(t *testing.T) {
			html := string(page)
			assert.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"))
			assert.Greater(t, strings.Count(html, `<svg class="chart"`), 3)
			lower := strings.ToLower(stripSVGNamespaces(html))
			for _, ref := range []string{"<script", "<link", "src=", "url(", "@import", "http://", "https://"} {
				assert.False(t, strings.Contains(lower, ref), "an external reference (or a script) in the report: %q", ref)
			}
			assert.False(t, strings.Contains(html, "<?xml"), "SVG prologs are stripped for inlining")
			assert.True(t, strings.Contains(html, "Content-Security-Policy"))
		})
	}
	pages := htmlFixtures(t)
	for name, want := range map[string][]string{
		"run":     {"Assertions: 3 passed, 1 failed", "FAIL</span> <span>goodput_ratio = ", "Disturbances and recovery", "surge + slow-db", "Slowest requests", `<svg class="gantt"`, `<rect class="attempt"`, `<line class="wait"`, `<rect class="timing"`},
		"ramp":    {"Tipping point", "400/s", "Universal Scalability Law"},
		"compare": {"Side by side", `class="num best"`, "unprotected: goodput_ratio = ", "Recovery: protected"},
	} {
		for _, w := range want {
			assert.True(t, strings.Contains(string(pages[name]), w), "%s report lacks %q", name, w)
		}
	}
}

// stripSVGNamespaces removes the xmlns URIs of inline SVG, which name a
// namespace and are never fetched.
func stripSVGNamespaces(html string) string {
	html = strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "")
	return strings.ReplaceAll(html, `xmlns:xlink="http://www.w3.org/1999/xlink"`, "")
}

func TestWriteHTMLRefusesEmptyReport(t *testing.T) {
	assert.Error(t, WriteHTML(&bytes.Buffer{}, HTMLReport{}))
	assert.Error(t, WriteHTML(&bytes.Buffer{}, HTMLReport{Runs: []HTMLRun{{}}}))
}

// TestHTMLReportInChromium opens each report in real headless chromium:
// it must load with no console error, fetch nothing but itself, and show
// its charts. Screenshots go to a temporary directory (and to -screenshot).
func TestHTMLReportInChromium(t *testing.T) {
	dir := t.TempDir()
	pages := htmlFixtures(t)
	browser := chromium.Start(t, dir)

	for _, name := range []string{"run", "ramp", "compare"} {
		path := filepath.Join(dir, name+".html")
		require.NoError(t, os.WriteFile(path, pages[name], 0o644))
		url := "file://" + path

		tab := chromium.Open(t, browser, url)
		tabCtx := tab.Ctx
		charts, err := chromedp.Run(tabCtx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("svg.chart")).filter(s => s.getBoundingClientRect().width > 300 && s.getBoundingClientRect().height > 100).length`))
		require.NoError(t, err)
		paths, err := chromedp.Run(tabCtx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart path").length`))
		require.NoError(t, err)
		overflow, err := chromedp.Run(tabCtx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		require.NoError(t, err)
		title, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](`document.title`))
		require.NoError(t, err)
		hovers, err := chromedp.Run(tabCtx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("svg.chart")).filter(s => s.getAttribute("aria-label") && s.querySelector("g.points circle title")).length`))
		require.NoError(t, err)
		// The element under a plotted point is its hover target.
		hit, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](`(() => {
			const c = document.querySelector("svg.chart g.points circle");
			c.scrollIntoView({block: "center"});
			const r = c.getBoundingClientRect();
			const el = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
			return el && el.closest("circle") ? el.closest("circle").querySelector("title").textContent : "";
		})()`))
		require.NoError(t, err)
		var gantts, attempts, waits int
		if name == "run" {
			gantts, err = chromedp.Run(tabCtx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("#slowest svg.gantt")).filter(s => s.getBoundingClientRect().width > 300).length`))
			require.NoError(t, err)
			attempts, err = chromedp.Run(tabCtx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("#slowest rect.attempt title")).filter(t => /^attempt \d+: /.test(t.textContent)).length`))
			require.NoError(t, err)
			waits, err = chromedp.Run(tabCtx, chromedp.Evaluate[int](`document.querySelectorAll("#slowest line.wait").length`))
			require.NoError(t, err)
		}
		png, err := chromedp.Run(tabCtx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		problems, requests := tab.Close()

		assert.Empty(t, problems, "%s: console errors", name)
		for _, u := range requests {
			assert.Equal(t, url, u, "%s: the report fetched something other than itself", name)
		}
		assert.NotEmpty(t, requests, "%s: the navigation itself was seen", name)
		want := map[string]int{"run": 6, "ramp": 7, "compare": 5}[name]
		assert.GreaterOrEqual(t, charts, want, "%s: visible SVG charts", name)
		assert.Greater(t, paths, 10*want, "%s: chart paths drawn", name)
		assert.False(t, overflow, "%s: the page scrolls sideways", name)
		assert.Equal(t, charts, hovers, "%s: every chart has an accessible name and hover values", name)
		assert.Contains(t, hit, " · ", "%s: hovering a point finds its title", name)
		assert.Contains(t, title, map[string]string{"run": "goodput report · golden", "ramp": "goodput ramp · ramp", "compare": "goodput comparison"}[name], "%s: the page title names the run", name)
		if name == "run" {
			assert.Equal(t, DefaultSlowest, gantts, "run: one visible Gantt bar per slowest request")
			assert.Greater(t, attempts, DefaultSlowest, "run: the slowest requests were retried: more attempts than requests")
			assert.Positive(t, waits, "run: the waits between attempts are drawn")
		}
		require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "%s: screenshot is a PNG", name)
		shot := filepath.Join(dir, name+".png")
		require.NoError(t, os.WriteFile(shot, png, 0o644))
		if *screenshotPath != "" {
			dst := *screenshotPath
			if name != "run" {
				dst = strings.TrimSuffix(dst, ".png") + "-" + name + ".png"
			}
			require.NoError(t, os.WriteFile(dst, png, 0o644))
			t.Logf("screenshot of the %s report: %s", name, dst)
		}
	}
}

// BenchmarkWriteHTML measures the HTML report of the 12-second synthetic
// run: nine charts rendered to SVG and the page around them.
func BenchmarkWriteHTML(b *testing.B) {
	s := aggregate(b, Options{}, syntheticFile(b, 1))
	AnalyzeRecovery(s, RecoveryOptions{Window: 2 * time.Second})
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, HTMLReport{Runs: []HTMLRun{{Summary: s}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}

func TestWriteHTMLOfAnEmptyRun(t *testing.T) {
	// A run that recorded nothing (interrupted at once) still renders.
	s := aggregate(t, Options{}, func() []byte {
		data, _ := encodeStream(t, syntheticHeader(), nil)
		return data
	}())
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, HTMLReport{Runs: []HTMLRun{{Summary: s}}}))
	assert.True(t, strings.Contains(buf.String(), "</html>"))
	buf.Reset()
	require.NoError(t, WriteHTML(&buf, HTMLReport{Runs: []HTMLRun{{Label: "a", Summary: s}, {Label: "b", Summary: s}}}))
	assert.True(t, strings.Contains(buf.String(), "Side by side"))
	buf.Reset()
	require.NoError(t, WriteHTML(&buf, HTMLReport{Runs: []HTMLRun{{Summary: &Summary{}}}}), "a zero Summary")
}
