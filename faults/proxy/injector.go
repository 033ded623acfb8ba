package proxy

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/goodput-dev/goodput/faults"
)

// Injector applies a timeline's HTTP faults to a Proxy in the same
// process, without the control API (the harness and tests use it; a proxy
// in another process is driven by faults.ProxyInjector). Restore removes
// every fault it added that is still in place. It is safe for concurrent
// use. The zero value is not usable: set Proxy.
type Injector struct {
	Proxy *Proxy

	mu    sync.Mutex
	added []string
}

var (
	_ faults.Injector    = (*Injector)(nil)
	_ faults.Snapshotter = (*Injector)(nil)
	_ faults.Checker     = (*Injector)(nil)
)

// Check refuses what a proxy cannot apply (faults.CheckProxyEntry), so
// a timeline is refused before it starts rather than when the entry is
// due.
func (in *Injector) Check(e faults.Entry) error { return faults.CheckProxyEntry(e) }

// Snapshot forgets what earlier runs added.
func (in *Injector) Snapshot(context.Context) error {
	in.mu.Lock()
	in.added = nil
	in.mu.Unlock()
	return nil
}

// Apply adds e to the proxy under its name (ErrExists if the name is in
// place). It does not validate e again: the timeline validated it and
// Check refused what a proxy cannot apply.
func (in *Injector) Apply(_ context.Context, e faults.Entry) error {
	s, err := faults.SpecOf(e)
	if err != nil {
		return err
	}
	s.Target, s.At, s.For = "", 0, 0
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, err := in.Proxy.putEntry(e, s, false); err != nil {
		return err
	}
	in.added = append(in.added, e.Name)
	return nil
}

// Remove takes e off the proxy.
func (in *Injector) Remove(_ context.Context, e faults.Entry) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.Proxy.Remove(e.Name); err != nil {
		return err
	}
	in.added = slices.DeleteFunc(in.added, func(n string) bool { return n == e.Name })
	return nil
}

// Restore removes every fault this injector added that is still in place.
func (in *Injector) Restore(context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, name := range in.added {
		if err := in.Proxy.Remove(name); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	in.added = nil
	return nil
}
