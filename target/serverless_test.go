package target

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/target/serverless"
)

func serverlessConfig(t *testing.T) Config {
	cfg := fast(t, PresetServerless)
	f := serverless.DefaultFunction("fn1", dist.Latency{Dist: "fixed", P50: dist.Duration(5 * time.Millisecond)})
	f.Init = dist.Latency{Dist: "fixed", P50: dist.Duration(20 * time.Millisecond)}
	f.Reserved = 1
	cfg.Serverless.Functions = []serverless.Function{f}
	cfg.Serverless.AccountConcurrency = 5
	cfg.Serverless.EnvRPS = 0 // back-to-back invokes reuse one environment
	return cfg
}

func do(t *testing.T, c *http.Client, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestServerlessRoutes(t *testing.T) {
	ts := start(t, serverlessConfig(t))

	resp, body := do(t, ts.client, "POST", ts.api+"/fn/fn1", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"cold":true`)
	assert.Regexp(t, `app;dur=[\d.]+, init;dur=2\d`, resp.Header.Get("Server-Timing"), "a cold invoke reports its init")

	resp, body = do(t, ts.client, "POST", ts.api+"/fn/fn1", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"cold":false`)
	assert.NotContains(t, resp.Header.Get("Server-Timing"), "init")

	resp, _ = do(t, ts.client, "POST", ts.api+"/fn/nope", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, body = do(t, ts.client, "POST", ts.api+"/fn/fn1?async=1", "")
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	assert.JSONEq(t, `{"function":"fn1","id":1}`, body)

	// Live: an API throttle of 1/s with a burst of 1.
	resp, body = do(t, ts.client, "PUT", ts.admin+"/admin/serverless",
		`{"api_rate": 1, "api_burst": 1, "functions": [{"name": "fn1", "reserved": 2}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"reserved":2`)
	do(t, ts.client, "POST", ts.api+"/fn/fn1", "")
	resp, _ = do(t, ts.client, "POST", ts.api+"/fn/fn1", "")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "api", resp.Header.Get("X-Throttle-Reason"))

	for body, field := range map[string]string{
		`{"account_concurrency": 0}`:                      "account_concurrency: 0, want 1..100000",
		`{"api_rate": -1}`:                                "api_rate",
		`{"env_rps": 1e9}`:                                "env_rps",
		`{"functions": [{"name": "fn2"}]}`:                "functions",
		`{"enabled": false}`:                              "enabled",
		`{"functions": [{"name": "fn1", "reserved": 9}]}`: "functions[fn1].reserved: 9, want 0..5",
		`{"async": {"retries": 3}}`:                       "async.retries: 3, want 0..2",
		`{"no_such": 1}`:                                  "no_such",
		`{"functions": [{"name": "fn1", "deps": ["x"]}]}`: "functions[fn1].deps: unknown dependency",
	} {
		resp, got := do(t, ts.client, "PUT", ts.admin+"/admin/serverless", body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		assert.Contains(t, got, field, body)
	}

	resp, body = do(t, ts.client, "GET", ts.admin+"/metrics", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		`goodput_target_serverless_concurrent_executions{function="fn1"} `,
		`goodput_target_serverless_environments{function="fn1",state="idle"} `,
		`goodput_target_serverless_cold_starts_total{function="fn1"} 1`,
		`goodput_target_serverless_throttles_total{reason="api"} 1`,
		`goodput_target_serverless_throttles_total{reason="scaling"} 0`,
		`goodput_target_serverless_init_duration_seconds_count{function="fn1"} 1`,
		`goodput_target_requests_total{outcome="throttled",route="fn"} 1`,
	} {
		assert.True(t, strings.Contains(body, want), "/metrics lacks %s", want)
	}
}

// Reserved concurrency: the second concurrent invoke of a function with
// reservation 1 is throttled with its reason and does no work.
func TestServerlessThrottleReason(t *testing.T) {
	cfg := serverlessConfig(t)
	cfg.Serverless.Functions[0].Duration = dist.Latency{Dist: "fixed", P50: dist.Duration(300 * time.Millisecond)}
	ts := start(t, cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := ts.client.Post(ts.api+"/fn/fn1", "", nil)
		if err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool {
		return ts.s.fns.Stats(time.Now()).Concurrency == 1
	}, 5*time.Second, time.Millisecond)
	resp, _ := do(t, ts.client, "POST", ts.api+"/fn/fn1", "")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "reserved", resp.Header.Get("X-Throttle-Reason"))
	<-done
}

// Per-function API throttling: a function's own token bucket refuses its
// requests with reason api and leaves the other functions alone; the
// global API throttle stays in front of all of them.
func TestServerlessFunctionAPIThrottle(t *testing.T) {
	cfg := serverlessConfig(t)
	cfg.Serverless.Functions[0].Reserved = 0
	noisy := cfg.Serverless.Functions[0]
	noisy.Name, noisy.APIRate, noisy.APIBurst = "noisy", 0.001, 2 // two, then one per 1000 s
	cfg.Serverless.Functions = append(cfg.Serverless.Functions, noisy)
	ts := start(t, cfg)

	codes := func(fn string, n int) (ok, api int) {
		for range n {
			resp, body := do(t, ts.client, "POST", ts.api+"/fn/"+fn, "")
			switch {
			case resp.StatusCode == http.StatusOK:
				ok++
			case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("X-Throttle-Reason") == "api":
				api++
			default:
				t.Errorf("%s: %d %s %s", fn, resp.StatusCode, resp.Header.Get("X-Throttle-Reason"), body)
			}
		}
		return ok, api
	}
	ok, api := codes("noisy", 5)
	assert.Equal(t, [2]int{2, 3}, [2]int{ok, api}, "noisy: its burst, then throttled")
	ok, api = codes("fn1", 5)
	assert.Equal(t, [2]int{5, 0}, [2]int{ok, api}, "fn1 has no API throttle of its own")
	for _, f := range ts.s.fns.Stats(time.Now()).Functions {
		if f.Name == "noisy" {
			assert.Equal(t, uint64(2), f.Invokes, "a throttled request never reaches the platform")
		}
	}

	// Live: a function's throttle changes through the admin API, and the
	// global one still applies in front of every function.
	resp, body := do(t, ts.client, "PUT", ts.admin+"/admin/serverless",
		`{"api_rate": 0.001, "api_burst": 3, "functions": [{"name": "noisy", "api_rate": 0}, {"name": "fn1", "api_rate": 0.001, "api_burst": 1}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"name":"fn1"`)
	ok, api = codes("fn1", 2)
	assert.Equal(t, [2]int{1, 1}, [2]int{ok, api}, "fn1: its own burst of 1")
	ok, api = codes("noisy", 3)
	assert.Equal(t, [2]int{1, 2}, [2]int{ok, api}, "noisy: no throttle of its own; fn1's two requests took two of the global burst of 3")

	for body, field := range map[string]string{
		`{"functions": [{"name": "fn1", "api_rate": -1}]}`:                "functions[fn1].api_rate: -1, want 0..1000000",
		`{"functions": [{"name": "fn1", "api_rate": 2e6}]}`:               "functions[fn1].api_rate",
		`{"functions": [{"name": "fn1", "api_rate": 5, "api_burst": 0}]}`: "functions[fn1].api_burst: 0, want 1..1000000 when api_rate",
	} {
		resp, got := do(t, ts.client, "PUT", ts.admin+"/admin/serverless", body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		assert.Contains(t, got, field, body)
	}
}

func TestServerlessConfigValidation(t *testing.T) {
	cfg := serverlessConfig(t)
	cfg.Serverless.EnvRPS = -1
	cfg.Serverless.APIRate = 5
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "serverless.env_rps: -1, want 0..100000")
	assert.Contains(t, err.Error(), "serverless.api_burst: 0, want 1..1000000 when api_rate > 0")

	got, err := DecodeYAML(fast(t, PresetUnprotected), false, "t.yaml", []byte(`preset: serverless
serverless:
  account_concurrency: 7
  functions:
    - name: a
      duration: {dist: exponential, scale: 40ms}
      init: {dist: fixed, p50: 1s}
      reserved: 3
      api_rate: 20
      api_burst: 5
      deps: [db, search]
`))
	require.NoError(t, err)
	assert.True(t, got.Serverless.Enabled)
	assert.Equal(t, 7, got.Serverless.AccountConcurrency)
	assert.Equal(t, 3, got.Serverless.Functions[0].Reserved)
	assert.Equal(t, [2]float64{20, 5}, [2]float64{got.Serverless.Functions[0].APIRate, float64(got.Serverless.Functions[0].APIBurst)})
	assert.Equal(t, []string{"db", "search"}, got.Serverless.Functions[0].Deps)
	_, err = DecodeYAML(got, true, "t.yaml", []byte("serverless:\n  scale_rate: 0\n"))
	assert.ErrorContains(t, err, "serverless.scale_rate: 0, want 1..100000")
	_, err = DecodeYAML(got, true, "t.yaml", []byte("serverless:\n  functions: [{name: a, deps: [cache]}]\n"))
	assert.ErrorContains(t, err, `serverless.functions[a].deps: unknown dependency "cache", want one of db, search`)
}

// A function calling db over real HTTP: its Server-Timing carries the db
// entry beside app and init. Then db is slowed through the admin API (as
// the fault injectors do): the same 10 invokes per second, which kept
// about 0.1 environment busy, now hold each one for over a second, so
// they want ~10 environments (Little's law), the account's 4 are all
// busy and the rest is throttled with reason account.
func TestServerlessSlowDependencyThrottlesOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("real clock, 5 s")
	}
	cfg := serverlessConfig(t)
	cfg.DB.Pool = 50
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(5 * time.Millisecond)}
	f := &cfg.Serverless.Functions[0]
	f.Reserved, f.Deps = 0, []string{"db"}
	cfg.Serverless.AccountConcurrency = 4
	ts := start(t, cfg)

	resp, body := do(t, ts.client, "POST", ts.api+"/fn/fn1", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Regexp(t, `^queue;dur=[\d.]+, app;dur=[\d.]+, init;dur=2\d[\d.]*, db;dur=[5-9][\d.]*$`, resp.Header.Get("Server-Timing"))

	// run offers 10 invokes per second for 2 s (a ticker drops the ticks a
	// stalled test misses rather than bursting them) and returns the
	// statuses, the throttle reasons and the most environments seen busy.
	run := func() (statuses map[int]int, reasons map[string]int, busy int) {
		statuses, reasons = map[int]int{}, map[string]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for range 20 {
			<-tick.C
			busy = max(busy, ts.s.fns.Stats(time.Now()).Functions[0].Busy)
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodPost, ts.api+"/fn/fn1", nil)
				if !assert.NoError(t, err) {
					return
				}
				resp, err := ts.client.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				statuses[resp.StatusCode]++
				if r := resp.Header.Get("X-Throttle-Reason"); r != "" {
					reasons[r]++
				}
			})
		}
		wg.Wait()
		return statuses, reasons, busy
	}
	statuses, _, busy := run()
	t.Logf("db at 5 ms: statuses %v, at most %d environments busy", statuses, busy)
	assert.Equal(t, map[int]int{http.StatusOK: 20}, statuses, "10/s of ~10 ms fits in an account of 4")
	assert.LessOrEqual(t, busy, 2)

	resp, body = do(t, ts.client, "PUT", ts.admin+"/admin/deps/db", `{"add_latency": "1s"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	statuses, reasons, busy := run()
	t.Logf("db at 1005 ms: statuses %v, reasons %v, at most %d environments busy", statuses, reasons, busy)
	assert.Equal(t, 4, busy, "the account's 4 environments all wait on db")
	assert.GreaterOrEqual(t, statuses[http.StatusTooManyRequests], 5, "theory: 8 served, 12 throttled")
	assert.Equal(t, statuses[http.StatusTooManyRequests], reasons["account"])
	assert.Equal(t, 20, statuses[http.StatusOK]+statuses[http.StatusTooManyRequests])
	st := ts.s.fns.Stats(time.Now()).Functions[0]
	assert.EqualValues(t, statuses[http.StatusTooManyRequests], st.Throttles["account"])
}
