package faults

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// Injector puts faults in place on one kind of target and takes them
// away. Apply and Remove are called by one goroutine at a time, with the
// same Entry for both.
type Injector interface {
	Apply(ctx context.Context, e Entry) error
	Remove(ctx context.Context, e Entry) error
}

// Snapshotter is an Injector that can record the state of its target
// before a run and put it back after (an optional capability).
type Snapshotter interface {
	Snapshot(ctx context.Context) error
	Restore(ctx context.Context) error
}

// Checker is an Injector that can tell, after a Snapshot and before the
// run, whether it can apply an entry (an optional capability). Errors
// name the field at fault (*FieldError).
type Checker interface {
	Check(e Entry) error
}

// Renewer is an Injector whose faults hold on their target only for a
// lease (an optional capability): while an entry is in place, Run calls
// Renew for it every RenewEvery, from a goroutine of its own, until the
// entry is removed or the run ends. Renew may run concurrently with Apply
// and Remove; a failed renewal is logged and tried again at the next.
type Renewer interface {
	RenewEvery() time.Duration
	Renew(ctx context.Context, e Entry) error
}

// Injectors routes each entry's target to its injector: TargetLoad to
// Load, a name in Proxies to that proxy, TargetService and any other name
// to Target (the reference target, whose Checker knows its dependencies).
// Nil fields are injectors not in use.
type Injectors struct {
	Target  Injector
	Proxies map[string]Injector
	Load    Injector
}

// route returns the injector for target, or a field error, and the name
// of its lane: the actions of one injector run in order on one lane,
// lanes run side by side.
func (in Injectors) route(target string) (Injector, string, error) {
	if target == TargetLoad {
		if in.Load == nil {
			return nil, "", fieldErr("target", "%q, but no load controls were given to the timeline", target)
		}
		return in.Load, "load", nil
	}
	if p, ok := in.Proxies[target]; ok {
		return p, "proxy " + target, nil
	}
	if in.Target == nil {
		names := slices.Sorted(maps.Keys(in.Proxies))
		return nil, "", fieldErr("target", "%q is not a proxy (proxies: %s) and no reference target is configured", target, strings.Join(names, ", "))
	}
	return in.Target, "target", nil
}

// all returns every injector in use, in a fixed order.
func (in Injectors) all() []Injector {
	var out []Injector
	if in.Target != nil {
		out = append(out, in.Target)
	}
	for _, name := range slices.Sorted(maps.Keys(in.Proxies)) {
		out = append(out, in.Proxies[name])
	}
	if in.Load != nil {
		out = append(out, in.Load)
	}
	return out
}

// Timeline is the faults of a run, each with its time and window, and how
// to report on them. Configure it, then Run it; a Timeline must not be
// changed while it runs. Run may be called again (each call snapshots and
// restores afresh). The zero value is an empty timeline: Run snapshots,
// restores and returns.
type Timeline struct {
	Entries []Entry
	// Emit receives every fault event (applied, removed, failed), one at
	// a time (never concurrently), while Run (or Play) runs; nil drops them.
	Emit func(results.Event)
	// Logger logs each action and the rollback; nil discards.
	Logger *slog.Logger
	// ActionTimeout bounds one apply or remove call; 0 means 5s.
	ActionTimeout time.Duration
	// RollbackTimeout bounds the whole rollback (each of its calls is also
	// bounded by ActionTimeout); 0 means 30s.
	RollbackTimeout time.Duration

	// killed, for tests only, makes Run end as a process killed with -9
	// would leave the target: renewals stop and nothing is rolled back.
	killed bool
}

// Validate checks the entries on their own and against each other: every
// field, unique names, kinds that fit their reserved target ("load",
// "target"), and no two conflicting faults (same target, same knob, same
// scope) with overlapping windows. Errors are *FieldError values named
// "faults[i].field".
func (t *Timeline) Validate() error {
	var errs []error
	names := map[string]int{}
	valid := make([]bool, len(t.Entries))
	for i, e := range t.Entries {
		prefix := fmt.Sprintf("faults[%d]", i)
		if err := e.Validate(); err != nil {
			errs = append(errs, prefixFields(prefix, err))
			continue
		}
		if j, dup := names[e.Name]; dup {
			errs = append(errs, fieldErr(prefix+".name", "%q is also the name of faults[%d], want unique names", e.Name, j))
		}
		names[e.Name] = i
		if err := checkReserved(e); err != nil {
			errs = append(errs, prefixFields(prefix, err))
			continue
		}
		valid[i] = true
	}
	for i, a := range t.Entries {
		ka := ""
		if valid[i] {
			ka = conflictKey(a)
		}
		if ka == "" {
			continue
		}
		for j := i + 1; j < len(t.Entries); j++ {
			b := t.Entries[j]
			if !valid[j] || conflictKey(b) != ka || a.end() <= b.At || b.end() <= a.At {
				continue
			}
			errs = append(errs, fieldErr(fmt.Sprintf("faults[%d].at", j),
				"%q (%s on %s from %v) overlaps %q (faults[%d], %s from %v to %s) on the same knob; move it or merge them",
				b.Name, b.Fault.Kind(), b.Target, b.At, a.Name, i, a.Fault.Kind(), a.At, endString(a)))
		}
	}
	return errors.Join(errs...)
}

