package sink_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/target/backlog"
	"github.com/goodput-dev/goodput/workload/sink"
)

// BenchmarkDelivery measures one registered delivery through the sink's
// handler: decode, match, record.
func BenchmarkDelivery(b *testing.B) {
	start := time.Now()
	var n int
	s, err := sink.New(nil, sink.Config{Start: start, Recorder: sink.RecorderFunc(func(*results.Result) { n++ })})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, 1024)
	for i := range bodies {
		bodies[i], err = json.Marshal(backlog.Delivery{ID: uint64(i), RequestID: strconv.Itoa(i), Tenant: "t", Status: "delivered", EnqueuedAt: start, DeliveredAt: start.Add(time.Millisecond)})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := i % len(bodies)
		s.Accepted(&results.Result{RequestID: uint64(id), Route: "messages", Status: 202})
		r := httptest.NewRequest(http.MethodPost, "/deliveries", bytes.NewReader(bodies[id]))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			b.Fatal(w.Code)
		}
		i++
	}
	if n != i {
		b.Fatalf("%d records for %d deliveries", n, i)
	}
}
