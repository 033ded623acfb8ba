package faults

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// limitFields are the admission fields a concurrency fault changes; they
// are always sent explicitly so a restore clears what the fault set.
var limitFields = []string{"limiter", "limit", "min_limit", "max_limit"}

// withLimit returns the admission fields that cap concurrency at n: a
// static limiter at n when there was none, else the same limiter with
// its limit (and bounds) at n.
func withLimit(base map[string]any, n int) map[string]any {
	out := restoreLimit(base)
	limiter, _ := base["limiter"].(string)
	if limiter == "" || limiter == "none" {
		out["limiter"] = "static"
	}
	out["limit"] = n
	if limiter == "aimd" || limiter == "gradient" {
		out["max_limit"] = n
		if lo, _ := base["min_limit"].(float64); lo == 0 || int(lo) > n {
			out["min_limit"] = n
		}
	}
	return out
}

// restoreLimit returns base's limit fields, with zero values for those
// absent.
func restoreLimit(base map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range limitFields {
		v, ok := base[f]
		switch {
		case ok:
			out[f] = v
		case f == "limiter":
			out[f] = "none"
		default:
			out[f] = 0
		}
	}
	return out
}

// DefaultLease is how long a TargetInjector's change holds on the target
// without a renewal when TargetInjector.Lease is 0.
const DefaultLease = 10 * time.Second

// TargetInjector applies DepFault entries to the reference target's
// dependencies through its admin API, and ServiceFault entries on
// TargetService (Capacity{Concurrency}) to its admission limit. It snapshots every dependency's
// configuration and the admission section (Snapshot), then for each change
// PUTs the snapshot with every active fault of that dependency patched in,
// in the order they were applied, so removing one fault leaves the others
// in place; Restore PUTs the snapshot back. A concurrency fault on a
// target without a limiter installs a static limiter for its window.
//
// Every change that leaves a fault in place is leased (X-Lease: Lease):
// the target rolls it back by itself unless Renew repeats it within
// Lease, so faults do not outlive a harness that dies without its
// rollback. The change that takes the last fault off a dependency, and
// Restore, are unleased: they end the lease.
//
// A TargetInjector is safe for concurrent use. The zero value is not
// usable: set Admin.
type TargetInjector struct {
	Admin *targetadmin.Client
	// Lease is how long a change holds without a renewal, 1ms..1h; 0
	// means DefaultLease. Renewals come every Lease/3 (RenewEvery).
	Lease time.Duration

	mu        sync.Mutex
	base      map[string]targetadmin.DepConfig // nil until Snapshot
	admission map[string]any                   // the admission section at Snapshot
	active    map[string][]Entry
	touched   []string // dependencies (and TargetService) changed since the snapshot, in order
}

var (
	_ Injector    = (*TargetInjector)(nil)
	_ Snapshotter = (*TargetInjector)(nil)
	_ Checker     = (*TargetInjector)(nil)
	_ Renewer     = (*TargetInjector)(nil)
)

// lease returns Lease with 0 read as DefaultLease.
func (t *TargetInjector) lease() time.Duration {
	if t.Lease == 0 {
		return DefaultLease
	}
	return t.Lease
}

// RenewEvery returns a third of the lease: two renewals may fail before
// the target rolls a fault back.
func (t *TargetInjector) RenewEvery() time.Duration { return t.lease() / 3 }

// Renew repeats the leased change that keeps e in place, which extends
// its lease; it does nothing when e is not in place (removed meanwhile).
func (t *TargetInjector) Renew(ctx context.Context, e Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := t.active[e.Target]
	if !slices.ContainsFunc(active, func(a Entry) bool { return a.Name == e.Name }) {
		return nil
	}
	if err := t.putLocked(ctx, e.Target, active); err != nil {
		return fmt.Errorf("renew the lease of fault %s: %w", e.Name, err)
	}
	return nil
}

