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

func (Surge) loadFault() {}

// surgeKind describes surge for the Registry.
func surgeKind() KindInfo {
	return KindInfo{
		Zero: Surge{},
		Doc:  "more offered load: the schedule's rate times multiplier",
		On:   []Place{OnLoad},
		Knob: "rate",
	}
}
