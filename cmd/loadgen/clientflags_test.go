package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/workload/retry"
)

// retryValues is the text of the client retry settings, the same for a
// flag (--retry-budget) and a profile field (client.retry_budget).
type retryValues struct {
	retryOn, backoff, jitter, budget, throttle, hedge string
}

// every setting not under test is given, the same, to both paths.
var commonFlags = []string{"--timeout", "1s", "--max-attempts", "3", "--retry-after-max", "5s", "--backoff-base", "50ms", "--backoff-max", "1s"}

const commonClient = "  timeout: 1s\n  max_attempts: 3\n  retry_after_max: 5s\n  backoff_base: 50ms\n  backoff_max: 1s\n"

// flagPolicy builds the policy of v through the loadgen flags.
func flagPolicy(v retryValues) (retry.Policy, error) {
	fs := pflag.NewFlagSet("attack", pflag.ContinueOnError)
	c := addClientFlags(fs)
	args := append([]string{
		"--retry-on", v.retryOn, "--backoff", v.backoff, "--jitter", v.jitter,
		"--retry-budget", v.budget, "--throttle", v.throttle, "--hedge-after", v.hedge,
	}, commonFlags...)
	if err := fs.Parse(args); err != nil {
		return retry.Policy{}, err
	}
	return c.retryPolicy()
}

// profilePolicy builds the policy of v through a profile's client section.
func profilePolicy(v retryValues) (retry.Policy, error) {
	list := "[" + v.retryOn + "]"
	if v.retryOn == "none" {
		list = "[]"
	}
	src := fmt.Sprintf(`target: {url: "http://127.0.0.1:1"}
requests: [{name: r, path: /}]
phases: [{name: p, duration: 1s, rate: 1}]
client:
%s  retry_on: %s
  backoff: %q
  jitter: %q
  retry_budget: %q
  throttle: %q
  hedge_after: %q
`, commonClient, list, v.backoff, v.jitter, v.budget, v.throttle, v.hedge)
	doc, err := profiles.Parse("client.yaml", "", []byte(src))
	if err != nil {
		return retry.Policy{}, err
	}
	runs, err := doc.Resolve(profiles.Options{})
	if err != nil {
		return retry.Policy{}, err
	}
	return harness.RetryPolicy(runs[0].Scenario.Client)
}

// samePolicy checks that v gives one policy by both paths.
func samePolicy(t *testing.T, v retryValues) {
	t.Helper()
	fromFlags, err := flagPolicy(v)
	if err != nil {
		t.Fatalf("flags: %v", err)
	}
	fromProfile, err := profilePolicy(v)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	if !reflect.DeepEqual(fromFlags, fromProfile) {
		t.Errorf("%+v:\nflags   %+v\nprofile %+v", v, fromFlags, fromProfile)
	}
}

// TestRetryValuesSameFromFlagsAndProfile feeds the same text to the
// loadgen flags and to a profile and wants equal policies: one grammar,
// one parser, one value per concept (issue #13).
func TestRetryValuesSameFromFlagsAndProfile(t *testing.T) {
	base := retryValues{retryOn: "429,5xx,timeout,conn", backoff: "exponential", jitter: "full", budget: "none", throttle: "none", hedge: "none"}
	with := func(f func(*retryValues)) retryValues { v := base; f(&v); return v }
	for _, v := range []retryValues{
		base,
		with(func(v *retryValues) { v.retryOn = "503" }),
		with(func(v *retryValues) { v.retryOn = "4xx,conn" }),
		with(func(v *retryValues) { v.retryOn = "none" }),
		with(func(v *retryValues) { v.backoff, v.jitter = "none", "none" }),
		with(func(v *retryValues) { v.backoff, v.jitter = "constant", "equal" }),
		with(func(v *retryValues) { v.jitter = "decorrelated" }),
		with(func(v *retryValues) { v.budget = "token:10,0.1" }),
		with(func(v *retryValues) { v.budget = "aws" }),
		with(func(v *retryValues) { v.budget = "ratio:0.1" }),
		with(func(v *retryValues) { v.budget = "ratio:0.1,5" }),
		with(func(v *retryValues) { v.budget = "ratio:0,5" }),
		with(func(v *retryValues) { v.throttle = "sre:2" }),
		with(func(v *retryValues) { v.throttle = "sre:1.5" }),
		with(func(v *retryValues) { v.hedge = "50ms" }),
		with(func(v *retryValues) { v.hedge = "p95" }),
		with(func(v *retryValues) { v.hedge = "p99.9" }),
		{retryOn: "5xx", backoff: "constant", jitter: "none", budget: "token:5,0.5", throttle: "sre:2", hedge: "p99"},
	} {
		t.Run(fmt.Sprintf("%+v", v), func(t *testing.T) { samePolicy(t, v) })
	}
}