func endString(e Entry) string {
	if e.For == 0 {
		return "the end of the run"
	}
	return (e.At + e.For).String()
}

// checkReserved checks the kinds that only act on "load" or "target", and
// the kinds those targets take.
func checkReserved(e Entry) error {
	_, isLoad := e.Fault.(LoadFault)
	switch {
	case e.Target == TargetLoad && !isLoad:
		return fieldErr("kind", "%s cannot act on the load; the load takes %s", e.Fault.Kind(), KindsOn(OnLoad))
	case e.Target != TargetLoad && isLoad:
		return fieldErr("target", "%q, but %s acts on the load: want target %q", e.Target, e.Fault.Kind(), TargetLoad)
	}
	if _, isService := e.Fault.(ServiceFault); e.Target == TargetService && !isService {
		return fieldErr("kind", "%s on %q: the target itself takes only %s with concurrency", e.Fault.Kind(), TargetService, KindsOn(OnTarget))
	}
	if tc, ok := e.Fault.(TargetChecker); ok {
		if err := tc.CheckTarget(e.Target); err != nil {
			return err
		}
	}
	if isLoad && (e.Probability != 0 && e.Probability != 1 || !e.Scope.IsZero()) {
		return fieldErr("probability", "the load's %s takes no probability, route, method or header", e.Fault.Kind())
	}
	return nil
}

// Check snapshots every injector (a GET of the target's state before any
// change) and asks each injector whether it can apply its entries (so an
// unknown dependency is refused before the run). It is for a timeline
// Validate accepted, and does not validate it again. Run calls it; a
// harness that validated the timeline calls it before starting the load,
// then Play.
func (t *Timeline) Check(ctx context.Context, in Injectors) error {
	for _, inj := range in.all() {
		if s, ok := inj.(Snapshotter); ok {
			if err := s.Snapshot(ctx); err != nil {
				return err
			}
		}
	}
	var errs []error
	for i, e := range t.Entries {
		inj, _, err := in.route(e.Target)
		if err == nil {
			if c, ok := inj.(Checker); ok {
				err = c.Check(e)
			}
		}
		if err != nil {
			errs = append(errs, prefixFields(fmt.Sprintf("faults[%d]", i), err))
		}
	}
	return errors.Join(errs...)
}

// action is one apply or remove at its time.
type action struct {
	at     time.Duration
	remove bool
	entry  Entry
	inj    Injector
}

// leftError is a Restore that failed, naming what it left in place.
type leftError struct {
	left []string
	err  error
}

func (e *leftError) Error() string { return e.err.Error() }
func (e *leftError) Unwrap() error { return e.err }

// RollbackError is a rollback that did not finish: Left names what is
// still in place (faults not removed, injectors not restored).
type RollbackError struct {
	Left []string
	Errs []error
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("rollback incomplete, left in place: %s: %v", strings.Join(e.Left, "; "), errors.Join(e.Errs...))
}

func (e *RollbackError) Unwrap() []error { return e.Errs }

// Run validates the timeline (Validate), checks it (Check), then plays it
// (Play): the whole of a run for a timeline nobody validated.
func (t *Timeline) Run(ctx context.Context, start time.Time, in Injectors) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := t.Check(ctx, in); err != nil {
		return err
	}
	return t.Play(ctx, start, in)
}

