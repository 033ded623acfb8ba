package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/results"
)

// TestMetricsFlagsBadUsage: the metrics flags refuse what would expose the
// metrics unprotected or make no sense, naming the flag.
func TestMetricsFlagsBadUsage(t *testing.T) {
	srv := okServer(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	twoLines := filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	require.NoError(t, os.WriteFile(twoLines, []byte("a\nb\n"), 0o600))
	tests := []struct {
		cmd  string
		args []string
		text string
	}{
		{"attack", []string{"--metrics-listen", "0.0.0.0:0"}, "--metrics-token-file"},
		{"attack", []string{"--metrics-listen", ":0"}, "not a loopback address"},
		{"attack", []string{"--metrics-listen", "9464"}, "--metrics-listen"},
		{"attack", []string{"--metrics-linger", "3s"}, "--metrics-linger: needs --metrics-listen"},
		{"attack", []string{"--metrics-listen", "127.0.0.1:0", "--metrics-linger", "-1s"}, "--metrics-linger"},
		{"attack", []string{"--metrics-listen", "0.0.0.0:0", "--metrics-token-file", empty}, "is empty"},
		{"attack", []string{"--metrics-listen", "0.0.0.0:0", "--metrics-token-file", twoLines}, "more than one line"},
		{"ramp", []string{"--from", "10", "--to", "20", "--step", "10", "--metrics-listen", "0.0.0.0:0"}, "--metrics-token-file"},
	}
	for _, tt := range tests {
		args := append([]string{tt.cmd, "--url", srv.URL}, tt.args...)
		if tt.cmd == "attack" {
			args = append(args, "--duration", "100ms", "--quiet")
		}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if code := cli.Code(err); code != cli.ExitUsage || err == nil || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s %v: exit %d, %v; want exit %d naming %q", tt.cmd, tt.args, code, err, cli.ExitUsage, tt.text)
		}
	}
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPrometheus starts Debian's prometheus scraping target every second,
// with native histograms on, and returns its base URL once it is ready and
// has the target among its active ones (its discovery passes targets on
// every 5 s); it is killed at cleanup.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (%v): install the Debian package prometheus (apt-get install -y prometheus; .ci/run does)", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: loadgen
    static_configs:
      - targets: [%q]
`, target), 0o600))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var log bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn", "--enable-feature=native-histograms")
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		ready, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		ready.Body.Close()
		return ready.StatusCode == http.StatusOK && activeTarget(base)
	}, 20*time.Second, 100*time.Millisecond, "prometheus ready at %s with its target", base)
	return base
}

// activeTarget reports whether the prometheus at base has a target to
// scrape.
func activeTarget(base string) bool {
	resp, err := http.Get(base + "/api/v1/targets")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []json.RawMessage `json:"activeTargets"`
		} `json:"data"`
	}
	return json.NewDecoder(resp.Body).Decode(&body) == nil && len(body.Data.ActiveTargets) > 0
}

// promSample is one series of an instant query's answer.
type promSample struct {
	labels map[string]string
	value  float64
}

// promQuery runs an instant query at instant at; a range vector's samples
// come one after the other.
func promQuery(t *testing.T, base, query string, at time.Time) []promSample {
	t.Helper()
	u := base + "/api/v1/query?" + url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}.Encode()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "success", body.Status, "query %s: %s", query, body.Error)
	var out []promSample
	for _, r := range body.Data.Result {
		for _, p := range append(r.Values, r.Value) {
			if p[1] == nil {
				continue
			}
			s, _ := p[1].(string)
			v, err := strconv.ParseFloat(s, 64)
			require.NoError(t, err)
			out = append(out, promSample{labels: r.Metric, value: v})
		}
	}
	return out
}

// TestMetricsWatchedByPrometheus: a real Prometheus scraping an attack's
// --metrics-listen sees the offered rate in the run's middle within 5%,
// and, thanks to --metrics-linger, final outcome counts equal to the
// results file's.
func TestMetricsWatchedByPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: 15 s with a real Prometheus")
	}
	// It mostly waits for Prometheus's scrapes, and so runs beside
	// TestEndToEndShardedRunMergesIntoTheUnshardedRun. It is the one
	// parallel test that runs loadgen in this process: a run's --procs
	// auto sets GOMAXPROCS, process-wide.
	t.Parallel()
	const rate = 200
	srv := okServer(t)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	prom := startPrometheus(t, metricsAddr)
	out := filepath.Join(t.TempDir(), "r.mpk")
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(context.Background(), []string{"attack", "--url", srv.URL + "/x", "--rate", strconv.Itoa(rate), "--duration", "10s",
		"--quiet", "--seed", "16", "-o", out, "--metrics-listen", metricsAddr, "--metrics-linger", "3s"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	returned := time.Now()
	require.Contains(t, stderr.String(), "metrics on http://"+metricsAddr+"/metrics")

	h, rs, _ := readResultsAt(t, out)

	// The offered rate in the run's middle (the schedule's, from the
	// header: the generator gets ready before its first instant).
	at := h.Start.Add(6 * time.Second)
	mid := promQuery(t, prom, `sum(rate(loadgen_requests_total{run="attack"}[5s]))`, at)
	if len(mid) != 1 || mid[0].value < rate*0.95 || mid[0].value > rate*1.05 {
		t.Logf("scrapes around the middle: up %v, duration %v, requests %v", promQuery(t, prom, `up[8s]`, at.Add(3*time.Second)),
			promQuery(t, prom, `scrape_duration_seconds[8s]`, at.Add(3*time.Second)), promQuery(t, prom, `loadgen_requests_total[8s]`, at.Add(3*time.Second)))
	}
	require.Len(t, mid, 1, "no requests series in the run's middle")
	assert.InEpsilon(t, rate, mid[0].value, 0.05, "rate(loadgen_requests_total[5s]) at 6 s")

	// The last values scraped during the linger.
	final := promQuery(t, prom, `last_over_time(loadgen_outcomes_total{run="attack"}[6s])`, returned)
	got := map[string]float64{}
	for _, s := range final {
		got[s.labels["outcome"]] += s.value
	}
	want := map[string]float64{}
	for _, o := range results.Outcomes() {
		want[o.String()] = 0
	}
	for _, r := range rs {
		if r.Final {
			want[r.Outcome.String()]++
		}
	}
	assert.Equal(t, want, got, "final loadgen_outcomes_total against the results file")
	assert.Equal(t, float64(10*rate), want["ok"], "the attack's requests")

	// The native histogram of latency from intended start, as Prometheus
	// ingested it: it counts every successful request, and its p99 is the
	// results file's within a native bucket's width (factor 1.1, so
	// about ±10% once interpolated). Prometheus 2.42's last_over_time
	// does not carry native histograms, so these read the last scrape of
	// the linger (scrapes every second, linger 3 s).
	lastScrape := returned.Add(-time.Second)
	count := promQuery(t, prom, `histogram_count(sum(loadgen_request_latency_seconds{run="attack"}))`, lastScrape)
	require.Len(t, count, 1, "no native histogram of request latency")
	assert.Equal(t, want["ok"], count[0].value, "histogram_count of the native histogram")
	var lats []time.Duration
	for _, r := range rs {
		if r.Final && r.Outcome == results.OutcomeOK {
			lats = append(lats, r.Latency())
		}
	}
	slices.Sort(lats)
	p99 := lats[int(math.Ceil(0.99*float64(len(lats))))-1].Seconds()
	q := promQuery(t, prom, `histogram_quantile(0.99, sum(loadgen_request_latency_seconds{run="attack"}))`, lastScrape)
	require.Len(t, q, 1, "no p99 from the native histogram")
	assert.InEpsilon(t, p99, q[0].value, 0.15, "p99 from the native histogram against the results file's")
	assert.Less(t, returned.Sub(start), 25*time.Second)
}
