package faults

// Burst fires Requests extra requests at once at the fault's time (target
// "load"). It is instant: its window ("for") is ignored and nothing is
// removed.
type Burst struct {
	Requests int
}

// Kind returns "burst".
func (Burst) Kind() string { return "burst" }

// Validate checks that the burst has requests.
func (b Burst) Validate() error {
	if b.Requests < 1 {
		return fieldErr("requests", "%d, want ≥ 1", b.Requests)
	}
	return nil
}

func (Burst) instant()   {}
func (Burst) loadFault() {}

// burstKind describes burst for the Registry.
func burstKind() KindInfo {
	return KindInfo{
		Zero: Burst{},
		Doc:  "that many extra requests at once, on top of the schedule (instant)",
		On:   []Place{OnLoad},
		Knob: "",
	}
}
