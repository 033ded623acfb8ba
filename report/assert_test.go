package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAssertion(t *testing.T) {
	tests := []struct {
		expr   string
		phase  string
		metric string
		op     Op
		value  float64
	}{
		{"p99 < 250ms", "", "p99", OpLT, 0.25},
		{"goodput_ratio >= 0.99", "", "goodput_ratio", OpGE, 0.99},
		{"goodput_ratio>=99%", "", "goodput_ratio", OpGE, 0.99},
		{"recovery_time < 15s", "", "recovery_time", OpLT, 15},
		{"phase(surge).shed_ratio < 0.5", "surge", "shed_ratio", OpLT, 0.5},
		{" phase( steady ).p999 <= 1.5s ", "steady", "p999", OpLE, 1.5},
		{"metastable == false", "", "metastable", OpEQ, 0},
		{"recovered != false", "", "recovered", OpNE, 0},
		{"tipping_point > 350", "", "tipping_point", OpGT, 350},
		{"amplification <= 1.2", "", "amplification", OpLE, 1.2},
		{"dropped == 0", "", "dropped", OpEQ, 0},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			a, err := ParseAssertion(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.phase, a.Phase)
			assert.Equal(t, tt.metric, a.Metric.Name)
			assert.Equal(t, tt.op, a.Op)
			assert.InDelta(t, tt.value, a.Value, 1e-12)
			// The canonical form parses back to the same assertion.
			b, err := ParseAssertion(a.String())
			require.NoError(t, err, a.String())
			assert.Equal(t, a.Metric.Name, b.Metric.Name)
			assert.Equal(t, a.Phase, b.Phase)
			assert.Equal(t, a.Op, b.Op)
			assert.InDelta(t, a.Value, b.Value, 1e-12)
		})
	}
}

func TestParseAssertionErrors(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"p98 < 250ms", []string{`unknown metric "p98"`, "did you mean p90 or p99?", "valid metrics: goodput_ratio", "tipping_point"}},
		{"goodput_ration >= 0.9", []string{"did you mean goodput_ratio?"}},
		{"latency_everything < 1s", []string{`unknown metric "latency_everything"`, "valid metrics"}},
		{"p99 < 250", []string{"p99 is a duration: give a unit, e.g. 250ms"}},
		{"p99 < fast", []string{"p99 is a duration (e.g. 250ms, 1.5s)"}},
		{"metastable < true", []string{"compare it with == or !="}},
		{"metastable == no", []string{"value must be true or false"}},
		{"goodput_ratio >= high", []string{"a ratio (0.99) or a percentage (99%)"}},
		{"requests > 5%", []string{"not a ratio"}},
		{"p99 250ms", []string{"no operator"}},
		{"p99 =< 250ms", []string{"bad operator"}},
		{"p99 <", []string{"missing value"}},
		{"< 250ms", []string{"missing metric"}},
		{"phase(surge)p99 < 1s", []string{"phase(NAME).METRIC"}},
		{"phase(surge).recovery_time < 1s", []string{"whole run only"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseAssertion(tt.expr)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), tt.expr, "the error quotes the assertion")
		})
	}

	_, err := ParseAssertions([]string{"p99 < 1s", "p98 < 1s", "nope == true"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "p98")
	assert.Contains(t, err.Error(), "nope")
}

func TestEvaluate(t *testing.T) {
	run := Figures{"goodput_ratio": 0.97, "shed_ratio": 0.1}
	run.SetDuration("p99", 312*time.Millisecond)
	run.SetBool("metastable", false)
	phases := map[string]Figures{"surge": {"shed_ratio": 0.62}, "steady": {"shed_ratio": 0}}

	as, err := ParseAssertions([]string{
		"p99 < 250ms",
		"goodput_ratio >= 0.95",
		"metastable == false",
		"phase(surge).shed_ratio < 0.5",
		"phase(steady).shed_ratio == 0",
		"recovery_time < 15s",
		"phase(cooldown).p99 < 1s",
	})
	require.NoError(t, err)
	vs := Evaluate(as, run, Scopes{Phases: phases})
	pass := make([]bool, len(vs))
	for i, v := range vs {
		pass[i] = v.Pass
	}
	assert.Equal(t, []bool{false, true, true, false, true, false, false}, pass)
	assert.Equal(t, 4, Failed(vs))
	assert.Equal(t, "p99 = 312ms, want < 250ms", vs[0].Message)
	assert.Equal(t, "goodput_ratio = 97.00%, want >= 95.00%", vs[1].Message)
	assert.Equal(t, "phase(surge).shed_ratio = 62.00%, want < 50.00%", vs[3].Message)
	assert.False(t, vs[5].Measured)
	assert.Contains(t, vs[5].Message, "recovery_time: not measured")
	assert.Contains(t, vs[6].Message, `no phase "cooldown" in this run (phases: steady, surge)`)

	var buf bytes.Buffer
	require.NoError(t, WriteVerdicts(&buf, vs))
	out := buf.String()
	assert.Contains(t, out, "FAIL  p99 = 312ms, want < 250ms\n")
	assert.Contains(t, out, "PASS  metastable = false, want == false\n")
	assert.True(t, strings.HasSuffix(out, "assertions: 3 passed, 4 failed\n"), out)

	j, err := json.Marshal(vs[:1])
	require.NoError(t, err)
	assert.JSONEq(t, `[{"assertion":"p99 < 250ms","pass":false,"actual":0.312,"message":"p99 = 312ms, want < 250ms"}]`, string(j))
	j, err = json.Marshal(vs[5])
	require.NoError(t, err)
	assert.Contains(t, string(j), `"actual":null`)
}

