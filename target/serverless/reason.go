package serverless

import (
	"errors"
	"fmt"
)

// ErrThrottled is matched (errors.Is) by every [Reason]: the invoke was
// refused before any work was done, as Lambda answers 429
// TooManyRequestsException.
var ErrThrottled = errors.New("serverless: throttled")

// ErrUnknownFunction is matched by the error of an invoke of a function
// the platform does not have.
var ErrUnknownFunction = errors.New("serverless: unknown function")

// Reason is why an invoke was throttled. A Reason is an error (returning
// one allocates nothing) that matches [ErrThrottled]. The zero value is not
// a refusal and is never returned.
type Reason uint8

// Throttle reasons. The order is stable: append only.
const (
	// ReasonAccount: the function has no reserved concurrency and the
	// account's unreserved concurrency is all in use.
	ReasonAccount Reason = iota + 1
	// ReasonReserved: the function's reserved concurrency is all in use
	// (reserved concurrency caps as well as guarantees).
	ReasonReserved
	// ReasonScaling: no warm environment was free and the function's
	// scaling bucket had no token for a new one.
	ReasonScaling
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonAccount:  "account",
	ReasonReserved: "reserved",
	ReasonScaling:  "scaling",
}

// Reasons returns every throttle reason, in order (for pre-registering
// metric label values).
func Reasons() []Reason { return []Reason{ReasonAccount, ReasonReserved, ReasonScaling} }

// String returns the reason's name as used in metrics and the
// X-Throttle-Reason header: "account", "reserved" or "scaling".
func (r Reason) String() string {
	if r > 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Error implements error.
func (r Reason) Error() string { return "serverless: throttled: " + r.String() }

// Is reports whether target is [ErrThrottled].
func (r Reason) Is(target error) bool { return target == ErrThrottled }

// FunctionError is an invocation that ran and failed (Lambda's
// "Unhandled" function error): the function's sampled error (Err nil) or
// a failed dependency call (Err is the call's error). Asynchronous
// invokes retry it.
type FunctionError struct {
	Function string
	Err      error
}

func (e *FunctionError) Error() string {
	if e.Err != nil {
		return "serverless: function " + e.Function + " failed: " + e.Err.Error()
	}
	return "serverless: function " + e.Function + " failed"
}

// Unwrap returns the failed dependency call's error, nil for a sampled
// function error.
func (e *FunctionError) Unwrap() error { return e.Err }