// A profile refused retry_budget ratio:0.1,5 (FRACTION,MINPERSEC), which
// --retry-budget accepted: now both give the same budget.
func TestProfileRatioBudgetWithMinPerSecondAsFlag(t *testing.T) {
	v := retryValues{retryOn: "5xx", backoff: "exponential", jitter: "full", budget: "ratio:0.1,5", throttle: "none", hedge: "none"}
	samePolicy(t, v)
	p, err := profilePolicy(v)
	if want := (retry.BudgetSpec{Kind: retry.BudgetRatio, Fraction: 0.1, MinPerSecond: 5, Window: p.Budget.Window}); err != nil || p.Budget != want || p.Budget.Window <= 0 {
		t.Errorf("profile budget = %+v, %v; want %+v with a window", p.Budget, err, want)
	}
}

// A value refused is refused by both paths, each error naming where it
// came from (the flag; the profile's file, line and field) and what is
// valid.
func TestRetryValuesRefusedByFlagsAndProfile(t *testing.T) {
	base := retryValues{retryOn: "5xx", backoff: "exponential", jitter: "full", budget: "none", throttle: "none", hedge: "none"}
	for _, c := range []struct {
		v           retryValues
		flag, field string
		line        int
	}{
		{retryValues{retryOn: "600"}, "--retry-on", "client.retry_on[0]", 10},
		{retryValues{backoff: "exponentail"}, "--backoff", "client.backoff", 11},
		{retryValues{jitter: "ful"}, "--jitter", "client.jitter", 12},
		{retryValues{budget: "token:10"}, "--retry-budget", "client.retry_budget", 13},
		{retryValues{budget: "ratio:2"}, "--retry-budget", "client.retry_budget", 13},
		{retryValues{budget: "token:0.5,0.1"}, "--retry-budget", "client.retry_budget", 13},
		{retryValues{throttle: "sre:0.5"}, "--throttle", "client.throttle", 14},
		{retryValues{hedge: "p100"}, "--hedge-after", "client.hedge_after", 15},
	} {
		v := base
		for _, p := range []struct {
			dst *string
			src string
		}{
			{&v.retryOn, c.v.retryOn}, {&v.backoff, c.v.backoff}, {&v.jitter, c.v.jitter},
			{&v.budget, c.v.budget}, {&v.throttle, c.v.throttle}, {&v.hedge, c.v.hedge},
		} {
			if p.src != "" {
				*p.dst = p.src
			}
		}
		_, ferr := flagPolicy(v)
		if ferr == nil || !strings.Contains(ferr.Error(), c.flag+":") || !strings.Contains(ferr.Error(), "valid") {
			t.Errorf("flags %+v: %v; want an error naming %s and what is valid", v, ferr, c.flag)
		}
		_, perr := profilePolicy(v)
		where := fmt.Sprintf("client.yaml:%d:", c.line)
		if perr == nil || !strings.Contains(perr.Error(), where) || !strings.Contains(perr.Error(), c.field+": found") || !strings.Contains(perr.Error(), "want") {
			t.Errorf("profile %+v: %v; want an error at %s naming %s and what is valid", v, perr, where, c.field)
		}
	}
}
