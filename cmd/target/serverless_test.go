package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
)

// Issue 17's first done-when: an account of 10 running 100 ms functions
// serves about 100/s, measured by loadgen attack at 200/s, and throttles
// the rest with 429 X-Throttle-Reason: account.
func TestServerlessAccountLimitOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("real clock, 2 s of load")
	}
	api, _, stop := startRun(t, "--preset", "serverless", "--fn", "work=100ms", "--account-concurrency", "10")
	const rate, seconds = 200, 2
	r := surge(t, api+"/fn/work", rate, seconds)
	served := float64(r.Outcomes["ok"]) / seconds
	t.Logf("outcomes %v, throttles %v: %.0f served per second", r.Outcomes, r.Throttles, served)
	assert.GreaterOrEqual(t, served, 60.0)
	assert.LessOrEqual(t, served, 130.0)
	assert.EqualValues(t, rate*seconds, r.Outcomes["ok"]+r.Outcomes["shed"], "every request served or throttled")
	assert.Equal(t, map[string]int64{"account": r.Outcomes["shed"]}, r.Throttles, "throttled for the account")
	require.NoError(t, stop())
}

func TestServerlessFlags(t *testing.T) {
	cfg, _, err := parseArgs([]string{"--fn", "a=lognormal:20ms,80ms,init=uniform:1s-2s,reserved=3,provisioned=1,errors=0.1",
		"--fn", "b=exponential:5ms", "--scale-rate", "5/1s", "--idle-timeout", "1m", "--env-rps", "0",
		"--api-rate", "50"}, nil)
	require.NoError(t, err)
	sc := cfg.Serverless
	assert.True(t, sc.Enabled, "any serverless flag switches it on")
	require.Len(t, sc.Functions, 2)
	assert.Equal(t, "lognormal:20ms,80ms", sc.Functions[0].Duration.String())
	assert.Equal(t, "uniform:1s-2s", sc.Functions[0].Init.String())
	assert.Equal(t, [2]int{3, 1}, [2]int{sc.Functions[0].Reserved, sc.Functions[0].Provisioned})
	assert.Equal(t, 0.1, sc.Functions[0].ErrorRate)
	assert.Equal(t, 5, sc.ScaleRate)
	assert.Equal(t, time.Second, time.Duration(sc.ScaleInterval))
	assert.Equal(t, 50, sc.APIBurst)
	assert.Zero(t, sc.Functions[0].APIRate, "no function API throttle unless asked")

	cfg, _, err = parseArgs([]string{"--fn", "a=1ms,api_rate=20", "--fn", "b=1ms,api_rate=2.5,api_burst=7"}, nil)
	require.NoError(t, err)
	fa, fb := cfg.Serverless.Functions[0], cfg.Serverless.Functions[1]
	assert.Equal(t, [2]float64{20, 20}, [2]float64{fa.APIRate, float64(fa.APIBurst)}, "burst defaults to the rate")
	assert.Equal(t, [2]float64{2.5, 7}, [2]float64{fb.APIRate, float64(fb.APIBurst)})

	cfg, _, err = parseArgs([]string{"--fn", "a=lognormal:20ms,80ms,dep=db,dep=search,dep=db", "--fn", "b=1ms"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"db", "search", "db"}, cfg.Serverless.Functions[0].Deps, "one call per dep=, in order")
	assert.Equal(t, "lognormal:20ms,80ms", cfg.Serverless.Functions[0].Duration.String())
	assert.Empty(t, cfg.Serverless.Functions[1].Deps)
	_, _, err = parseArgs([]string{"--fn", "a=1ms,dep=cache"}, nil)
	assert.ErrorContains(t, err, `--fn: serverless.functions[a].deps: unknown dependency "cache", want one of db, search`)

	for args, want := range map[string][]string{
		"fn grammar":    {"--fn", "a"},
		"fn latency":    {"--fn", "a=fast"},
		"fn option":     {"--fn", "a=1ms,color=red"},
		"scale grammar": {"--scale-rate", "10"},
		"account range": {"--preset", "serverless", "--account-concurrency", "0"},
		"env-rps range": {"--preset", "serverless", "--env-rps", "-1"},
		"idle range":    {"--preset", "serverless", "--idle-timeout", "0s"},
		"reserved":      {"--fn", "a=1ms,reserved=2000"},
		"fn api_rate":   {"--fn", "a=1ms,api_rate=-1"},
		"fn api_burst":  {"--fn", "a=1ms,api_rate=5,api_burst=0"},
		"fn api number": {"--fn", "a=1ms,api_rate=fast"},
	} {
		_, _, err := parseArgs(want, nil)
		var ce *cli.Error
		if assert.True(t, errors.As(err, &ce), args) {
			assert.Equal(t, cli.ExitUsage, ce.Code, args)
		}
		t.Logf("%s: %v", args, err)
	}
}
