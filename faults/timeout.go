package faults

import (
	"net/http"
)

// Timeout accepts a request and never answers it: the proxy holds it
// until the client gives up, or until the fault is removed, and then
// closes the connection without a word. Proxy only (a dependency that
// never answers is a Stall).
type Timeout struct{}

var _ HTTPFault = Timeout{}

// Kind returns "timeout".
func (Timeout) Kind() string { return "timeout" }

// Validate has nothing to check.
func (Timeout) Validate() error { return nil }

// Serve holds the request and then drops the connection unanswered.
func (Timeout) Serve(w http.ResponseWriter, r *http.Request, _ http.Handler, env Env) {
	select {
	case <-env.Lifted:
	case <-r.Context().Done():
	}
	abortConn(w, false)
}

// timeoutKind describes timeout for the Registry.
func timeoutKind() KindInfo {
	return KindInfo{
		Zero: Timeout{},
		Doc:  "the proxy accepts the request and never answers",
		On:   []Place{OnProxy},
		Knob: "stall",
	}
}
