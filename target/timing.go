package target

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// timing collects one request's time breakdown for the Server-Timing
// header: queue (waiting for admission and for dependency slots), one entry
// per dependency call (time holding a slot) and app (the rest).
//
// A timing is safe for concurrent use (a handler may call dependencies in
// parallel).
type timing struct {
	start time.Time
	// route is set by the route's first middleware; queueMark when the
	// request enters the waiting defences. Both are written and read on the
	// request's goroutine only.
	route     *routeMetrics
	queueMark time.Time
	queueDone bool // the handler started: the waiting defences are behind
	// wasted: the request did work (held a dependency slot, burnt CPU)
	// that finished after its context had ended: work nobody waited for.
	wasted bool

	mu    sync.Mutex
	queue time.Duration
	deps  []depTiming
}

type depTiming struct {
	name string
	dur  time.Duration
}

// timingOf returns the timing of the request w answers, or nil outside
// the server's middleware (callers then record nothing). The timing rides
// on the response writer rather than in the request's context, so that a
// request refused at the door is never copied to carry it.
func timingOf(w http.ResponseWriter) *timing {
	for {
		switch x := w.(type) {
		case *timingWriter:
			return x.t
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// addQueue adds time spent waiting.
func (t *timing) addQueue(d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.queue += d
	t.mu.Unlock()
}

// addDep adds time spent in dependency name (merged with earlier calls to
// the same dependency).
func (t *timing) addDep(name string, d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.deps {
		if t.deps[i].name == name {
			t.deps[i].dur += d
			return
		}
	}
	t.deps = append(t.deps, depTiming{name, d})
}

// header renders the Server-Timing value at now:
// "queue;dur=1.2, app;dur=0.3, db;dur=20.1" (milliseconds).
func (t *timing) header(now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	app := now.Sub(t.start) - t.queue
	for _, d := range t.deps {
		app -= d.dur
	}
	var buf [128]byte
	b := buf[:0]
	b = appendEntry(b, "queue", t.queue)
	b = append(b, ", "...)
	b = appendEntry(b, "app", max(app, 0))
	for _, d := range t.deps {
		b = append(b, ", "...)
		b = appendEntry(b, d.name, d.dur)
	}
	return string(b)
}

func appendEntry(b []byte, name string, d time.Duration) []byte {
	b = append(b, name...)
	b = append(b, ";dur="...)
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

// timingWriter adds the Server-Timing header just before the status line
// goes out, and remembers the status and whether anything was written.
type timingWriter struct {
	http.ResponseWriter
	t       *timing
	status  int
	written bool
	value   [1]string // the header's value, so setting it allocates only the string
}

func (w *timingWriter) WriteHeader(code int) {
	if !w.written {
		w.written = true
		w.status = code
		now := time.Now()
		if !w.t.queueMark.IsZero() && !w.t.queueDone {
			// Refused by a waiting defence: the whole wait was queueing.
			w.t.queueDone = true
			w.t.addQueue(now.Sub(w.t.queueMark))
		}
		w.value[0] = w.t.header(now)
		w.Header()["Server-Timing"] = w.value[:1:1]
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *timingWriter) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *timingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
