package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/harness/metrics"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/sink"
)

// DriveOptions say where a Driver's records go and what runs beside the
// load. The zero value plays silently and keeps no record.
type DriveOptions struct {
	// Name prefixes the driver's messages on Log ("attack", "ramp").
	Name string
	// Log receives the driver's messages: the steps' verdicts, the wait
	// for queued messages; nil discards them.
	Log io.Writer
	// Header opens the results stream and the summary; its Start is set
	// to the run's start.
	Header results.Header
	// Out receives the results stream (header, then every record); nil
	// writes none. The driver flushes it, the caller closes it.
	Out io.Writer
	// Summarize folds every record into a report.Aggregator with these
	// options, returned as Driven.Summary; nil: no summary.
	Summarize *report.Options
	// Agreed says that the config's Start is an instant agreed with other
	// shards: the driver waits for it before writing the header, whose
	// Shard.ClockOffset records how late after it, by this machine's
	// clock, the schedule began.
	Agreed bool
	// Progress receives the live progress line; nil: none.
	Progress io.Writer
	// Terminal redraws the progress line in place.
	Terminal bool
	// SLO is the latency objective of the live counts (the progress line,
	// Driven.Counts); 0 takes the client's (workload.Config.Retry.SLO).
	SLO time.Duration
	// Deliveries, when set, runs a delivery sink for async messages
	// beside the load.
	Deliveries *Deliveries
	// Steps, when set, judges each phase of the schedule as a step of a
	// ramp, and can stop the run past the knee. It implies a summary
	// (with report.Options{SLO: Steps.SLO} when Summarize is nil).
	Steps *Steps
	// Alongside runs beside the load (the fault timeline), with the
	// run's sink for its events; its context ends when the load has
	// ended (also when the run was interrupted, so that it can roll
	// back). Its error is Driven.AlongsideErr.
	Alongside func(ctx context.Context, s workload.Recorder) error
	// Metrics, when set, counts every record of the run into live
	// series on this registry (labelled run with Header.Label, else with
	// Name), which stay there after the run; the caller serves it.
	Metrics *metrics.Registry
}

// Deliveries is the delivery sink of a run with async messages: the
// target's consumers POST every message to Listener, the runner registers
// each accepted one (a 202), and after the load the driver waits up to
// Drain (less when the run is interrupted) for those still queued before
// recording them undelivered.
type Deliveries struct {
	// Listener is where the sink listens; the driver serves it and closes
	// it. Its URL is DeliveryURL(Listener).
	Listener net.Listener
	// Drain is how long to wait after the load for queued messages.
	Drain time.Duration
}

// DeliveryURL is the URL the delivery sink listening on ln answers on,
// for the target's deliver_to.
func DeliveryURL(ln net.Listener) string { return "http://" + ln.Addr().String() + "/deliveries" }

// Steps judges the phases of a schedule as the steps of a ramp: each step
// once its requests have had the SLO to succeed (a request not done by
// then is not goodput whatever happens next), logging the verdict.
type Steps struct {
	// SLO is the objective of a step's p99 and of its goodput.
	SLO time.Duration
	// StopPastKnee stops the run two steps after the last step within
	// capacity (report.PastKnee), recording a results.NoteRampStopped
	// note; false runs every step.
	StopPastKnee bool
}

// stepMargin is how long after a step's end plus the SLO the driver waits
// for its records to drain before judging it; judgeEvery how often it
// looks.
const (
	stepMargin = 500 * time.Millisecond
	judgeEvery = 200 * time.Millisecond
)

// Driven is what one run of a Driver amounted to.
type Driven struct {
	// Interrupted: ctx ended the run; the stream holds an interrupted
	// event (Interrupted) and the records up to it.
	Interrupted bool
	// Stopped: Steps stopped the run past the knee.
	Stopped bool
	// Counts are the records' live counts at the end.
	Counts workload.LiveCounts
	// Stats are the runner's counters at the end (Dropped: requests the
	// generator could not start).
	Stats workload.Stats
	// Deliveries are the delivery sink's counts; nil without one.
	Deliveries *sink.Counts
	// Summary is the aggregate of every record, with Options.Summarize or
	// Options.Steps; nil otherwise.
	Summary *report.Summary
	// AlongsideErr is what Options.Alongside returned.
	AlongsideErr error
}

