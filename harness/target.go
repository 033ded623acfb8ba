package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/faults/proxy"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/workload"
)

// ErrUnreachable is returned when the scenario's target URL does not
// answer before the run.
var ErrUnreachable = errors.New("target unreachable")

// ConfigError is a scenario that is refused when the run is being set up:
// the embedded target's overrides, a fault its target cannot take, a
// client policy. Nothing has run yet.
type ConfigError struct{ Err error }

// Error returns the refusal, naming the field.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// service is the target of one variant: the base URL the load is sent
// to, the reference target's admin URL, the fault proxy's injector when
// one is in front, and a way to stop it all.
type service struct {
	url   string
	admin string          // "" when the target has no known admin API
	token string          // the admin API's bearer token; "" sends none
	from  string          // where token came from, or where one can be given
	proxy faults.Injector // nil without a fault proxy
	stop  func() error
}

// targetConfig returns the reference target's configuration for an
// embedded target: the preset with the profile's overrides.
func targetConfig(s *profiles.Scenario) (target.Config, error) {
	e := s.Target.Embedded
	cfg, err := target.Preset(string(e.Preset))
	if err != nil {
		return target.Config{}, &ConfigError{fmt.Errorf("target.embedded.preset: %w", err)}
	}
	if err := e.Overrides.Decode(&cfg, "target.embedded.overrides"); err != nil {
		return target.Config{}, &ConfigError{err}
	}
	cfg.Preset = string(e.Preset)
	cfg.Seed = s.Seed
	if err := cfg.Validate(); err != nil {
		return target.Config{}, &ConfigError{fmt.Errorf("target.embedded.overrides: %w", err)}
	}
	return cfg, nil
}

// startTarget starts the embedded reference target on 127.0.0.1 (free
// ports), or checks that the scenario's URL answers and finds its admin
// token (see Options.AdminToken). deliverTo is the delivery sink's URL for
// the async messages route, when it has one.
func startTarget(ctx context.Context, s *profiles.Scenario, deliverTo string, opts *Options) (*service, error) {
	if s.Target.Embedded == nil {
		svc := &service{url: s.Target.URL, admin: s.Target.Admin, stop: func() error { return nil }}
		if svc.admin != "" {
			if err := adminToken(svc, s, opts); err != nil {
				return nil, err
			}
		}
		// The client's TLS files, when they load: a file that does not
		// fails the run later, naming it.
		tlsConf, _ := clientTLS(s.Client.TLS)
		rep, err := workload.Preflight(ctx, s.Target.URL, 2*time.Second, tlsConf)
		switch {
		case err != nil && rep.ClientCertRequested:
			return nil, fmt.Errorf("%w: %s: %w (it asked for a client certificate and none was given: client.tls.cert_file and key_file)", ErrUnreachable, s.Target.URL, err)
		case err != nil:
			return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, s.Target.URL, err)
		case rep.ClientCertRequested:
			opts.logger().Warn("the target asked for a client certificate and none was given (client.tls.cert_file and key_file): if it requires one (mutual TLS), it fails every request", "url", s.Target.URL)
		}
		return svc, nil
	}
	cfg, err := targetConfig(s)
	if err != nil {
		return nil, err
	}
	if deliverTo != "" {
		cfg.Messages.Queue.DeliverTo = deliverTo
	}
	return startEmbedded(ctx, cfg)
}

// startEmbedded starts the reference target of cfg on 127.0.0.1, on free
// ports for its API and its admin API.
func startEmbedded(ctx context.Context, cfg target.Config) (*service, error) {
	srv, err := target.New(cfg)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("target.embedded: %w", err)}
	}
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the reference target: %w", err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		api.Close()
		return nil, fmt.Errorf("start the reference target's admin API: %w", err)
	}
	// The target outlives an interrupted run's context: it is stopped
	// after the faults are rolled back.
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(srvCtx, api, admin) }()
	return &service{
		url:   "http://" + api.Addr().String(),
		admin: "http://" + admin.Addr().String(),
		token: cfg.AdminToken,
		from:  "target.embedded.overrides admin_token",
		stop: func() error {
			cancel()
			return <-done
		},
	}, nil
}

// adminToken sets svc's admin token: opts.AdminToken when given, else
// the content of the scenario's target.admin_token_file.
func adminToken(svc *service, s *profiles.Scenario, opts *Options) error {
	const field = "target.admin_token_file"
	switch {
	case opts.AdminToken != "":
		svc.token, svc.from = opts.AdminToken, opts.AdminTokenFrom
	case s.Target.AdminTokenFile != "":
		tok, err := targetadmin.ReadTokenFile(s.Target.AdminTokenFile)
		if err != nil {
			return &ConfigError{fmt.Errorf("%s: %w", field, err)}
		}
		svc.token, svc.from = tok, field+" "+s.Target.AdminTokenFile
	default:
		svc.from = opts.AdminTokenFrom
		if svc.from == "" {
			svc.from = field
		} else {
			svc.from += ", or the profile's " + field
		}
	}
	return nil
}

// injectors returns the fault injectors of a run: the reference target's
// admin API (when known) and the load.
func injectors(svc *service, load *faults.LoadInjector) faults.Injectors {
	in := faults.Injectors{Load: load}
	if svc.proxy != nil {
		in.Proxies = map[string]faults.Injector{proxyName: svc.proxy}
	}
	if svc.admin != "" {
		in.Target = &faults.TargetInjector{Admin: &targetadmin.Client{BaseURL: svc.admin, Token: svc.token, TokenFrom: svc.from}}
	}
	return in
}

// wastedMetric is the reference target's counter of requests whose work
// finished after their client had given up.
const wastedMetric = "goodput_target_wasted_requests_total"

// wastedWork reads the reference target's wasted-work counter (summed
// over routes) from its admin /metrics, with the admin token when there
// is one.
func wastedWork(ctx context.Context, admin, token string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("read wasted work: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read wasted work: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read wasted work: GET /metrics: %s", resp.Status)
	}
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, wastedMetric) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("read wasted work: %q: %w", line, err)
		}
		total += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read wasted work: %w", err)
	}
	return total, nil
}

// proxyName is the fault target that means "the fault proxy in front of
// the target".
const proxyName = "proxy"

// usesProxy reports whether a fault of s acts through the fault proxy.
func usesProxy(s *profiles.Scenario) bool {
	for _, f := range s.Faults {
		if f.Target == proxyName {
			return true
		}
	}
	return false
}

// startProxy puts a fault proxy in front of svc, on 127.0.0.1, and makes
// it the service the load is sent to: svc.url becomes the proxy's, and the
// returned injector applies the timeline's proxy faults in process.
func startProxy(ctx context.Context, svc *service, seed uint64) (faults.Injector, error) {
	up, err := url.Parse(svc.url)
	if err != nil {
		return nil, fmt.Errorf("fault proxy: upstream %s: %w", svc.url, err)
	}
	p, err := proxy.New(proxy.Config{Upstream: up, Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("fault proxy: %w", err)
	}
	data, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy: %w", err)
	}
	control, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		data.Close()
		return nil, fmt.Errorf("fault proxy: %w", err)
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- p.Serve(pctx, data, control) }()
	stopTarget := svc.stop
	svc.url = "http://" + data.Addr().String()
	svc.stop = func() error {
		cancel()
		return errors.Join(<-done, stopTarget())
	}
	return &proxy.Injector{Proxy: p}, nil
}