func TestWriteJUnit(t *testing.T) {
	run := Figures{"goodput_ratio": 1}
	run.SetDuration("p99", 80*time.Millisecond)
	as, err := ParseAssertions([]string{"p99 < 50ms", "goodput_ratio >= 0.99", "recovery_time < 5s"})
	require.NoError(t, err)
	vs := Evaluate(as, run, Scopes{})

	var buf bytes.Buffer
	start := time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC)
	require.NoError(t, WriteJUnit(&buf, JUnitSuite{Name: "surge-recovery", Start: start, Duration: 61500 * time.Millisecond}, vs))

	var got struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name      string `xml:"name,attr"`
			Tests     int    `xml:"tests,attr"`
			Failures  int    `xml:"failures,attr"`
			Time      string `xml:"time,attr"`
			Timestamp string `xml:"timestamp,attr"`
			Cases     []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &got), buf.String())
	assert.Equal(t, 3, got.Tests)
	assert.Equal(t, 2, got.Failures)
	require.Len(t, got.Suites, 1)
	s := got.Suites[0]
	assert.Equal(t, "surge-recovery", s.Name)
	assert.Equal(t, "61.500", s.Time)
	assert.Equal(t, "2026-11-26T19:00:00", s.Timestamp)
	require.Len(t, s.Cases, 3)
	assert.Equal(t, "p99 < 50ms", s.Cases[0].Name)
	require.NotNil(t, s.Cases[0].Failure)
	assert.Equal(t, "p99 = 80ms, want < 50ms", s.Cases[0].Failure.Message)
	assert.Equal(t, "assertion", s.Cases[0].Failure.Type)
	assert.Nil(t, s.Cases[1].Failure)
	require.NotNil(t, s.Cases[2].Failure)
	assert.Equal(t, "not_measured", s.Cases[2].Failure.Type)
	assert.True(t, strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`))
}

func TestMetricFormat(t *testing.T) {
	p99, _ := LookupMetric("p99")
	assert.Equal(t, "1.23s", p99.Format(1.23456))
	assert.Equal(t, "250ms", p99.Format(0.25))
	assert.Equal(t, "1.23ms", p99.Format(0.0012345))
	assert.Equal(t, "0s", p99.Format(0))
	amp, _ := LookupMetric("amplification")
	assert.Equal(t, "1.250×", amp.Format(1.25))
	req, _ := LookupMetric("requests")
	assert.Equal(t, "600", req.Format(600))
	_, ok := LookupMetric("nope")
	assert.False(t, ok)
	ms := Metrics()
	ms[0].Name = "changed"
	assert.Equal(t, "goodput_ratio", Metrics()[0].Name, "Metrics returns a copy")
}

func BenchmarkParseAssertion(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAssertion("phase(surge).p99 < 250ms"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAssertionDocsListEveryMetric keeps docs/assertions.md from drifting:
// every metric has a row in its table.
func TestAssertionDocsListEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../docs/assertions.md")
	require.NoError(t, err)
	for _, m := range Metrics() {
		row := fmt.Sprintf("| `%s` | ", m.Name)
		assert.Contains(t, string(doc), row, "docs/assertions.md has no row for %s", m.Name)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	as, err := ParseAssertions([]string{"p99 < 250ms", "goodput_ratio >= 0.99", "recovery_time < 15s", "phase(surge).shed_ratio < 0.5", "metastable == false"})
	if err != nil {
		b.Fatal(err)
	}
	run := Figures{"p99": 0.2, "goodput_ratio": 0.995, "recovery_time": 3, "metastable": 0}
	phases := map[string]Figures{"surge": {"shed_ratio": 0.3}}
	b.ReportAllocs()
	for b.Loop() {
		if Failed(Evaluate(as, run, Scopes{Phases: phases})) != 0 {
			b.Fatal("failed")
		}
	}
}

func TestRouteScopedAssertions(t *testing.T) {
	routes := map[string]Figures{"GET /a": {"p99": 0.2, "requests": 100}, "checkout": {"p99": 2}}
	tests := []struct {
		expr string
		pass bool
		msg  string
	}{
		{`route("GET /a").p99 < 1s`, true, `route("GET /a").p99 = 200ms, want < 1s`},
		{`route("GET /a").requests > 1e+06`, false, `route("GET /a").requests = 100, want > 1000000`},
		{`route(checkout).p99 < 1s`, false, `route(checkout).p99 = 2s, want < 1s`},
		{`route("GET /b").p99 < 1s`, false, `route("GET /b").p99: no route "GET /b" in this run (routes: "GET /a", checkout)`},
	}
	for _, tt := range tests {
		a, err := ParseAssertion(tt.expr)
		require.NoError(t, err, tt.expr)
		assert.Equal(t, tt.expr, a.String(), "canonical form")
		v := a.Evaluate(Figures{}, Scopes{Routes: routes})
		assert.Equal(t, tt.pass, v.Pass, tt.expr)
		assert.Equal(t, tt.msg, v.Message, tt.expr)
	}
	for expr, want := range map[string]string{
		`route(GET /a).p99 < 1s`:              `quote a route that is not a plain word`,
		`route("GET /a".p99 < 1s`:             `route scope must read`,
		`phase(x).route(GET /a).p99 < 1s`:     `quote a route that is not a plain word`,
		`phase(x).route(a).recovered == true`: `whole run only, not per phase`,
		`route("GET /a").recovery_time < 10s`: `whole run only, not per route`,
	} {
		_, err := ParseAssertion(expr)
		if assert.Error(t, err, expr) {
			assert.Contains(t, err.Error(), want, expr)
		}
	}
}
