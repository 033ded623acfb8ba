package sink_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload/sink"
)

// FuzzDelivery feeds arbitrary bodies to the sink: it answers 204 or 400,
// never panics, and records only deliveries of registered requests
// (stale ones, enqueued before the run's start, are counted, not recorded).
func FuzzDelivery(f *testing.F) {
	f.Add([]byte(`{"request_id":"1","status":"delivered","enqueued_at":"2026-11-26T19:00:00Z","delivered_at":"2026-11-26T19:00:01Z"}`))
	f.Add([]byte(`{"request_id":"18446744073709551616","status":"expired"}`))
	f.Add([]byte(`{"request_id":"1","status":"lost"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var n int
		s, err := sink.New(nil, sink.Config{Start: time.Now(), Recorder: sink.RecorderFunc(func(*results.Result) { n++ })})
		if err != nil {
			t.Fatal(err)
		}
		s.Accepted(&results.Result{RequestID: 1, Status: 202})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/deliveries", bytes.NewReader(body)))
		c := s.Counts()
		switch w.Code {
		case http.StatusNoContent:
			if c.Delivered+c.Expired+c.DeadLettered+c.Dropped+c.Stale != 1 {
				t.Errorf("204 but counts %+v", c)
			}
		case http.StatusBadRequest:
			if c.Malformed != 1 || n != 0 {
				t.Errorf("400 but counts %+v, %d records", c, n)
			}
		default:
			t.Errorf("status %d, want 204 or 400", w.Code)
		}
	})
}
