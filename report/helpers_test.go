package report

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// record is one Result or Event, for tests that mix both.
type record struct {
	kind results.RecordKind
	res  results.Result
	ev   results.Event
}

// encodeStream writes h and recs as a results stream and returns the bytes
// and the offset at which each record ends.
func encodeStream(t testing.TB, h results.Header, recs []record) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	w, err := results.NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int
	for i := range recs {
		if recs[i].kind == results.RecordResult {
			err = w.WriteResult(&recs[i].res)
		} else {
			err = w.WriteEvent(&recs[i].ev)
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ends
}

// benchRecords returns n realistic result records on two routes and two
// tenants.
func benchRecords(n int) []results.Result {
	rng := rand.New(rand.NewPCG(11, 12))
	routes := []string{"GET /items", "POST /orders"}
	tenants := []string{"t1", "t2"}
	out := make([]results.Result, n)
	for i := range out {
		intended := time.Duration(i) * 100 * time.Microsecond
		lat := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		out[i] = results.Result{
			RequestID: uint64(i), Attempt: 1, Final: true,
			Route: routes[i%2], Tenant: tenants[i%2],
			Intended: intended, Start: intended + 50*time.Microsecond, End: intended + lat,
			Status: 200, BytesIn: 512,
			Timing: results.ServerTiming{Queue: time.Millisecond, App: lat / 2},
		}
	}
	return out
}

// errDiskFull is the error failingWriter returns.
var errDiskFull = errors.New("disk full")

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, errDiskFull
}
