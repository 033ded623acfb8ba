package harness

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// RetryPolicy returns the workload client policy of a profile's client
// section. Its values are already package retry's, parsed by the parsers
// of the loadgen flags; only the policy as a whole is left to validate.
func RetryPolicy(c profiles.Client) (retry.Policy, error) {
	p := retry.Policy{
		AttemptTimeout: c.Timeout,
		Deadline:       c.Deadline,
		MaxAttempts:    c.MaxAttempts,
		RetryOn:        profiles.RetryOn(c.RetryOn),
		RetryAfter:     c.RetryAfter == nil || *c.RetryAfter,
		RetryAfterCap:  c.RetryAfterMax,
		Backoff:        retry.Backoff{Kind: c.Backoff.BackoffKind, Base: c.BackoffBase, Max: c.BackoffMax, Multiplier: 2},
		Jitter:         c.Jitter.Jitter,
		Budget:         c.RetryBudget.BudgetSpec,
		Throttle:       c.Throttle.ThrottleSpec,
		Hedge:          c.HedgeAfter.HedgeSpec,
	}
	if err := p.Validate(); err != nil {
		return retry.Policy{}, fmt.Errorf("client: %w", err)
	}
	return p, nil
}

// clientTLS returns the TLS configuration of a profile's client section
// (nil: the defaults), its files loaded.
func clientTLS(t profiles.ClientTLS) (*tls.Config, error) {
	return workload.TLSFiles{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName, Insecure: t.Insecure}.Config()
}

// loadConfig returns the load a prepared variant offers, the same in a
// run and in each cell of a survey: the mix and its data, the tenants,
// the clients and their connections. The caller sets the schedule, the
// seed, the start, the base URL and the shard.
func (p *prepared) loadConfig(opts *Options) (workload.Config, error) {
	s := p.scenario
	tlsConf, err := clientTLS(s.Client.TLS)
	if err != nil {
		return workload.Config{}, &ConfigError{fmt.Errorf("client.tls: %w", err)}
	}
	return workload.Config{
		Arrival:     arrival(s.Arrival),
		Mix:         p.mix,
		Data:        p.data,
		Tenants:     workload.Tenants{Count: s.Tenants.Count, Zipf: s.Tenants.Distribution.S},
		Retry:       p.policy,
		MaxInFlight: s.Client.MaxInflight,
		HTTP:        workload.ClientOptions{Connections: s.Client.Connections, HTTP2: s.Client.HTTP2, TLS: tlsConf},
		Procs:       opts.Procs,
	}, nil
}

// recoveryOptions returns how a scenario judges recovery: its
// slo.recovery tolerance against its latency SLO.
func recoveryOptions(s *profiles.Scenario) report.RecoveryOptions {
	rec := s.SLO.Recovery
	return report.RecoveryOptions{Window: rec.Window, Goodput: rec.Goodput, P99Factor: rec.P99Factor, SLO: s.SLO.Latency}
}

// schedulePhases returns the workload phases of a scenario: one per
// profile phase, a staircase giving one phase per step, named NAME/K.
func schedulePhases(s *profiles.Scenario) []workload.Phase {
	var out []workload.Phase
	for _, p := range s.Phases {
		switch {
		case p.Steps != nil:
			n := p.Steps.Count()
			for k := range n {
				rate := float64(p.Steps.From) + float64(k)*float64(p.Steps.By)
				out = append(out, workload.Phase{Name: fmt.Sprintf("%s/%d", p.Name, k+1), Duration: p.Steps.Every, From: rate, To: rate})
			}
		case p.From != 0 || p.To != 0:
			out = append(out, workload.Phase{Name: p.Name, Duration: p.Duration, From: float64(p.From), To: float64(p.To)})
		default:
			out = append(out, workload.Phase{Name: p.Name, Duration: p.Duration, From: float64(p.Rate), To: float64(p.Rate)})
		}
	}
	return out
}

// phaseInfos describes the phases for the results header.
func phaseInfos(phases []workload.Phase) []results.PhaseInfo {
	out := make([]results.PhaseInfo, len(phases))
	var at time.Duration
	for i, p := range phases {
		out[i] = results.PhaseInfo{Name: p.Name, Offset: at, Duration: p.Duration, FromRPS: p.From, ToRPS: p.To}
		at += p.Duration
	}
	return out
}

// mix returns the request templates of a scenario.
func mix(s *profiles.Scenario) ([]workload.Template, error) {
	out := make([]workload.Template, len(s.Requests))
	for i, r := range s.Requests {
		t := workload.Template{
			Name:     r.Name,
			Weight:   r.Weight,
			Method:   r.Method,
			URL:      r.Path,
			BodySize: int(r.BodySize),
			Priority: string(r.Priority),
		}
		if len(r.Headers) > 0 {
			t.Header = http.Header{}
			for k, v := range r.Headers {
				t.Header.Set(k, v)
			}
		}
		switch {
		case r.Body != "":
			t.Body = []byte(r.Body)
		case r.BodyFile != "":
			b, err := os.ReadFile(r.BodyFile)
			if err != nil {
				return nil, fmt.Errorf("requests[%d].body_file: %w", i, err)
			}
			t.Body = b
		}
		out[i] = t
	}
	return out, nil
}

// arrival maps the profile's arrival process.
func arrival(a profiles.Arrival) workload.Arrival {
	if a == profiles.ArrivalPoisson {
		return workload.ArrivalPoisson
	}
	return workload.ArrivalUniform
}
