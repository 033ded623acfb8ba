package faults

// Retry switches the clients' retry policy for the fault's window (target
// "load"): a deploy that adds retries. Policy names a client policy the
// harness knows (a scenario's named client settings); at the end of the
// window the run's own policy is restored.
type Retry struct {
	Policy string
}

// Kind returns "retry".
func (Retry) Kind() string { return "retry" }

// Validate checks that a policy is named.
func (r Retry) Validate() error {
	if r.Policy == "" {
		return fieldErr("policy", "empty, want the name of a client retry policy")
	}
	return nil
}

func (Retry) loadFault() {}

// retryKind describes retry for the Registry.
func retryKind() KindInfo {
	return KindInfo{
		Zero: Retry{},
		Doc:  "the clients switch to a named policy of `policies` for the window (a deploy that adds retries)",
		On:   []Place{OnLoad},
		Knob: "retry",
	}
}
