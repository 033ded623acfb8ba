package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/target/serverless"
)

// serverlessFlags are the flags of the function platform behind
// POST /fn/{name} (the rest is in --config, under serverless:). Any of
// them switches the platform on.
type serverlessFlags struct {
	fns         []string
	account     int
	scaleRate   string
	idleTimeout time.Duration
	envRPS      float64
	apiRate     float64
	apiBurst    int
}

func addServerlessFlags(fs *pflag.FlagSet) *serverlessFlags {
	f := &serverlessFlags{}
	fs.StringArrayVar(&f.fns, "fn", nil, "serverless: a function, NAME=DURATION[,init=D][,reserved=N][,provisioned=N][,errors=P][,api_rate=R][,api_burst=B][,dep=db|search]... (repeatable; replaces the preset's functions; DURATION and init as --db-latency; each dep= is a call of that dependency pool per invoke, in order)")
	fs.IntVar(&f.account, "account-concurrency", 0, fmt.Sprintf("serverless: account concurrency quota, 1..%d", serverless.MaxAccountConcurrency))
	fs.StringVar(&f.scaleRate, "scale-rate", "", "serverless: new environments per function per interval, N/D such as 1000/10s")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 0, fmt.Sprintf("serverless: idle environments are reclaimed after this, %v..%v", serverless.MinIdleTimeout, serverless.MaxIdleTimeout))
	fs.Float64Var(&f.envRPS, "env-rps", 0, fmt.Sprintf("serverless: requests per second one environment may start, 0 (no ceiling)..%d", serverless.MaxEnvRPS))
	fs.Float64Var(&f.apiRate, "api-rate", 0, "serverless: API throttle (API Gateway style), requests per second (0: off)")
	fs.IntVar(&f.apiBurst, "api-burst", 0, "serverless: API throttle burst (default: the rate, at least 1)")
	return f
}

// apply sets the fields of the flags given on the command line; the error
// names the first flag with a bad value. Ranges are checked by the
// configuration's Validate afterwards, which names the field.
func (f *serverlessFlags) apply(fs *pflag.FlagSet, cfg *target.Config) error {
	sc := &cfg.Serverless
	var err error
	set := func(name string, apply func() error) {
		if err == nil && fs.Changed(name) {
			if !sc.Enabled {
				p, _ := target.Preset(target.PresetServerless)
				*sc = p.Serverless
			}
			if aerr := apply(); aerr != nil {
				err = cli.Usagef("--%s: %w", name, aerr)
			}
		}
	}
	set("fn", func() error {
		sc.Functions = nil
		for _, s := range f.fns {
			fn, err := parseFn(s)
			if err != nil {
				return err
			}
			sc.Functions = append(sc.Functions, fn)
		}
		return nil
	})
	set("account-concurrency", func() error { sc.AccountConcurrency = f.account; return nil })
	set("scale-rate", func() error {
		n, d, err := parseScaleRate(f.scaleRate)
		sc.ScaleRate, sc.ScaleInterval = n, dist.Duration(d)
		return err
	})
	set("idle-timeout", func() error { sc.IdleTimeout = dist.Duration(f.idleTimeout); return nil })
	set("env-rps", func() error { sc.EnvRPS = f.envRPS; return nil })
	set("api-rate", func() error {
		sc.APIRate = f.apiRate
		if !fs.Changed("api-burst") && sc.APIBurst < 1 {
			sc.APIBurst = max(1, int(f.apiRate))
		}
		return nil
	})
	set("api-burst", func() error { sc.APIBurst = f.apiBurst; return nil })
	return err
}

// parseFn reads NAME=DURATION[,init=D][,reserved=N][,provisioned=N][,errors=P][,api_rate=R][,api_burst=B][,dep=NAME]...
// (dep repeats: one call of that dependency per invoke, in order).
// DURATION and D are latency distributions as dist.ParseLatency reads them
// (lognormal:P50,P99 has a comma too: an element without "=" continues
// the previous one).
func parseFn(s string) (serverless.Function, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return serverless.Function{}, fmt.Errorf("%q, want NAME=DURATION[,init=D][,reserved=N][,provisioned=N][,errors=P][,api_rate=R][,api_burst=B][,dep=NAME]", s)
	}
	var parts []string
	for _, p := range strings.Split(rest, ",") {
		if len(parts) > 0 && !strings.Contains(p, "=") {
			parts[len(parts)-1] += "," + p
			continue
		}
		parts = append(parts, p)
	}
	d, err := dist.ParseLatency(parts[0])
	if err != nil {
		return serverless.Function{}, fmt.Errorf("%s: duration: %w", name, err)
	}
	fn := serverless.DefaultFunction(name, d)
	burst := false
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		var err error
		switch k {
		case "init":
			fn.Init, err = dist.ParseLatency(v)
		case "reserved":
			fn.Reserved, err = strconv.Atoi(v)
		case "provisioned":
			fn.Provisioned, err = strconv.Atoi(v)
		case "errors":
			fn.ErrorRate, err = strconv.ParseFloat(v, 64)
		case "api_rate":
			fn.APIRate, err = strconv.ParseFloat(v, 64)
		case "api_burst":
			fn.APIBurst, err = strconv.Atoi(v)
			burst = true
		case "dep":
			fn.Deps = append(fn.Deps, v)
		default:
			return fn, fmt.Errorf("%s: unknown option %q, want init, reserved, provisioned, errors, api_rate, api_burst or dep", name, k)
		}
		if err != nil {
			return fn, fmt.Errorf("%s: %s: %w", name, k, err)
		}
	}
	if fn.APIRate > 0 && !burst { // as --api-burst: the rate, at least 1
		fn.APIBurst = max(1, int(fn.APIRate))
	}
	return fn, nil
}

// parseScaleRate reads N/D: N environments per interval D (1000/10s).
func parseScaleRate(s string) (int, time.Duration, error) {
	a, b, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(a)
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("%q, want N/D such as 1000/10s", s)
	}
	d, err := time.ParseDuration(b)
	if err != nil {
		return 0, 0, fmt.Errorf("%q, want N/D such as 1000/10s (D a Go duration)", s)
	}
	return n, d, nil
}
