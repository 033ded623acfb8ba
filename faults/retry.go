package faults

import "fmt"

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

var _ LoadFault = Retry{}

// CheckLoad refuses controls without Retry.
func (Retry) CheckLoad(c LoadControls) error {
	if c.Retry == nil {
		return fieldErr("kind", "retry needs the runner's retry policy switch, which this run does not have")
	}
	return nil
}

// ApplyLoad switches the clients to Policy.
func (r Retry) ApplyLoad(c LoadControls) error {
	if err := c.Retry.SwitchRetryPolicy(r.Policy); err != nil {
		return fmt.Errorf("switch retry policy to %s: %w", r.Policy, err)
	}
	return nil
}

// RemoveLoad switches the clients back to the run's own policy.
func (Retry) RemoveLoad(c LoadControls) error {
	if err := c.Retry.SwitchRetryPolicy(""); err != nil {
		return fmt.Errorf("restore the run's retry policy: %w", err)
	}
	return nil
}

// retryKind describes retry for the Registry.
func retryKind() KindInfo {
	return KindInfo{
		Zero: Retry{},
		Doc:  "the clients switch to a named policy of `policies` for the window (a deploy that adds retries)",
		On:   []Place{OnLoad},
		Knob: "retry",
	}
}
