package faults

import (
	"net"
	"net/http"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Reset breaks the connection instead of answering: a TCP RST (the
// connection is closed with SO_LINGER 0) for HTTP/1, a stream reset for
// HTTP/2. On a dependency it is a call that fails with a connection reset
// (for a remote dependency) or an error without a status.
type Reset struct{}

var (
	_ DepChecker = Reset{}
	_ HTTPFault  = Reset{}
)

// Kind returns "reset".
func (Reset) Kind() string { return "reset" }

// Validate has nothing to check.
func (Reset) Validate() error { return nil }

// CheckDep accepts any probability: a dependency fails that share of
// its calls.
func (Reset) CheckDep(float64) error { return nil }

// PatchDep makes the dependency fail with probability p by a reset.
func (Reset) PatchDep(c *targetadmin.DepConfig, p float64) {
	c.ErrorRate = p
	c.ErrorStatus = 0
}

// Serve resets the client's connection; the upstream is not called.
func (Reset) Serve(w http.ResponseWriter, _ *http.Request, _ http.Handler, _ Env) {
	abortConn(w, true)
}

// abortConn closes the exchange's connection without an answer: with a
// TCP RST when rst is set, else with a plain close (FIN). When the writer
// cannot be hijacked (HTTP/2) it aborts the handler, which resets the
// stream.
func abortConn(w http.ResponseWriter, rst bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && rst {
		_ = tc.SetLinger(0) // best effort: a plain close still breaks the exchange
	}
	_ = conn.Close() // the connection is being thrown away
}

// resetKind describes reset for the Registry.
func resetKind() KindInfo {
	return KindInfo{
		Zero: Reset{},
		Doc:  "the connection is reset: a dependency call fails, or the proxy drops the request",
		On:   []Place{OnDependency, OnProxy},
		Knob: "errors",
	}
}
