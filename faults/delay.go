package faults

import (
	"net/http"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// Delay adds latency: Delay + U(0, Jitter) per request or dependency call.
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
	_ DepFault  = Delay{}
	_ HTTPFault = Delay{}
)

// Kind returns "delay".
func (Delay) Kind() string { return "delay" }

// Validate checks that the delay is positive and the jitter not negative.
func (d Delay) Validate() error {
	if d.Delay < 0 {
		return fieldErr("delay", "%v, want ≥ 0", d.Delay)
	}
	if d.Jitter < 0 {
		return fieldErr("jitter", "%v, want ≥ 0", d.Jitter)
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

// Serve delays the request (or its response) by Delay + env.U·Jitter.
func (d Delay) Serve(w http.ResponseWriter, r *http.Request, next http.Handler, env Env) {
	pause := jittered(d.Delay, d.Jitter, env.U)
	if d.Response {
		next.ServeHTTP(&delayedWriter{ResponseWriter: w, pause: pause, done: r.Context().Done()}, r)
		return
	}
	if !wait(r.Context().Done(), pause) {
		return // the client left while waiting
	}
	next.ServeHTTP(w, r)
}

// delayedWriter holds back the response's header (and so everything
// after it) for pause.
type delayedWriter struct {
	http.ResponseWriter
	pause  time.Duration
	done   <-chan struct{}
	waited bool
}

func (w *delayedWriter) hold() {
	if !w.waited {
		w.waited = true
		wait(w.done, w.pause)
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
