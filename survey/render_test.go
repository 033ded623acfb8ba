package survey

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture is a survey of the model over three multipliers, with one
// contradiction added by hand and two assertions.
func fixture(t *testing.T) *Report {
	t.Helper()
	o := Options{Multipliers: []float64{1.5, 3, 16}, Min: time.Second, Max: 20 * time.Second, Resolution: time.Second}
	r, err := Search(context.Background(), o, model(100, 1450))
	require.NoError(t, err)
	r.Cells = append(r.Cells, CellResult{Cell: Cell{16, 10 * time.Second}, Outcome: Outcome{Verdict: Slow, Recovery: 9 * time.Second}, Order: len(r.Cells) + 1})
	r.Contradictions = Contradictions(r.Cells)
	as, err := ParseAssertions([]string{"survive(3x) >= 5s", "survive(1.5x) >= 30s"})
	require.NoError(t, err)
	return &Report{
		Setup:      Setup{Target: "embedded unprotected", BaselineRPS: 250, Warmup: 5 * time.Second, Judge: 15 * time.Second, SlowAfter: 5 * time.Second, Seed: 7, Wall: 95 * time.Second},
		Result:     r,
		Assertions: Evaluate(as, r),
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteText(&b, fixture(t)))
	out := b.String()
	for _, want := range []string{
		"survey of embedded unprotected: baseline 250/s; surges of 1.5x, 3x, 16x for 1s..20s (resolution 1s)",
		"multiplier  1s", "survives",
		"7s (8s did not)", "> 20s", "< 1s",
		"monotonicity: 1 contradiction(s)", "16x for 10s survived but 16x for 1s did not",
		"assertions: 1 passed, 1 failed", "PASS survive(3x) >= 5s (survives 7s (8s did not))", "FAIL survive(1.5x) >= 30s (survives > 20s)",
	} {
		assert.Contains(t, out, want)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		m, _, _ := strings.Cut(l, " ")
		rows[m] = l
	}
	assert.Contains(t, rows["3x"], "recovered 1.1s", "3x for 1s: 200 of 1450 excess")
	assert.Contains(t, rows["3x"], "metastable")
	assert.Contains(t, rows["1.5x"], "·", "durations other rows played, not 1.5x's")
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	rep := fixture(t)
	require.NoError(t, WriteJSON(&b, rep))
	var j struct {
		Survey struct {
			Target      string    `json:"target"`
			Multipliers []float64 `json:"multipliers"`
			Seed        uint64    `json:"seed"`
			Cells       []struct {
				Order      int     `json:"order"`
				Multiplier float64 `json:"multiplier"`
				DurationS  float64 `json:"duration_s"`
				Verdict    string  `json:"verdict"`
				RecoveryS  float64 `json:"recovery_s"`
			} `json:"cells"`
			Boundary []struct {
				Multiplier float64 `json:"multiplier"`
				SurvivedS  float64 `json:"longest_survived_s"`
				FailedS    float64 `json:"shortest_failed_s"`
				Bound      string  `json:"bound"`
			} `json:"boundary"`
			Contradictions []struct {
				Survived struct{ Multiplier, DurationS float64 } `json:"survived"`
			} `json:"contradictions"`
		} `json:"survey"`
		Assertions []Checked `json:"assertions"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &j))
	s := j.Survey
	assert.Equal(t, "embedded unprotected", s.Target)
	assert.Equal(t, uint64(7), s.Seed)
	require.Len(t, s.Cells, len(rep.Result.Cells))
	assert.Equal(t, 1, s.Cells[0].Order)
	assert.Equal(t, 1.5, s.Cells[0].Multiplier)
	assert.Equal(t, "recovered", s.Cells[0].Verdict)
	require.Len(t, s.Boundary, 3)
	assert.Equal(t, 3.0, s.Boundary[1].Multiplier)
	assert.Equal(t, 7.0, s.Boundary[1].SurvivedS)
	assert.Equal(t, 8.0, s.Boundary[1].FailedS)
	assert.Equal(t, "exact", s.Boundary[1].Bound)
	assert.Equal(t, "above_max", s.Boundary[0].Bound)
	assert.Equal(t, "below_min", s.Boundary[2].Bound)
	require.Len(t, s.Contradictions, 1)
	require.Len(t, j.Assertions, 2)
	assert.False(t, j.Assertions[1].Passed)
	// An empty survey still has arrays, not nulls.
	b.Reset()
	require.NoError(t, WriteJSON(&b, &Report{Result: &Result{Cells: []CellResult{}, Boundaries: []Boundary{}, Contradictions: []Contradiction{}}}))
	assert.Contains(t, b.String(), `"cells": []`)
	assert.Contains(t, b.String(), `"assertions": []`)
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	rep := fixture(t)
	require.NoError(t, WriteHTML(&b, rep))
	html := b.String()
	assert.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"))
	lower := strings.ToLower(html)
	for _, ref := range []string{"<script", "<link", "src=", "url(", "@import", "http://", "https://"} {
		assert.NotContains(t, lower, ref, "an external reference (or a script)")
	}
	assert.Contains(t, html, "Content-Security-Policy")
	assert.Equal(t, len(rep.Result.Cells), strings.Count(html, `<td class="recovered`)+strings.Count(html, `<td class="slow`)+strings.Count(html, `<td class="metastable`), "one coloured cell a played cell")
	assert.Contains(t, html, `aria-label="3x for 7s: slow, recovery`)
	assert.Contains(t, html, "16x for 10s survived but 16x for 1s did not")
	assert.Contains(t, html, "<code>survive(1.5x) &gt;= 30s</code>")
}

func BenchmarkWriteHTML(b *testing.B) {
	rep := fixture(&testing.T{})
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(&bytes.Buffer{}, rep); err != nil {
			b.Fatal(err)
		}
	}
}
