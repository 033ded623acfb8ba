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
	"sync"
	"time"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
	"github.com/goodput-dev/goodput/workload/sink"
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

// deliveries is the delivery sink of a run with async messages, and the
// forwarder that passes its records to the run's stream.
type deliveries struct {
	sink *sink.Sink
	fwd  *forwarder
	ran  bool // Run was called (and has closed the listener on return)
}

// close releases the sink's listener when the run ended before the sink
// was served.
func (d *deliveries) close() error {
	if d.ran {
		return nil
	}
	d.ran = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return d.sink.Run(ctx)
}

// forwarder passes the delivery sink's records to the stream of the run
// going on, and drops them between runs. Safe for concurrent use.
type forwarder struct {
	mu sync.Mutex
	to workload.Sink
}

var _ sink.Recorder = (*forwarder)(nil)

func (f *forwarder) set(to workload.Sink) {
	f.mu.Lock()
	f.to = to
	f.mu.Unlock()
}

// Record passes r on to the run's stream.
func (f *forwarder) Record(r *results.Result) {
	f.mu.Lock()
	to := f.to
	f.mu.Unlock()
	if to != nil {
		to.Record(r)
	}
}

// observed is the runner's sink for a run with async messages: every
// record also goes to the delivery sink, which registers the accepted
// messages (202) it is to expect.
type observed struct {
	workload.Sink
	deliveries *sink.Sink
}

var _ workload.Sink = observed{}

// Record registers r with the delivery sink and records it.
func (o observed) Record(r *results.Result) {
	o.deliveries.Observe(r)
	o.Sink.Record(r)
}

// newDeliveries starts nothing: it makes the delivery sink of a run that
// starts at start, listening on 127.0.0.1.
func newDeliveries(start time.Time) (*deliveries, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the delivery sink: %w", err)
	}
	fwd := &forwarder{}
	sk, err := sink.New(ln, sink.Config{Start: start, Recorder: fwd})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start the delivery sink: %w", err)
	}
	return &deliveries{sink: sk, fwd: fwd}, nil
}

// play runs one prepared variant against svc from start, writing its
// results to dir; dl is the delivery sink when the run has async messages.
// When agreed, start is an instant agreed with other shards: play waits for
// it before writing the results header, whose Shard.ClockOffset records
// how late after it, by this machine's clock, the schedule began (start
// lateness, not an estimate of the clocks' offset from true time).
func (p *prepared) play(ctx context.Context, svc *service, start time.Time, agreed bool, dl *deliveries, dir string, opts *Options) (*played, error) {
	s := p.scenario
	sched, err := workload.NewSchedule(p.phases...)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("phases: %w", err)}
	}
	runner, err := workload.New(workload.Config{
		Schedule:    sched,
		Arrival:     arrival(s.Arrival),
		Seed:        p.seed,
		BaseURL:     svc.url,
		Mix:         p.mix,
		Tenants:     workload.Tenants{Count: s.Tenants.Count, Zipf: s.Tenants.Distribution.S},
		Retry:       p.policy,
		MaxInFlight: s.Client.MaxInflight,
		HTTP:        workload.ClientOptions{Connections: s.Client.Connections, HTTP2: s.Client.HTTP2},
		Start:       start,
		Shard:       opts.Shard,
		Procs:       opts.Procs,
	})
	if err != nil {
		return nil, &ConfigError{err}
	}
	load := &faults.LoadInjector{Load: shardLoad{runner: runner, shard: opts.Shard}, Retry: &policySwitcher{runner: runner, base: p.policy, named: p.named}}
	if err := p.timeline.Validate(); err != nil {
		return nil, &ConfigError{fmt.Errorf("faults: %w", err)}
	}
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
	var late time.Duration
	if agreed {
		late = workload.WaitUntil(ctx, start)
	}
	w, err := results.NewWriter(buf, results.Header{
		Tool:     opts.tool(),
		Host:     host,
		Start:    start,
		Seed:     p.seed,
		Label:    p.label,
		Scenario: s.JSON(),
		SLO:      s.SLO.Latency,
		Phases:   phaseInfos(p.phases),
		Shard:    results.ShardInfo{Index: opts.Shard.Index, Count: opts.Shard.N(), ClockOffset: late},
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write the results header: %w", err)
	}

	out := &played{file: path}
	live := workload.NewLive(s.SLO.Latency)
	stream := workload.NewStream(w, live, 0)
	serveErr := stream.Serve(func(sink workload.Sink) error {
		tl.Emit = func(e results.Event) { sink.Event(&e) }
		// The timeline ends with the run; it rolls back on its own context,
		// so an interrupted run's faults are removed too.
		tlCtx, stopTL := context.WithCancel(context.WithoutCancel(ctx))
		progCtx, stopProg := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { out.faultErr = tl.Run(tlCtx, start, in) })
		if opts.Progress != nil {
			pr := workload.Progress{W: opts.Progress, Terminal: opts.Terminal, Total: sched.Duration(), Runner: runner, Live: live}
			wg.Go(func() { pr.Run(progCtx) })
		}
		runSink := sink
		sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
		var sinkErr error
		if dl != nil {
			dl.fwd.set(sink)
			dl.ran = true
			runSink = observed{Sink: sink, deliveries: dl.sink}
			wg.Go(func() { sinkErr = dl.sink.Run(sinkCtx) })
		}
		runErr := runner.Run(ctx, runSink)
		if dl != nil {
			// Wait for the messages still queued (not when interrupted),
			// then record the missing ones as undelivered.
			dl.sink.Drain(ctx, s.Sink.Drain)
		}
		stopSink()
		stopTL()
		stopProg()
		wg.Wait()
		if dl != nil {
			dl.fwd.set(nil)
		}
		if sinkErr != nil {
			return fmt.Errorf("delivery sink: %w", sinkErr)
		}
		if runErr != nil && ctx.Err() != nil {
			out.interrupted = true
			at := runner.Elapsed()
			sink.Event(&results.Event{Kind: results.EventInterrupted, At: at, Scheduled: at, Name: p.label, Detail: context.Cause(ctx).Error()})
			return nil
		}
		return runErr
	})
	flushErr := buf.Flush()
	closeErr := f.Close()
	if err := errors.Join(serveErr, flushErr, closeErr); err != nil {
		return out, fmt.Errorf("run %s: %w", p.label, err)
	}
	return out, nil
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
