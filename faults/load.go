package faults

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// LoadController is the part of a load generator's runner that surges
// take: a multiplier of the offered rate (1 = the schedule's own rate) and
// a burst of n extra requests at once.
type LoadController interface {
	SetRateMultiplier(m float64)
	Burst(n int)
}

// RetrySwitcher switches the clients' retry policy to a named one; the
// empty name means the run's own policy. A harness adapts its runner's
// policy setter and its scenario's named client policies to it.
type RetrySwitcher interface {
	SwitchRetryPolicy(name string) error
}

// LoadControls are the runner's live controls a LoadFault acts through.
// A nil field is a control the run does not have.
type LoadControls struct {
	Load  LoadController
	Retry RetrySwitcher
}

// needLoad refuses (field "kind") controls without Load, for kind.
func (c LoadControls) needLoad(kind string) error {
	if c.Load == nil {
		return fieldErr("kind", "%s needs the runner's load controls, which this run does not have", kind)
	}
	return nil
}

// LoadFault is a Fault that acts on the offered load itself (target
// TargetLoad) through the runner's live controls; LoadInjector applies it
// and Timeline.Validate allows it on TargetLoad only.
//
// CheckLoad refuses (a *FieldError, field "kind") controls that lack what
// the kind needs; ApplyLoad puts the fault in place; RemoveLoad undoes it
// (the schedule's own rate, the run's own retry policy). An instant kind
// has nothing to undo. LoadInjector calls them one at a time.
type LoadFault interface {
	Fault
	CheckLoad(c LoadControls) error
	ApplyLoad(c LoadControls) error
	RemoveLoad(c LoadControls) error
}

// LoadInjector applies the load kinds (each a LoadFault: Surge, Burst,
// Retry) through the runner's live controls. It is safe for concurrent
// use. Restore undoes what a fault changed and no Remove undid (the rate
// multiplier back to 1, the run's own retry policy back). The zero value
// has no controls: Check refuses every load fault.
type LoadInjector struct {
	Load  LoadController // nil: surges and bursts are refused by Check
	Retry RetrySwitcher  // nil: retry faults are refused by Check

	mu      sync.Mutex
	changed map[string]LoadFault // by kind: applied and not yet undone
}

var (
	_ Injector    = (*LoadInjector)(nil)
	_ Snapshotter = (*LoadInjector)(nil)
	_ Checker     = (*LoadInjector)(nil)
)

func (l *LoadInjector) controls() LoadControls {
	return LoadControls{Load: l.Load, Retry: l.Retry}
}

// Check refuses a kind that does not act on the load, or whose control
// was not given.
func (l *LoadInjector) Check(e Entry) error {
	lf, ok := e.Fault.(LoadFault)
	if !ok {
		return fieldErr("kind", "%s cannot act on the load", e.Fault.Kind())
	}
	return lf.CheckLoad(l.controls())
}

// Apply puts e's load fault in place (a surge, a burst, a retry policy).
func (l *LoadInjector) Apply(_ context.Context, e Entry) error {
	lf, ok := e.Fault.(LoadFault)
	if !ok {
		return fmt.Errorf("fault %s: %s cannot act on the load", e.Name, e.Fault.Kind())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !isInstant(lf) {
		if l.changed == nil {
			l.changed = map[string]LoadFault{}
		}
		l.changed[lf.Kind()] = lf // before applying: a half-done change is undone too
	}
	return lf.ApplyLoad(l.controls())
}

// Remove undoes e's load fault (a surge, a retry policy); an instant one
// has nothing to undo.
func (l *LoadInjector) Remove(_ context.Context, e Entry) error {
	lf, ok := e.Fault.(LoadFault)
	if !ok {
		return nil // Apply refused it: nothing to undo
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := lf.RemoveLoad(l.controls()); err != nil {
		return err
	}
	delete(l.changed, lf.Kind())
	return nil
}

// Snapshot forgets earlier changes: the load starts at multiplier 1 with
// the run's own policy.
func (l *LoadInjector) Snapshot(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changed = nil
	return nil
}

// Restore undoes, in the order of their kinds' names, the changes of the
// faults applied and not removed since the Snapshot.
func (l *LoadInjector) Restore(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, kind := range slices.Sorted(maps.Keys(l.changed)) {
		if err := l.changed[kind].RemoveLoad(l.controls()); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(l.changed, kind)
	}
	return errors.Join(errs...)
}
