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

var (
	_ DepChecker    = Capacity{}
	_ ServiceFault  = Capacity{}
	_ TargetChecker = Capacity{}
)

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

// CheckDep refuses a capacity without a pool on a dependency; the
// probability is not checked (a pool has no per-call form).
func (c Capacity) CheckDep(float64) error {
	if c.Pool == 0 {
		return fieldErr("pool", "not set, want the dependency's pool size during the fault")
	}
	return nil
}

// PatchAdmission caps the target's concurrency at Concurrency (see
// withLimit).
func (c Capacity) PatchAdmission(base map[string]any) map[string]any {
	return withLimit(base, c.Concurrency)
}

// CheckTarget takes Concurrency on the target itself (TargetService) and
// Pool on a dependency, not the other way round.
func (c Capacity) CheckTarget(target string) error {
	switch {
	case target == TargetService && c.Concurrency == 0:
		return fieldErr("kind", "%s on %q: the target itself takes only capacity with concurrency", c.Kind(), TargetService)
	case target != TargetService && c.Concurrency != 0:
		return fieldErr("concurrency", "set on %q: concurrency is the target's own limit (target %q); a dependency takes pool", target, TargetService)
	}
	return nil
}

// capacityKind describes capacity for the Registry.
func capacityKind() KindInfo {
	return KindInfo{
		Zero: Capacity{},
		Doc:  "a brownout: a dependency's pool, or the target's own concurrency limit (target `target`), shrinks",
		On:   []Place{OnDependency, OnTarget},
		Knob: "capacity",
	}
}