// Interrupted returns the event a run records when its context ends
// before its schedule does, at elapsed time at: the same for every run,
// whoever drives it. Its Detail is the context's cause.
func Interrupted(ctx context.Context, at time.Duration) results.Event {
	return results.Event{Kind: results.EventInterrupted, At: at, Scheduled: at, Name: results.EventInterrupted.String(), Detail: context.Cause(ctx).Error()}
}

// Driver plays one run of load: the workload runner, the results stream,
// the progress line, the delivery sink, the ramp's step judge and what
// runs alongside, wired once for attack, ramp and a scenario's variant.
// Build it with NewDriver (which starts nothing), configure what needs its
// Runner, then call Run once. Not safe for concurrent use.
type Driver struct {
	cfg    workload.Config
	runner *workload.Runner
}

// NewDriver checks cfg and builds its runner; cfg.Start zero starts the
// run when Run is called, once the runner is ready (workload.Runner.Prepare).
func NewDriver(cfg workload.Config) (*Driver, error) {
	r, err := workload.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, runner: r}, nil
}

// Runner returns the run's runner, for what acts on the load while it
// runs (the timeline's load and retry faults).
func (d *Driver) Runner() *workload.Runner { return d.runner }

// Start returns the run's start instant, offset 0 of every record: the
// configured one, or, when that was zero, the one Run chose (zero before
// Run).
func (d *Driver) Start() time.Time { return d.cfg.Start }

// Run plays the schedule and writes every record as o says, then returns
// what happened. When ctx ends first, the run records the Interrupted event,
// keeps what it recorded, and returns a nil error with
// Driven.Interrupted set. It returns an error when the run could not be
// carried out or its records not written; every goroutine it started has
// ended when it returns.
func (d *Driver) Run(ctx context.Context, o DriveOptions) (*Driven, error) {
	if o.Steps != nil && o.Summarize == nil {
		o.Summarize = &report.Options{SLO: o.Steps.SLO}
	}
	if o.Deliveries != nil {
		defer o.Deliveries.Listener.Close() // the sink closes it too; this covers an early return
	}
	// The runner gets ready before the start instant (connections for the
	// first phase) and fixes it, so that the header and every record's
	// offsets agree with the runner's.
	d.cfg.Start = d.runner.Prepare(ctx)
	h := o.Header
	h.Start = d.cfg.Start
	if o.Agreed {
		// How late after the agreed instant this generator was ready
		// (0 when in time: the runner waits for the instant).
		h.Shard.ClockOffset = max(0, time.Since(d.cfg.Start))
	}
	w := &recordWriter{}
	if o.Out != nil {
		rw, err := results.NewWriter(o.Out, h)
		if err != nil {
			return nil, fmt.Errorf("write the results header: %w", err)
		}
		w.out = rw
	}
	if o.Summarize != nil {
		w.agg = report.NewAggregator(*o.Summarize)
		if err := w.agg.AddHeader(h); err != nil {
			return nil, err
		}
	}
	slo := o.SLO
	if slo == 0 {
		slo = d.cfg.Retry.SLO()
	}
	var watched *metrics.Run
	if o.Metrics != nil {
		run := h.Label
		if run == "" {
			run = o.Name
		}
		var err error
		watched, err = o.Metrics.Run(metrics.RunConfig{Label: run, Shard: d.cfg.Shard, Schedule: d.cfg.Schedule, SLO: slo, Source: d.runner})
		if err != nil {
			return nil, err
		}
	}
	live := workload.NewLive(slo)
	out := &Driven{}
	stream := workload.NewStream(w, live, 0)
	err := stream.Serve(func(s workload.Recorder) error {
		if watched != nil {
			s = observed{Recorder: s, by: watched}
		}
		return d.serve(ctx, &o, s, stream.WriteFailed(), live, w, out)
	})
	out.Counts = live.Snapshot()
	out.Stats = d.runner.Stats()
	if w.agg != nil {
		out.Summary = w.summary()
	}
	return out, err
}

