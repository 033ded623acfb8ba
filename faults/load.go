package faults

import (
	"context"
	"fmt"
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

// LoadInjector applies the load kinds (Surge, Burst, Retry) through the
// runner's live controls. It is safe for concurrent use. Restore puts the
// rate multiplier back to 1 and the run's own retry policy back when a
// fault changed them. The zero value has no controls: Check refuses every
// load fault.
type LoadInjector struct {
	Load  LoadController // nil: surges and bursts are refused by Check
	Retry RetrySwitcher  // nil: retry faults are refused by Check

	mu           sync.Mutex
	rateChanged  bool
	retryChanged bool
}

var (
	_ Injector    = (*LoadInjector)(nil)
	_ Snapshotter = (*LoadInjector)(nil)
	_ Checker     = (*LoadInjector)(nil)
)

// Check refuses a kind whose control was not given.
func (l *LoadInjector) Check(e Entry) error {
	switch e.Fault.(type) {
	case Surge, Burst:
		if l.Load == nil {
			return fieldErr("kind", "%s needs the runner's load controls, which this run does not have", e.Fault.Kind())
		}
	case Retry:
		if l.Retry == nil {
			return fieldErr("kind", "retry needs the runner's retry policy switch, which this run does not have")
		}
	default:
		return fieldErr("kind", "%s cannot act on the load", e.Fault.Kind())
	}
	return nil
}

// Apply surges, bursts or switches the retry policy.
func (l *LoadInjector) Apply(_ context.Context, e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch f := e.Fault.(type) {
	case Surge:
		l.Load.SetRateMultiplier(f.Multiplier)
		l.rateChanged = true
	case Burst:
		l.Load.Burst(f.Requests)
	case Retry:
		l.retryChanged = true
		if err := l.Retry.SwitchRetryPolicy(f.Policy); err != nil {
			return fmt.Errorf("switch retry policy to %s: %w", f.Policy, err)
		}
	default:
		return fmt.Errorf("fault %s: %s cannot act on the load", e.Name, e.Fault.Kind())
	}
	return nil
}

// Remove ends a surge (multiplier 1) or restores the run's retry policy.
func (l *LoadInjector) Remove(_ context.Context, e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.Fault.(type) {
	case Surge:
		l.Load.SetRateMultiplier(1)
		l.rateChanged = false
	case Retry:
		if err := l.Retry.SwitchRetryPolicy(""); err != nil {
			return fmt.Errorf("restore the run's retry policy: %w", err)
		}
		l.retryChanged = false
	}
	return nil
}

// Snapshot forgets earlier changes: the load starts at multiplier 1 with
// the run's own policy.
func (l *LoadInjector) Snapshot(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rateChanged, l.retryChanged = false, false
	return nil
}

// Restore puts multiplier 1 and the run's own retry policy back if a
// fault left them changed.
func (l *LoadInjector) Restore(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rateChanged {
		l.Load.SetRateMultiplier(1)
		l.rateChanged = false
	}
	if l.retryChanged {
		if err := l.Retry.SwitchRetryPolicy(""); err != nil {
			return fmt.Errorf("restore the run's retry policy: %w", err)
		}
		l.retryChanged = false
	}
	return nil
}
