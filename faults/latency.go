package faults

import (
	"errors"
	"fmt"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Latency changes a dependency's latency distribution: it replaces it with
// Distribution (when set) and scales every sampled latency by Multiplier
// (when not 0). Dependencies only: a proxy cannot change how long its
// upstream takes, only add to it (see Delay).
type Latency struct {
	Distribution *dist.Latency
	Multiplier   float64
}

var _ DepFault = Latency{}

// Kind returns "latency".
func (Latency) Kind() string { return "latency" }

// Validate checks the distribution and that the multiplier is positive.
func (l Latency) Validate() error {
	var errs []error
	if l.Distribution == nil && l.Multiplier == 0 {
		errs = append(errs, fieldErr("multiplier", "0 with no distribution, want a multiplier > 0 or a distribution"))
	}
	if l.Multiplier < 0 {
		errs = append(errs, fieldErr("multiplier", "%v, want > 0", l.Multiplier))
	}
	if l.Distribution != nil {
		if err := l.Distribution.Validate(); err != nil {
			errs = append(errs, &FieldError{Field: "distribution", Msg: fmt.Sprint(err)})
		}
	}
	return errors.Join(errs...)
}

// PatchDep replaces the distribution and multiplies the dependency's
// multiplier (1 when unset) by Multiplier.
func (l Latency) PatchDep(c *targetadmin.DepConfig, _ float64) {
	if l.Distribution != nil {
		c.Latency = *l.Distribution
	}
	if l.Multiplier != 0 {
		m := c.LatencyMultiplier
		if m == 0 {
			m = 1
		}
		c.LatencyMultiplier = m * l.Multiplier
	}
}

// latencyKind describes latency for the Registry.
func latencyKind() KindInfo {
	return KindInfo{
		Zero: Latency{},
		Doc:  "a dependency's latency distribution replaced and/or multiplied",
		On:   []Place{OnDependency},
		Knob: "latency",
	}
}
