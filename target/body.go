package target

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// readBody reads the request's body in full, at most limit() bytes and
// within timeout (0: no deadline), before next runs, and hands next the
// bytes read. The route's defences that hold capacity (its bulkhead,
// admission control, the workers) sit behind it, so a client that sends
// its body slowly holds a connection, not a slot that other callers need.
//
// A body above the limit is 413 (refused before reading when its
// Content-Length says so); a body not received within timeout is 408 and
// the connection is closed; another read error is 400. The deadline is the
// connection's read deadline (http.ResponseController), cleared once the
// body is read; where the connection does not support one (a
// ResponseRecorder) the body is read without it.
func readBody(limit func() int64, timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		max := limit()
		if r.ContentLength > max {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: %d bytes, the maximum is %d", r.ContentLength, max))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		deadline := timeout > 0 && rc.SetReadDeadline(time.Now().Add(timeout)) == nil
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if deadline {
			// The handler reads nothing more; the server's own deadlines
			// apply to the next request on the connection.
			_ = rc.SetReadDeadline(time.Time{})
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than the maximum of %d bytes", max))
			case errors.Is(err, os.ErrDeadlineExceeded):
				w.Header().Set("Connection", "close")
				httpError(w, http.StatusRequestTimeout, fmt.Sprintf("body: not received in full within %v", timeout))
			default:
				httpError(w, http.StatusBadRequest, "body: "+err.Error())
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
