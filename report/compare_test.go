package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-compare", false, "rewrite the compare golden files")

func compareFixture() []CompareRun {
	a := Figures{"goodput_ratio": 0.62, "requests": 6000, "shed_ratio": 0, "amplification": 2.4, "wasted_work": 1500}
	a.SetDuration("p50", 180*time.Millisecond)
	a.SetDuration("p99", 2*time.Second)
	a.SetBool("metastable", true)
	a.SetBool("recovered", false)
	b := Figures{"goodput_ratio": 0.97, "requests": 6000, "shed_ratio": 0.21, "amplification": 1.1}
	b.SetDuration("p50", 40*time.Millisecond)
	b.SetDuration("p99", 250*time.Millisecond)
	b.SetDuration("recovery_time", 3*time.Second)
	b.SetBool("metastable", false)
	b.SetBool("recovered", true)
	c := Figures{"goodput_ratio": 0.97, "requests": 6000, "shed_ratio": 0.3, "amplification": 1.0}
	c.SetDuration("p50", 40*time.Millisecond)
	c.SetDuration("p99", 300*time.Millisecond)
	c.SetDuration("recovery_time", 4*time.Second)
	c.SetBool("metastable", false)
	c.SetBool("recovered", true)
	return []CompareRun{{"unprotected", a}, {"protected", b}, {"lifo", c}}
}

func TestCompare(t *testing.T) {
	c := Compare(compareFixture())
	assert.Equal(t, []string{"unprotected", "protected", "lifo"}, c.Runs)
	rows := map[string]CompareRow{}
	var order []string
	for _, r := range c.Rows {
		rows[r.Metric] = r
		order = append(order, r.Metric)
	}
	assert.Equal(t, []string{"goodput_ratio", "requests", "p50", "p99", "shed_ratio", "amplification", "wasted_work", "recovered", "recovery_time", "metastable"}, order, "Metrics() order, unmeasured metrics skipped")

	g := rows["goodput_ratio"]
	assert.Equal(t, "higher", g.Better)
	assert.Equal(t, []int{1, 2}, g.Best, "ties are all marked")
	require.NotNil(t, g.RelDiff[1])
	assert.InDelta(t, (0.97-0.62)/0.62, *g.RelDiff[1], 1e-12)
	assert.Nil(t, g.RelDiff[0])

	p99 := rows["p99"]
	assert.Equal(t, []int{1}, p99.Best, "lower latency is better")
	assert.Equal(t, "* 250ms (−88%)", p99.Cell(1))
	assert.Equal(t, "300ms (−85%)", p99.Cell(2))
	assert.Equal(t, "2s", p99.Cell(0))

	assert.Empty(t, rows["requests"].Best, "no better direction")
	assert.Empty(t, rows["wasted_work"].Best, "only one run measured it")
	assert.Equal(t, "–", rows["wasted_work"].Cell(1))
	rt := rows["recovery_time"]
	assert.Nil(t, rt.Values[0])
	assert.Equal(t, "never", rt.Cell(0), "recovery_time of a run that did not recover")
	assert.Nil(t, rt.RelDiff[1], "no difference against a missing first value")
	assert.Equal(t, []int{1}, rt.Best)
	assert.Equal(t, []int{1, 2}, rows["metastable"].Best)
	assert.Nil(t, rows["shed_ratio"].RelDiff[1], "first value 0: no relative difference")
}

func TestCompareGolden(t *testing.T) {
	c := Compare(compareFixture())
	var text, js bytes.Buffer
	require.NoError(t, c.WriteText(&text))
	require.NoError(t, c.WriteJSON(&js))
	var decoded map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &decoded))
	require.Contains(t, decoded, "compare")
	compareGolden(t, "compare.txt", text.Bytes())
	compareGolden(t, "compare.json", js.Bytes())
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "compare", name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -run Golden -update-compare to create it")
	assert.Equal(t, string(want), string(got))
}

func TestFormatRelDiff(t *testing.T) {
	for d, want := range map[float64]string{0.1234: "+12%", -0.035: "−3.5%", 0.0001: "±0%", 2: "+200%", -0.0049: "−0.5%"} {
		assert.Equal(t, want, formatRelDiff(d), "%v", d)
	}
}

func BenchmarkCompare(b *testing.B) {
	runs := compareFixture()
	b.ReportAllocs()
	for b.Loop() {
		if c := Compare(runs); len(c.Rows) == 0 {
			b.Fatal("no rows")
		}
	}
}