// Play plays a timeline that Validate and then Check (with the same
// injectors, which hold their snapshots) accepted, validating nothing
// again, from start (a wall-clock instant; entries are offsets from it).
// It applies each entry at start+At and removes it at start+At+For,
// emitting fault_applied,
// fault_removed and fault_failed events whose At (actual, after the call
// returned) and Scheduled (planned) offsets give each action's lateness.
// The actions of one injector happen one after another in time order
// (removals before applications due at the same instant); different
// injectors (the target, each proxy, the load) act side by side, so a slow
// admin call does not delay a surge.
//
// Play returns when every action is done and no entry lasts until the run
// ends, or when ctx ends, or when an application fails. In every case it
// first rolls back: it removes every fault still in place (newest first)
// and restores every injector's snapshot, using a fresh context bounded by
// RollbackTimeout (so rollback works after ctx was cancelled). A failed
// rollback is returned as a *RollbackError (joined with the error that
// ended the run, if any). The end of ctx is not itself an error: it is how
// a caller ends a run.
//
// While an entry of a Renewer is in place, a goroutine renews it every
// RenewEvery; it stops before the entry's removal and before the
// rollback. Play returns only after every goroutine it started has ended.
func (t *Timeline) Play(ctx context.Context, start time.Time, in Injectors) error {
	log := t.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lanes := map[string][]action{}
	untilEnd := false
	for _, e := range t.Entries {
		inj, lane, _ := in.route(e.Target) // Check routed every entry
		lanes[lane] = append(lanes[lane], action{at: e.At, entry: e, inj: inj})
		switch {
		case isInstant(e.Fault):
		case e.For == 0:
			untilEnd = true
		default:
			lanes[lane] = append(lanes[lane], action{at: e.At + e.For, remove: true, entry: e, inj: inj})
		}
	}

	p := &play{t: t, start: start, log: log, renewals: map[string]func(){}}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for _, actions := range lanes {
		slices.SortStableFunc(actions, func(a, b action) int {
			if c := cmp.Compare(a.at, b.at); c != 0 {
				return c
			}
			if a.remove != b.remove {
				if a.remove {
					return -1
				}
				return 1
			}
			return 0
		})
		wg.Go(func() {
			if err := p.lane(runCtx, actions); err != nil {
				p.fail(err)
				stop() // the other lanes stop too; the rollback follows
			}
		})
	}
	wg.Wait()
	err := p.failure()
	if err == nil && untilEnd {
		<-ctx.Done()
	}
	p.stopRenewals()
	if t.killed {
		return err
	}
	if rerr := t.rollback(ctx, start, in, p.inPlace(), log); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}

// play is the state of one Play shared by its lanes. It is safe for
// concurrent use.
type play struct {
	t     *Timeline
	start time.Time
	log   *slog.Logger

	mu       sync.Mutex
	applied  []action          // in place now, oldest first
	err      error             // the first application that failed
	renewals map[string]func() // entry name → stop its renewals and wait
}

// renew starts renewing e, just applied with r, every r.RenewEvery until
// stopRenewal(e.Name), stopRenewals or the end of ctx.
func (p *play) renew(ctx context.Context, r Renewer, e Entry) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	p.mu.Lock()
	p.renewals[e.Name] = func() { cancel(); <-done }
	p.mu.Unlock()
	go func() {
		defer close(done)
		tick := time.NewTicker(r.RenewEvery())
		defer tick.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-tick.C:
			}
			err := p.t.bounded(rctx, func(ctx context.Context) error { return r.Renew(ctx, e) })
			if err != nil && rctx.Err() == nil {
				p.log.Warn("fault lease renewal failed; trying again", "fault", e.Name, "target", e.Target, "every", r.RenewEvery(), "err", err)
			}
		}
	}()
}

// stopRenewal stops the renewals of the entry named name, if any, and
// waits for them.
func (p *play) stopRenewal(name string) {
	p.mu.Lock()
	stop := p.renewals[name]
	delete(p.renewals, name)
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// stopRenewals stops every renewal and waits for them.
func (p *play) stopRenewals() {
	p.mu.Lock()
	stops := slices.Collect(maps.Values(p.renewals))
	clear(p.renewals)
	p.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// lane performs actions in order, each at its time, until they are done
// or ctx ends; it returns the error of an application that failed.
func (p *play) lane(ctx context.Context, actions []action) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for _, a := range actions {
		timer.Reset(time.Until(p.start.Add(a.at)))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if a.remove {
			p.stopRenewal(a.entry.Name)
		}
		err := p.t.act(ctx, a)
		ev := p.done(a, err)
		if err != nil {
			p.log.Error("fault action failed", "fault", a.entry.Name, "target", a.entry.Target, "remove", a.remove, "err", err)
			if ctx.Err() != nil {
				return nil // interrupted mid-call: not the fault's failure; roll back
			}
			if !a.remove {
				return fmt.Errorf("apply fault %s on %s: %w", a.entry.Name, a.entry.Target, err)
			}
			continue // still in place: the rollback tries again
		}
		p.log.Info("fault "+actionWord(a), "fault", a.entry.Name, "target", a.entry.Target, "late", ev.At-ev.Scheduled)
		if r, ok := a.inj.(Renewer); ok && !a.remove && !isInstant(a.entry.Fault) {
			p.renew(ctx, r, a.entry)
		}
	}
	return nil
}

// done records the outcome of a and emits its event.
func (p *play) done(a action, err error) results.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := p.t.event(p.start, a, err, "")
	p.t.emit(ev)
	switch {
	case err != nil:
	case a.remove:
		p.applied = slices.DeleteFunc(p.applied, func(b action) bool { return b.entry.Name == a.entry.Name })
	case !isInstant(a.entry.Fault):
		p.applied = append(p.applied, a)
	}
	return ev
}

