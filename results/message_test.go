package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// readResults reads every result record of data.
func readResults(t *testing.T, data []byte) ([]Result, *Reader) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []Result
	var res Result
	var ev Event
	for {
		kind, err := rd.Next(&res, &ev)
		if errors.Is(err, io.EOF) {
			return out, rd
		}
		if err != nil {
			t.Fatal(err)
		}
		if kind == RecordResult {
			out = append(out, res)
		}
	}
}

func TestErrorMessagesRoundTripAcrossBlocks(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	msgs := []string{"", "connection refused", "timeout", "connection refused"}
	for i := range 40 {
		r := Result{RequestID: uint64(i), Attempt: 1, Final: true, Outcome: OutcomeConnError, Error: msgs[i%len(msgs)]}
		if err := w.WriteResult(&r); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, rd := readResults(t, buf.Bytes())
	if len(got) != 40 {
		t.Fatalf("read %d results, want 40", len(got))
	}
	for i, r := range got {
		if r.Error != msgs[i%len(msgs)] {
			t.Fatalf("result %d: error %q, want %q", i, r.Error, msgs[i%len(msgs)])
		}
	}
	if in := rd.Integrity(); !in.Complete {
		t.Fatalf("not complete: %v", in.Err())
	}
	// Each message is stored once per block that uses it: 4 blocks, 2 messages.
	if n := strings.Count(buf.String(), "connection refused"); n != 4 {
		t.Errorf("%q stored %d times, want once in each of 4 blocks", "connection refused", n)
	}
}

// A block that is lost takes its message declarations with it; the blocks
// after it declare their own, so their results keep their text.
func TestErrorMessagesSurviveADamagedBlock(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, testHeader())
	var ends []int
	for i := range 3 {
		r := Result{RequestID: uint64(i), Attempt: 1, Final: true, Outcome: OutcomeConnError, Error: "connection refused"}
		if err := w.WriteResult(&r); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := bytes.Clone(buf.Bytes())
	data[ends[0]+12] ^= 0xff // inside the second block
	got, rd := readResults(t, data)
	if len(got) != 2 || got[1].RequestID != 2 || got[1].Error != "connection refused" {
		t.Fatalf("got %+v, want requests 0 and 2 with their error", got)
	}
	if rd.Integrity().DamagedBlocks != 1 {
		t.Fatalf("integrity %+v, want one damaged block", rd.Integrity())
	}
}

func TestErrorMessagesBoundedThenOther(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, testHeader())
	for i := range MaxErrors + 50 {
		r := Result{RequestID: uint64(i), Outcome: OutcomeConnError, Error: fmt.Sprintf("error %d", i)}
		if err := w.WriteResult(&r); err != nil {
			t.Fatal(err)
		}
	}
	long := Result{Error: strings.Repeat("x", 2*MaxErrorLen)}
	if err := w.WriteResult(&long); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readResults(t, buf.Bytes())
	if got[MaxErrors-1].Error != fmt.Sprintf("error %d", MaxErrors-1) {
		t.Errorf("message %d: %q", MaxErrors-1, got[MaxErrors-1].Error)
	}
	for _, r := range got[MaxErrors:] {
		if r.Error != OtherError {
			t.Fatalf("result %d past the bound: error %q, want %q", r.RequestID, r.Error, OtherError)
		}
	}
}

// A reader that knows 20 result fields and no message records (as before
// error text) still reads a stream with them: msgpack-wise, the records are
// arrays whose extra elements it skips.
func TestErrorMessagesInvisibleToOlderReaders(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, testHeader())
	r := Result{RequestID: 7, Attempt: 1, Final: true, Outcome: OutcomeConnError, Throttle: "api", Error: "timeout"}
	if err := w.WriteResult(&r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	rd, _ := NewReader(bytes.NewReader(data))
	var res Result
	var ev Event
	kind, err := rd.Next(&res, &ev)
	if err != nil || kind != RecordResult || res.Error != "timeout" || res.Throttle != "api" {
		t.Fatalf("Next = %v, %v, %+v", kind, err, res)
	}
	// The message record is one 3-element array of a kind old readers skip.
	var arr []any
	i := bytes.Index(data, []byte("timeout"))
	if i < 0 {
		t.Fatal("message not stored")
	}
	if err := msgpack.Unmarshal(data[i-4:i+len("timeout")], &arr); err != nil || len(arr) != messageFields {
		t.Fatalf("message record %v, %v", arr, err)
	}
}
