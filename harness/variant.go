package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// startLead is how far ahead of now a variant's start instant is put, so
// the timeline and the runner share one offset 0.
const startLead = 100 * time.Millisecond

// played is what one variant's run left behind.
type played struct {
	file        string // the results file
	interrupted bool
	faultErr    error // the timeline's error (a fault that failed, a failed rollback)
}

// policySwitcher adapts the runner's policy setter and the scenario's
// named client policies to the timeline's retry faults.
type policySwitcher struct {
	runner *workload.Runner
	base   retry.Policy
	named  map[string]retry.Policy
}

var _ faults.RetrySwitcher = (*policySwitcher)(nil)

// SwitchRetryPolicy makes new requests follow the named client policy, or
// the run's own when name is empty.
func (p *policySwitcher) SwitchRetryPolicy(name string) error {
	if name == "" {
		p.runner.SetRetryPolicy(p.base)
		return nil
	}
	pol, ok := p.named[name]
	if !ok {
		return fmt.Errorf("unknown client policy %q", name)
	}
	p.runner.SetRetryPolicy(pol)
	return nil
}

// prepared is a variant ready to run: everything checked, nothing started.
type prepared struct {
	label    string
	scenario *profiles.Scenario
	seed     uint64
	phases   []workload.Phase
	mix      []workload.Template
	data     []*workload.Data
	policy   retry.Policy
	named    map[string]retry.Policy
	timeline *faults.Timeline
}

// prepare converts and checks a variant without starting anything.
func prepare(label string, s *profiles.Scenario, seed uint64) (*prepared, error) {
	p := &prepared{label: label, scenario: s, seed: seed, phases: schedulePhases(s), named: map[string]retry.Policy{}}
	var err error
	if p.mix, err = mix(s); err != nil {
		return nil, &ConfigError{err}
	}
	for i, df := range s.Data {
		d, err := workload.ReadData(df.Name, df.File)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("data[%d]: %w", i, err)}
		}
		p.data = append(p.data, d)
	}
	if p.policy, err = RetryPolicy(s.Client); err != nil {
		return nil, &ConfigError{err}
	}
	for name := range s.Policies {
		c, _ := s.Policy(name)
		pol, err := RetryPolicy(c)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("policies.%s: %w", name, err)}
		}
		p.named[name] = pol
	}
	if p.timeline, err = s.Timeline(); err != nil {
		return nil, &ConfigError{err}
	}
	if s.Target.Embedded != nil {
		if _, err := targetConfig(s); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// play runs one prepared variant against svc from start, writing its
// results to dir; dl is the delivery sink when the run has async messages.
// When agreed, start is an instant agreed with other shards: play waits for
// it before writing the results header, whose Shard.ClockOffset records
// how late after it, by this machine's clock, the schedule began (start
// lateness, not an estimate of the clocks' offset from true time).
func (p *prepared) play(ctx context.Context, svc *service, start time.Time, agreed bool, dl net.Listener, dir string, opts *Options) (*played, error) {
	s := p.scenario
	sched, err := workload.NewSchedule(p.phases...)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("phases: %w", err)}
	}
	cfg, err := p.loadConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg.Schedule, cfg.Seed, cfg.BaseURL, cfg.Start, cfg.Shard = sched, p.seed, svc.url, start, opts.Shard
	d, err := NewDriver(cfg)
	if err != nil {
		return nil, &ConfigError{err}
	}
	runner := d.Runner()
	load := &faults.LoadInjector{Load: shardLoad{runner: runner, shard: opts.Shard}, Retry: &policySwitcher{runner: runner, base: p.policy, named: p.named}}
	tl, in, err := shardTimeline(*p.timeline, injectors(svc, load), opts)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("faults: %w", err)}
	}
	tl.Logger = opts.logger()
	if err := tl.Check(ctx, in); err != nil {
		return nil, &ConfigError{fmt.Errorf("faults: %w", err)}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the results directory: %w", err)
	}
	path := filepath.Join(dir, resultsName(p.label, opts.Shard))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create the results file: %w", err)
	}
	buf := bufio.NewWriterSize(f, 1<<16)
	host, _ := os.Hostname()
	do := DriveOptions{
		Header: results.Header{
			Tool:     opts.tool(),
			Host:     host,
			Seed:     p.seed,
			Label:    p.label,
			Scenario: s.JSON(),
			SLO:      s.SLO.Latency,
			Phases:   phaseInfos(p.phases),
			Shard:    results.ShardInfo{Index: opts.Shard.Index, Count: opts.Shard.N()},
		},
		Out:      buf,
		Agreed:   agreed,
		Progress: opts.Progress,
		Terminal: opts.Terminal,
		SLO:      s.SLO.Latency,
		Metrics:  opts.Metrics,
	}
	if dl != nil {
		do.Deliveries = &Deliveries{Listener: dl, Drain: s.Sink.Drain}
	}
	// The timeline ends with the load; it rolls back on its own context,
	// so an interrupted run's faults are removed too.
	do.Alongside = func(tlCtx context.Context, sink workload.Recorder) error {
		tl.Emit = func(e results.Event) { sink.Event(&e) }
		return tl.Play(tlCtx, start, in) // the scenario validated it, Check above checked it
	}
	driven, runErr := d.Run(ctx, do)
	flushErr := buf.Flush()
	closeErr := f.Close()
	if err := errors.Join(runErr, flushErr, closeErr); err != nil {
		return nil, fmt.Errorf("run %s: %w", p.label, err)
	}
	return &played{file: path, interrupted: driven.Interrupted, faultErr: driven.AlongsideErr}, nil
}

// Options.logger returns the logger for fault actions.
func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (o *Options) tool() string {
	if o.Tool != "" {
		return o.Tool
	}
	return "goodput/loadgen"
}