func (p *play) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

func (p *play) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *play) inPlace() []action {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.applied)
}

func actionWord(a action) string {
	if a.remove {
		return "removed"
	}
	return "applied"
}

// act runs one action under ActionTimeout.
func (t *Timeline) act(ctx context.Context, a action) error {
	return t.bounded(ctx, func(ctx context.Context) error {
		if a.remove {
			return a.inj.Remove(ctx, a.entry)
		}
		return a.inj.Apply(ctx, a.entry)
	})
}

// bounded runs call under ActionTimeout.
func (t *Timeline) bounded(ctx context.Context, call func(context.Context) error) error {
	timeout := t.ActionTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return call(actx)
}

// event describes the outcome of a (done at now).
func (t *Timeline) event(start time.Time, a action, err error, note string) results.Event {
	ev := results.Event{
		Kind:      results.EventFaultApplied,
		At:        time.Since(start),
		Scheduled: a.at,
		Name:      a.entry.Name,
		Target:    a.entry.Target,
		Detail:    describe(a.entry),
	}
	if a.remove {
		ev.Kind = results.EventFaultRemoved
	}
	if note != "" {
		ev.Detail += " (" + note + ")"
	}
	if err != nil {
		ev.Kind = results.EventFaultFailed
		ev.Detail = actionVerb(a) + " " + ev.Detail + ": " + err.Error()
	}
	return ev
}

func actionVerb(a action) string {
	if a.remove {
		return "remove"
	}
	return "apply"
}

func (t *Timeline) emit(ev results.Event) {
	if t.Emit != nil {
		t.Emit(ev)
	}
}

// describe is a one-line description of e for events and logs: its kind
// and its fields as JSON, e.g. `delay {"delay":"100ms","jitter":"20ms"}`.
func describe(e Entry) string {
	s, err := SpecOf(e)
	if err != nil {
		return e.Fault.Kind()
	}
	s.Name, s.Kind, s.Target, s.At, s.For = "", "", "", 0, 0
	b, err := json.Marshal(s)
	if err != nil {
		return e.Fault.Kind()
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return e.Fault.Kind()
	}
	delete(fields, "name")
	delete(fields, "kind")
	if len(fields) == 0 {
		return e.Fault.Kind()
	}
	b, err = json.Marshal(fields) // map keys come out sorted
	if err != nil {
		return e.Fault.Kind()
	}
	return e.Fault.Kind() + " " + string(b)
}

// isInstant reports whether f happens at once and is never removed.
func isInstant(f Fault) bool {
	_, ok := f.(interface{ instant() })
	return ok
}

// rollback removes every fault in applied (newest first) and restores
// every snapshotting injector, with a fresh bounded context.
func (t *Timeline) rollback(ctx context.Context, start time.Time, in Injectors, applied []action, log *slog.Logger) error {
	timeout := t.RollbackTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	log.Info("fault rollback", "in_place", len(applied), "cause", context.Cause(ctx))
	var left []string
	var errs []error
	for i := len(applied) - 1; i >= 0; i-- {
		a := applied[i]
		a.remove = true
		a.at = time.Since(start) // not scheduled: the rollback happens now
		err := t.act(rctx, a)    // each call bounded, so one that hangs leaves time for the others
		t.emit(t.event(start, a, err, "rollback"))
		if err != nil {
			left = append(left, fmt.Sprintf("fault %s on %s", a.entry.Name, a.entry.Target))
			errs = append(errs, fmt.Errorf("remove fault %s on %s: %w", a.entry.Name, a.entry.Target, err))
			log.Error("fault rollback: remove failed", "fault", a.entry.Name, "target", a.entry.Target, "err", err)
			continue
		}
		log.Info("fault rollback: removed", "fault", a.entry.Name, "target", a.entry.Target)
	}
	for _, inj := range slices.Backward(in.all()) {
		s, ok := inj.(Snapshotter)
		if !ok {
			continue
		}
		if err := s.Restore(rctx); err != nil {
			var le *leftError
			if errors.As(err, &le) {
				left = append(left, le.left...)
			} else {
				left = append(left, fmt.Sprintf("the state of %T", inj))
			}
			errs = append(errs, err)
			log.Error("fault rollback: restore failed", "injector", fmt.Sprintf("%T", inj), "err", err)
			continue
		}
	}
	if len(errs) > 0 {
		return &RollbackError{Left: left, Errs: errs}
	}
	log.Info("fault rollback done")
	return nil
}
