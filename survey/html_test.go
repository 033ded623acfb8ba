package survey

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/goodput-dev/goodput/internal/chromium"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var screenshotPath = flag.String("screenshot", "", "also write the heat map's screenshot to this path (a .png)")

// TestHeatMapInChromium opens the survey's heat map in real headless
// chromium: it loads with no console error, fetches nothing but itself,
// shows one coloured square per cell played (the verdict's colour, the
// recovery time written in it), names every square for assistive
// technology, and does not scroll sideways.
func TestHeatMapInChromium(t *testing.T) {
	dir := t.TempDir()
	rep := fixture(t)
	var page bytes.Buffer
	require.NoError(t, WriteHTML(&page, rep))
	path := filepath.Join(dir, "survey.html")
	require.NoError(t, os.WriteFile(path, page.Bytes(), 0o644))
	url := "file://" + path
	tab := chromium.Open(t, chromium.Start(t, dir), url)
	tabCtx := tab.Ctx

	// What a reader sees: each square's computed colour and text.
	type square struct {
		Class, Colour, Text, Label string
		Width, Height              float64
	}
	squares, err := chromedp.Run(tabCtx, chromedp.Evaluate[[]square](`Array.from(document.querySelectorAll("table.heat tbody td:not(.boundary)")).map(td => {
		const r = td.getBoundingClientRect();
		return {Class: td.className.split(" ")[0], Colour: getComputedStyle(td).backgroundColor, Text: td.innerText.replace(/\s+/g, " ").trim(), Label: td.getAttribute("aria-label") || "", Width: r.width, Height: r.height};
	})`))
	require.NoError(t, err)
	overflow, err := chromedp.Run(tabCtx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	require.NoError(t, err)
	headers, err := chromedp.Run(tabCtx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.heat tbody th[scope=row]")).map(th => th.innerText)`))
	require.NoError(t, err)
	tableName, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](`document.getElementById(document.querySelector("table.heat").getAttribute("aria-labelledby")).innerText`))
	require.NoError(t, err)
	png, err := chromedp.Run(tabCtx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	problems, requests := tab.Close()

	assert.Empty(t, problems, "console errors")
	assert.NotEmpty(t, requests, "the navigation itself was seen")
	for _, u := range requests {
		assert.Equal(t, url, u, "the heat map fetched something other than itself")
	}
	assert.False(t, overflow, "the page scrolls sideways")
	assert.Equal(t, []string{"16x", "3x", "1.5x"}, headers, "a row per multiplier, the largest on top")
	assert.NotEmpty(t, tableName, "the heat map has an accessible name")

	colours := map[string]string{"recovered": "rgb(46, 125, 50)", "slow": "rgb(249, 168, 37)", "metastable": "rgb(198, 40, 40)", "untried": "rgb(238, 238, 238)"}
	played := 0
	for _, s := range squares {
		assert.Equal(t, colours[s.Class], s.Colour, "%s: coloured by its verdict", s.Label)
		assert.Greater(t, s.Width, 40.0, "%s: visible", s.Label)
		assert.Greater(t, s.Height, 30.0, "%s: visible", s.Label)
		assert.NotEmpty(t, s.Label, "every square has an accessible name")
		if s.Class == "untried" {
			continue
		}
		played++
		assert.Contains(t, s.Text, s.Class, "the verdict is written, not only coloured")
		if s.Class != "metastable" {
			assert.Regexp(t, `\d+\.\ds$`, s.Text, "%s: its recovery time is written in it", s.Label)
		}
	}
	assert.Equal(t, len(rep.Result.Cells), played, "one coloured square a cell played")

	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "screenshot is a PNG")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "survey.png"), png, 0o644))
	if *screenshotPath != "" {
		require.NoError(t, os.WriteFile(*screenshotPath, png, 0o644))
		t.Logf("screenshot of the heat map: %s", *screenshotPath)
	}
}