// Snapshot records every dependency's configuration in force (GET
// /admin/deps) and the target's admission section (GET /admin/config) as
// the state to restore.
func (t *TargetInjector) Snapshot(ctx context.Context) error {
	if t.Lease != 0 && (t.Lease < time.Millisecond || t.Lease > time.Hour) {
		return fmt.Errorf("fault lease %v: want 1ms..1h (0: %v)", t.Lease, DefaultLease)
	}
	deps, err := t.Admin.Deps(ctx)
	if err != nil {
		return fmt.Errorf("snapshot the target's dependencies: %w", err)
	}
	adm, err := t.Admin.Admission(ctx)
	if err != nil {
		return fmt.Errorf("snapshot the target's admission limit: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.base = deps
	t.admission = adm
	t.active = map[string][]Entry{}
	t.touched = nil
	return nil
}

// Check refuses an entry whose dependency the target does not have
// (field "target") or whose kind cannot act on a dependency (field
// "kind"), or that asks for what a dependency cannot do: a probability
// below 1 except for abort and reset, a route/method/header scope, a
// response delay. It needs a Snapshot first.
func (t *TargetInjector) Check(e Entry) error {
	t.mu.Lock()
	base := t.base
	t.mu.Unlock()
	if base == nil {
		return fmt.Errorf("check %s: no snapshot of the target's dependencies yet", e.Name)
	}
	if e.Target == TargetService {
		return nil // Timeline.Validate allows only capacity with concurrency there
	}
	if _, ok := base[e.Target]; !ok {
		names := slices.Sorted(maps.Keys(base))
		return fieldErr("target", "%q is not a dependency of the target (it has %s), a proxy or %q", e.Target, strings.Join(names, ", "), TargetLoad)
	}
	df, ok := e.Fault.(DepFault)
	if !ok {
		return fieldErr("kind", "%s cannot act on a dependency, want %s", e.Fault.Kind(), KindsOn(OnDependency))
	}
	if dc, ok := df.(DepChecker); ok {
		if err := dc.CheckDep(e.probability()); err != nil {
			return err
		}
	} else if err := everyCall(df.Kind(), e.probability()); err != nil {
		return err
	}
	if !e.Scope.IsZero() {
		field := "route"
		switch {
		case e.Scope.Route != "":
		case e.Scope.Method != "":
			field = "method"
		default:
			field = "header"
		}
		return fieldErr(field, "a dependency fault acts on every call; route, method and header scopes need a proxy")
	}
	return nil
}

// Apply patches e into its dependency's configuration.
func (t *TargetInjector) Apply(ctx context.Context, e Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := append(slices.Clone(t.active[e.Target]), e)
	if err := t.putLocked(ctx, e.Target, active); err != nil {
		return err
	}
	t.active[e.Target] = active
	return nil
}

// Remove takes e out of its dependency's configuration, keeping the other
// active faults.
func (t *TargetInjector) Remove(ctx context.Context, e Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := slices.DeleteFunc(slices.Clone(t.active[e.Target]), func(a Entry) bool { return a.Name == e.Name })
	if err := t.putLocked(ctx, e.Target, active); err != nil {
		return err
	}
	t.active[e.Target] = active
	return nil
}

// putLocked PUTs name's snapshot with the active faults patched in,
// leased while a fault is in place, unleased (ending the lease) when none
// is.
func (t *TargetInjector) putLocked(ctx context.Context, name string, active []Entry) error {
	if !slices.Contains(t.touched, name) {
		t.touched = append(t.touched, name)
	}
	var lease time.Duration
	if len(active) > 0 {
		lease = t.lease()
	}
	if name == TargetService {
		fields := restoreLimit(t.admission)
		for _, a := range active {
			fields = a.Fault.(ServiceFault).PatchAdmission(t.admission)
		}
		put := t.Admin.PutAdmission
		if lease > 0 {
			put = func(ctx context.Context, f map[string]any) error { return t.Admin.LeaseAdmission(ctx, f, lease) }
		}
		if err := put(ctx, fields); err != nil {
			return fmt.Errorf("admission limit: %w", err)
		}
		return nil
	}
	base, ok := t.base[name]
	if !ok {
		return fmt.Errorf("dependency %s: not in the snapshot", name)
	}
	cfg := base
	for _, a := range active {
		a.Fault.(DepFault).PatchDep(&cfg, a.probability())
	}
	var err error
	if lease > 0 {
		_, err = t.Admin.LeaseDep(ctx, name, cfg, lease)
	} else {
		_, err = t.Admin.PutDep(ctx, name, cfg)
	}
	if err != nil {
		return fmt.Errorf("dependency %s: %w", name, err)
	}
	return nil
}

// Restore PUTs the snapshot back on every dependency changed since it was
// taken, and reports the ones that failed.
func (t *TargetInjector) Restore(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var left []string
	var errs []error
	for _, name := range t.touched {
		var err error
		if name == TargetService {
			if err = t.Admin.PutAdmission(ctx, restoreLimit(t.admission)); err != nil {
				err = fmt.Errorf("restore the target's admission limit: %w", err)
			}
		} else if _, err = t.Admin.PutDep(ctx, name, t.base[name]); err != nil {
			err = fmt.Errorf("restore dependency %s: %w", name, err)
		}
		if err != nil {
			left = append(left, name)
			errs = append(errs, err)
			continue
		}
		delete(t.active, name)
	}
	t.touched = left
	if len(errs) > 0 {
		what := make([]string, len(left))
		for i, name := range left {
			what[i] = "settings of dependency " + name
			if name == TargetService {
				what[i] = "the target's admission limit"
			}
		}
		return &leftError{left: what, err: errors.Join(errs...)}
	}
	return nil
}
