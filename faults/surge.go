package faults

// Surge multiplies the offered rate by Multiplier for the fault's window
// (target "load"). Retries are not multiplied: they follow from the
// service's answers.
type Surge struct {
	Multiplier float64
}

// Kind returns "surge".
func (Surge) Kind() string { return "surge" }

// Validate checks that the multiplier is positive.
func (s Surge) Validate() error {
	if s.Multiplier <= 0 {
		return fieldErr("multiplier", "%v, want > 0 (3 triples the offered rate)", s.Multiplier)
	}
	return nil
}

var _ LoadFault = Surge{}

// CheckLoad refuses controls without Load.
func (s Surge) CheckLoad(c LoadControls) error { return c.needLoad(s.Kind()) }

// ApplyLoad sets the rate multiplier.
func (s Surge) ApplyLoad(c LoadControls) error {
	c.Load.SetRateMultiplier(s.Multiplier)
	return nil
}

// RemoveLoad sets the rate multiplier back to 1.
func (Surge) RemoveLoad(c LoadControls) error {
	c.Load.SetRateMultiplier(1)
	return nil
}

// surgeKind describes surge for the Registry.
func surgeKind() KindInfo {
	return KindInfo{
		Zero: Surge{},
		Doc:  "more offered load: the schedule's rate times multiplier",
		On:   []Place{OnLoad},
		Knob: "rate",
	}
}
