package faults

import (
	"net/http"
	"strconv"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Abort answers a request (or fails a dependency call) with Status
// instead of serving it.
type Abort struct {
	Status int // HTTP status, 400..599
}

var (
	_ DepChecker = Abort{}
	_ HTTPFault  = Abort{}
)

// Kind returns "abort".
func (Abort) Kind() string { return "abort" }

// Validate checks that Status is an error status.
func (a Abort) Validate() error {
	if a.Status < 400 || a.Status > 599 {
		return fieldErr("status", "%d, want 400..599", a.Status)
	}
	return nil
}

// CheckDep accepts any probability: a dependency fails that share of
// its calls.
func (Abort) CheckDep(float64) error { return nil }

// PatchDep makes the dependency fail with probability p and Status.
func (a Abort) PatchDep(c *targetadmin.DepConfig, p float64) {
	c.ErrorRate = p
	c.ErrorStatus = a.Status
}

// Serve answers with Status and a one-line body; the upstream is not
// called.
func (a Abort) Serve(w http.ResponseWriter, _ *http.Request, _ http.Handler, _ Env) {
	w.Header().Set("X-Fault", "abort")
	http.Error(w, "fault: abort "+strconv.Itoa(a.Status), a.Status)
}

// abortKind describes abort for the Registry.
func abortKind() KindInfo {
	return KindInfo{
		Zero: Abort{},
		Doc:  "a dependency call or a request through the proxy is answered with an error status instead of being served",
		On:   []Place{OnDependency, OnProxy},
		Knob: "errors",
	}
}
