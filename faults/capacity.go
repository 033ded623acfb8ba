package faults

import (
	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Capacity shrinks (or grows) a capacity: a dependency's pool (a
// brownout), or, on the target "target", the reference target's own
// concurrency limit.
type Capacity struct {
	// Pool is the dependency's new pool size (dependency targets).
	Pool int
	// Concurrency is the target's new concurrency limit (target "target").
	Concurrency int
}

var _ DepFault = Capacity{}

// Kind returns "capacity".
func (Capacity) Kind() string { return "capacity" }

// Validate checks that exactly one of Pool and Concurrency is set and
// positive.
func (c Capacity) Validate() error {
	switch {
	case c.Pool < 0:
		return fieldErr("pool", "%d, want ≥ 1", c.Pool)
	case c.Concurrency < 0:
		return fieldErr("concurrency", "%d, want ≥ 1", c.Concurrency)
	case c.Pool == 0 && c.Concurrency == 0:
		return fieldErr("pool", "not set, want pool (a dependency's) or concurrency (the target's) ≥ 1")
	case c.Pool > 0 && c.Concurrency > 0:
		return fieldErr("concurrency", "set with pool, want one of them")
	}
	return nil
}

// PatchDep sets the dependency's pool size.
func (c Capacity) PatchDep(cfg *targetadmin.DepConfig, _ float64) { cfg.Pool = c.Pool }

// capacityKind describes capacity for the Registry.
func capacityKind() KindInfo {
	return KindInfo{
		Zero: Capacity{},
		Doc:  "a brownout: a dependency's pool, or the target's own concurrency limit (target `target`), shrinks",
		On:   []Place{OnDependency, OnTarget},
		Knob: "capacity",
	}
}
