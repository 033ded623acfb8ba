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

var _ LoadFault = Burst{}

func (Burst) instant() {}

// CheckLoad refuses controls without Load.
func (b Burst) CheckLoad(c LoadControls) error { return c.needLoad(b.Kind()) }

// ApplyLoad fires the burst.
func (b Burst) ApplyLoad(c LoadControls) error {
	c.Load.Burst(b.Requests)
	return nil
}

// RemoveLoad has nothing to undo: a burst is instant.
func (Burst) RemoveLoad(LoadControls) error { return nil }

// burstKind describes burst for the Registry.
func burstKind() KindInfo {
	return KindInfo{
		Zero: Burst{},
		Doc:  "that many extra requests at once, on top of the schedule (instant)",
		On:   []Place{OnLoad},
		Knob: "",
	}
}
