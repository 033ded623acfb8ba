package faults

import (
	"net/http"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Stall is a blackhole: requests (or dependency calls) hang until the
// fault is removed, then go on as if nothing happened; a client that gives
// up first just leaves.
type Stall struct{}

var (
	_ DepFault  = Stall{}
	_ HTTPFault = Stall{}
)

// Kind returns "stall".
func (Stall) Kind() string { return "stall" }

// Validate has nothing to check.
func (Stall) Validate() error { return nil }

// PatchDep stalls every call of the dependency (probability must be 1).
func (Stall) PatchDep(c *targetadmin.DepConfig, _ float64) { c.Stall = true }

// Serve holds the request until the fault is lifted, then forwards it.
func (Stall) Serve(w http.ResponseWriter, r *http.Request, next http.Handler, env Env) {
	select {
	case <-env.Lifted:
		next.ServeHTTP(w, r)
	case <-r.Context().Done():
	}
}

// stallKind describes stall for the Registry.
func stallKind() KindInfo {
	return KindInfo{
		Zero: Stall{},
		Doc:  "calls hang until the fault ends, a blackhole",
		On:   []Place{OnDependency, OnProxy},
		Knob: "stall",
	}
}
