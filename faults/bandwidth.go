package faults

import (
	"net/http"
	"time"
)

// Bandwidth limits the response body through the proxy to BytesPerSecond:
// the body is written in slices of at most BytesPerSecond/10 bytes (at
// least 1), and after each slice of n bytes the writer waits
// n/BytesPerSecond seconds. Once the fault is lifted the rest of the body
// goes unpaced. BytesPerSecond is in [1, MaxBytesPerSecond]. Proxy only.
type Bandwidth struct {
	BytesPerSecond int64
}

// MaxBytesPerSecond is the highest rate a bandwidth fault takes: 10 GB/s,
// faster than any link a test runs over, so a higher one limits nothing
// and can only be a typo.
const MaxBytesPerSecond = 10_000_000_000

var _ HTTPFault = Bandwidth{}

// Kind returns "bandwidth".
func (Bandwidth) Kind() string { return "bandwidth" }

// Validate checks that the rate is in [1, MaxBytesPerSecond].
func (b Bandwidth) Validate() error {
	if b.BytesPerSecond < 1 || b.BytesPerSecond > MaxBytesPerSecond {
		return fieldErr("bytes_per_second", "%d, want 1..%d (bytes per second)", b.BytesPerSecond, int64(MaxBytesPerSecond))
	}
	return nil
}

// Serve forwards the request with a response writer that paces the body
// until env.Lifted closes.
func (b Bandwidth) Serve(w http.ResponseWriter, r *http.Request, next http.Handler, env Env) {
	slice := b.BytesPerSecond / 10
	if slice < 1 {
		slice = 1
	}
	next.ServeHTTP(&throttledWriter{ResponseWriter: w, bps: b.BytesPerSecond, slice: int(slice), done: r.Context().Done(), lifted: env.Lifted}, r)
}

// throttledWriter paces Write at bps bytes per second until lifted
// closes.
type throttledWriter struct {
	http.ResponseWriter
	bps    int64
	slice  int
	done   <-chan struct{}
	lifted <-chan struct{}
	free   bool // lifted: write unpaced
}

func (w *throttledWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.free {
			m, err := w.ResponseWriter.Write(p)
			return written + m, err
		}
		n := min(len(p), w.slice)
		m, err := w.ResponseWriter.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[n:]
		if !hold(w.done, w.lifted, time.Duration(int64(n)*int64(time.Second)/w.bps)) {
			return written, http.ErrAbortHandler
		}
		select {
		case <-w.lifted: // the wait ended because the fault was lifted
			w.free = true
		default:
		}
	}
	return written, nil
}

func (w *throttledWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *throttledWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bandwidthKind describes bandwidth for the Registry.
func bandwidthKind() KindInfo {
	return KindInfo{
		Zero: Bandwidth{},
		Doc:  "the proxy throttles the response to bytes_per_second",
		On:   []Place{OnProxy},
		Knob: "bandwidth",
	}
}
