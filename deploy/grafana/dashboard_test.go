package grafana_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/harness/metrics"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/workload"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// metricName finds the series names of a PromQL expression: every name of
// loadgen or the target starts with one of these prefixes.
var metricName = regexp.MustCompile(`\b(?:loadgen|goodput_target)_[a-zA-Z0-9_]+\b`)

// baseName strips the suffixes of a histogram's or summary's series.
func baseName(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		name = strings.TrimSuffix(name, s)
	}
	return name
}

// scrape returns the series names (base names) h serves on /metrics.
func scrape(t *testing.T, h http.Handler) map[string]bool {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[baseName(name)] = true
	}
	require.NoError(t, sc.Err())
	return names
}

// exported starts the reference target and a short loadgen run against it,
// both in-process, and returns the series names both serve.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	cfg, err := target.Preset(target.PresetProtected)
	require.NoError(t, err)
	srv, err := target.New(cfg)
	require.NoError(t, err)
	api := httptest.NewServer(srv.Handler())
	defer api.Close()

	sched, err := workload.NewSchedule(workload.Constant(500*time.Millisecond, 100))
	require.NoError(t, err)
	d, err := harness.NewDriver(workload.Config{Schedule: sched, Seed: 16, BaseURL: api.URL,
		Mix: []workload.Template{{Name: "item", URL: "/api/items/{rand:1-100}"}}, Tenants: workload.Tenants{Count: 5}})
	require.NoError(t, err)
	reg := metrics.NewRegistry()
	driven, err := d.Run(context.Background(), harness.DriveOptions{Name: "grafana", Metrics: reg})
	require.NoError(t, err)
	require.Positive(t, driven.Counts.Requests)

	names := scrape(t, reg.Handler(""))
	for n := range scrape(t, srv.AdminHandler()) {
		names[n] = true
	}
	return names
}

// TestDashboardQueriesNameExportedSeries: every PromQL expression of the
// dashboard names only series that loadgen or the target really export,
// and the dashboard covers both.
func TestDashboardQueriesNameExportedSeries(t *testing.T) {
	b, err := os.ReadFile("goodput.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d))
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.Title)
	assert.GreaterOrEqual(t, d.SchemaVersion, 39, "current Grafana schema")

	have := exported(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		names := metricName.FindAllString(expr, -1)
		assert.NotEmpty(t, names, "%s: %q names none of loadgen's or the target's series", where, expr)
		for _, n := range names {
			used[n] = true
			assert.True(t, have[baseName(n)], "%s: %s is not a series loadgen or the target exports", where, n)
		}
	}
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
			ids[p.ID] = true
			for _, tg := range p.Targets {
				check(p.Title+" "+tg.RefID, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			check("variable "+v.Name, v.Definition)
		}
	}
	for _, want := range []string{"loadgen_requests_total", "loadgen_goodput_total", "loadgen_request_latency_seconds_bucket",
		"loadgen_outcomes_total", "loadgen_in_flight", "goodput_target_requests_total", "goodput_target_shed_total",
		"goodput_target_queue_wait_seconds_bucket", "goodput_target_tenant_requests"} {
		assert.True(t, used[want], "the dashboard does not chart %s", want)
	}
	var unused []string
	for n := range have {
		if strings.HasPrefix(n, "loadgen_") && !used[n] && !used[n+"_bucket"] && !used[n+"_sum"] {
			unused = append(unused, n)
		}
	}
	slices.Sort(unused)
	assert.Empty(t, unused, "loadgen series the dashboard does not chart")
}