// serve runs the load into s with everything that goes beside it.
//
// A failed write of the results stream stops the load: what it would
// measure could not be kept. Serve reports the write error.
func (d *Driver) serve(ctx context.Context, o *DriveOptions, s workload.Recorder, writeFailed <-chan struct{}, live *workload.Live, w *recordWriter, out *Driven) error {
	// What goes beside the load ends after it, also when ctx ended it.
	besideCtx, stopBeside := context.WithCancel(context.WithoutCancel(ctx))
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopBeside() // before wg.Wait, so that an early return ends them

	runSink := s
	var snk *sink.Sink
	var sinkErr error
	if o.Deliveries != nil {
		var err error
		if snk, err = sink.New(o.Deliveries.Listener, sink.Config{Start: d.cfg.Start, Recorder: s}); err != nil {
			return fmt.Errorf("delivery sink: %w", err)
		}
		runSink = observed{Recorder: s, by: snk}
		wg.Go(func() { sinkErr = snk.Run(besideCtx) })
	}
	if o.Alongside != nil {
		wg.Go(func() { out.AlongsideErr = o.Alongside(besideCtx, s) })
	}
	if o.Progress != nil {
		p := &workload.Progress{W: o.Progress, Terminal: o.Terminal, Total: d.cfg.Schedule.Duration(), Runner: d.runner, Live: live}
		wg.Go(func() { p.Run(besideCtx) })
	}
	var judge *stepJudge
	if o.Steps != nil {
		judge = &stepJudge{steps: *o.Steps, w: w, runner: d.runner, sched: d.cfg.Schedule, log: o.Log, name: o.Name, stop: stopRun}
		wg.Go(func() { judge.run(besideCtx) })
	}

	wg.Go(func() {
		select {
		case <-writeFailed:
			stopRun()
		case <-besideCtx.Done():
		}
	})
	runErr := d.runner.Run(runCtx, runSink)
	at := d.runner.Elapsed()
	switch {
	case runErr != nil && ctx.Err() == nil && isClosed(writeFailed):
		runErr = nil // Serve returns the write error
	case judge != nil && judge.stopped():
		out.Stopped = true
		runErr = nil
		s.Event(&results.Event{Kind: results.EventNote, At: at, Scheduled: at, Name: results.NoteRampStopped, Detail: "two steps past the knee"})
	case runErr != nil && ctx.Err() != nil:
		out.Interrupted = true
		runErr = nil
		e := Interrupted(ctx, at)
		s.Event(&e)
	}
	if snk != nil {
		// Wait for the messages still queued (not when interrupted), then
		// record the missing ones as undelivered.
		if ctx.Err() == nil {
			logf(o.Log, o.Name, "waiting up to %v for queued messages", o.Deliveries.Drain)
		}
		c := snk.Drain(ctx, o.Deliveries.Drain)
		out.Deliveries = &c
	}
	stopBeside()
	wg.Wait()
	if sinkErr != nil {
		sinkErr = fmt.Errorf("delivery sink: %w", sinkErr)
	}
	return errors.Join(runErr, sinkErr)
}

// logf writes a message of the run named name to log (nil: nowhere).
func logf(log io.Writer, name, format string, args ...any) {
	if log != nil {
		fmt.Fprintf(log, name+": "+format+"\n", args...)
	}
}

// observer sees every record before it is recorded: the delivery sink
// (which registers the accepted messages it is to expect) and the live
// metrics (whose final counts must be the results file's).
type observer interface{ Observe(r *results.Result) }

// observed records every record after by has seen it.
type observed struct {
	workload.Recorder
	by observer
}

var _ workload.Recorder = observed{}

