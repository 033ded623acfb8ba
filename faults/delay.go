package faults

import (
	"net/http"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Delay adds latency: Delay + U(0, Jitter) per request or dependency call.
// Delay and Jitter are each in [0, MaxDelay], and not both 0.
//
// On a dependency it sets the dependency's add_latency and add_jitter. In
// a proxy it waits before calling the upstream or, when Response is set,
// after the upstream answered and before the answer is passed on.
type Delay struct {
	Delay    time.Duration
	Jitter   time.Duration
	Response bool // proxy only: delay the response instead of the request
}

var (
	_ DepChecker = Delay{}
	_ HTTPFault  = Delay{}
)

// MaxDelay is the longest Delay, and the longest Jitter, a delay fault
// takes: longer than any client waits, so a longer one can only be a typo.
const MaxDelay = time.Hour

// Kind returns "delay".
func (Delay) Kind() string { return "delay" }

// Validate checks that the delay and the jitter are each in
// [0, MaxDelay] and not both 0.
func (d Delay) Validate() error {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"delay", d.Delay}, {"jitter", d.Jitter}} {
		if f.v < 0 {
			return fieldErr(f.name, "%v, want ≥ 0", f.v)
		}
		if f.v > MaxDelay {
			return fieldErr(f.name, "%v, want ≤ %v", f.v, MaxDelay)
		}
	}
	if d.Delay == 0 && d.Jitter == 0 {
		return fieldErr("delay", "0 with no jitter, want a delay > 0")
	}
	return nil
}

// PatchDep adds the delay and jitter to the dependency's own.
func (d Delay) PatchDep(c *targetadmin.DepConfig, _ float64) {
	c.AddLatency += dist.Duration(d.Delay)
	c.AddJitter += dist.Duration(d.Jitter)
}

// CheckDep refuses a response delay and a probability below 1: a
// dependency delays every call, and has no separate response.
func (d Delay) CheckDep(p float64) error {
	if d.Response {
		return fieldErr("response", "a dependency has no separate response delay; drop response or use a proxy")
	}
	return everyCall(d.Kind(), p)
}

// Serve delays the request (or its response) by Delay + env.U·Jitter.
// When the fault is lifted (env.Lifted closes) the wait ends at once and
// the exchange goes on, so removing the fault releases what it holds;
// when the client leaves first, the request is not forwarded.
func (d Delay) Serve(w http.ResponseWriter, r *http.Request, next http.Handler, env Env) {
	pause := jittered(d.Delay, d.Jitter, env.U)
	if d.Response {
		next.ServeHTTP(&delayedWriter{ResponseWriter: w, pause: pause, done: r.Context().Done(), lifted: env.Lifted}, r)
		return
	}
	if !hold(r.Context().Done(), env.Lifted, pause) {
		return // the client left while waiting
	}
	next.ServeHTTP(w, r)
}

// delayedWriter holds back the response's header (and so everything
// after it) for pause, or until lifted closes.
type delayedWriter struct {
	http.ResponseWriter
	pause  time.Duration
	done   <-chan struct{}
	lifted <-chan struct{}
	waited bool
}

func (w *delayedWriter) hold() {
	if !w.waited {
		w.waited = true
		hold(w.done, w.lifted, w.pause)
	}
}

func (w *delayedWriter) WriteHeader(code int) {
	w.hold()
	w.ResponseWriter.WriteHeader(code)
}

func (w *delayedWriter) Write(p []byte) (int, error) {
	w.hold()
	return w.ResponseWriter.Write(p)
}

func (w *delayedWriter) Flush() {
	w.hold()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *delayedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// delayKind describes delay for the Registry.
func delayKind() KindInfo {
	return KindInfo{
		Zero: Delay{},
		Doc:  "slower answers: delay + U(0, jitter) per call of a dependency, or per request (or response) through the proxy",
		On:   []Place{OnDependency, OnProxy},
		Knob: "delay",
	}
}