// Record shows r to the observer and records it.
func (o observed) Record(r *results.Result) {
	o.by.Observe(r)
	o.Recorder.Record(r)
}

// recordWriter passes every record to the results stream and folds it
// into the aggregator, either being optional. Safe for concurrent use
// with summary (the stream's one goroutine writes, the judge reads).
type recordWriter struct {
	out *results.Writer // nil: no stream

	mu  sync.Mutex
	agg *report.Aggregator // nil: no summary
}

var _ workload.RecordWriter = (*recordWriter)(nil)

// WriteResult records r.
func (w *recordWriter) WriteResult(r *results.Result) error {
	if w.agg != nil {
		w.mu.Lock()
		w.agg.AddResult(r)
		w.mu.Unlock()
	}
	if w.out != nil {
		return w.out.WriteResult(r)
	}
	return nil
}

// WriteEvent records e.
func (w *recordWriter) WriteEvent(e *results.Event) error {
	if w.agg != nil {
		w.mu.Lock()
		w.agg.AddEvent(e)
		w.mu.Unlock()
	}
	if w.out != nil {
		return w.out.WriteEvent(e)
	}
	return nil
}

// Close ends the results stream with its trailer (Stream.Serve calls it
// when the run ended).
func (w *recordWriter) Close() error {
	if w.out != nil {
		return w.out.Close()
	}
	return nil
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Flush flushes the results stream, so a killed run keeps what it had.
func (w *recordWriter) Flush() error {
	if w.out != nil {
		return w.out.Flush()
	}
	return nil
}

func (w *recordWriter) summary() *report.Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.agg.Summary()
}

// stepJudge judges each step once it is final, logs the verdict, and
// stops the run two steps past the knee when asked to.
type stepJudge struct {
	steps  Steps
	w      *recordWriter
	runner *workload.Runner
	sched  *workload.Schedule
	log    io.Writer
	name   string
	stop   context.CancelFunc

	mu     sync.Mutex
	halted bool
}

func (j *stepJudge) stopped() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.halted
}

// run judges steps as they become final until ctx ends or it stops the
// run.
func (j *stepJudge) run(ctx context.Context) {
	tick := time.NewTicker(judgeEvery)
	defer tick.Stop()
	phases := j.sched.Phases()
	var judged []report.RampStep
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		elapsed := j.runner.Elapsed()
		for len(judged) < len(phases) {
			i := len(judged)
			if elapsed < j.sched.PhaseStart(i)+phases[i].Duration+j.steps.SLO+stepMargin {
				break
			}
			judged = append(judged, j.judge(i, phases[i]))
			if j.steps.StopPastKnee && report.PastKnee(judged, j.steps.SLO, 2) {
				j.logf("two steps past the knee, stopping")
				j.mu.Lock()
				j.halted = true
				j.mu.Unlock()
				j.stop()
				return
			}
		}
	}
}

// judge returns step i as the knee test sees it: the configured offered
// rate (requests still in flight are not goodput), the goodput and p99
// recorded so far.
func (j *stepJudge) judge(i int, p workload.Phase) report.RampStep {
	s := j.w.summary()
	st := report.RampStep{Name: p.Name, OfferedRPS: p.From}
	if i < len(s.Phases) {
		ph := s.Phases[i]
		st.ThroughputRPS, st.GoodputRPS, st.P99Ms = ph.ThroughputRPS, ph.GoodputRPS, ph.Latency.P99
	}
	st.OK = report.StepOK(st, j.steps.SLO)
	verdict := "within capacity"
	if !st.OK {
		verdict = "beyond capacity"
	}
	j.logf("%-12s goodput %7.1f/s (%5.1f%%)  p99 %-8s %s", p.Name, st.GoodputRPS, 100*st.GoodputRPS/st.OfferedRPS,
		time.Duration(st.P99Ms*float64(time.Millisecond)).Round(100*time.Microsecond), verdict)
	return st
}

func (j *stepJudge) logf(format string, args ...any) { logf(j.log, j.name, format, args...) }
