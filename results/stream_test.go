package results

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// testHeader is a header with every field set.
func testHeader() Header {
	return Header{
		Version:  FormatVersion,
		Tool:     "goodput/test",
		Host:     "host-a",
		Start:    time.Date(2026, 11, 26, 19, 0, 0, 123, time.UTC),
		Seed:     42,
		Label:    "baseline",
		Scenario: []byte(`{"name":"steady"}`),
		SLO:      250 * time.Millisecond,
		Phases: []PhaseInfo{
			{Name: "warmup", Offset: 0, Duration: 2 * time.Second, FromRPS: 10, ToRPS: 100},
			{Name: "steady", Offset: 2 * time.Second, Duration: 8 * time.Second, FromRPS: 100, ToRPS: 100},
		},
		Shard: ShardInfo{Index: 1, Count: 3, ClockOffset: -3 * time.Millisecond},
	}
}

// record is one Result or Event, for tests that mix both.
type record struct {
	kind RecordKind
	res  Result
	ev   Event
}

var (
	testRoutes  = []string{"GET /items", "POST /orders", "", "GET /search?q=ü"}
	testTenants = []string{"", "t1", "t2", "tenant-with-a-long-name-" + strings.Repeat("x", 40)}
)

// randomRecord returns a record with every field drawn from rng, covering
// the msgpack integer widths.
func randomRecord(rng *rand.Rand) record {
	num := func() int64 {
		switch rng.IntN(5) {
		case 0:
			return rng.Int64N(128)
		case 1:
			return -rng.Int64N(1 << 20)
		case 2:
			return rng.Int64N(1 << 40)
		case 3:
			return rng.Int64()
		default:
			return -rng.Int64()
		}
	}
	if rng.IntN(10) == 0 {
		return record{kind: RecordEvent, ev: Event{
			Kind:      EventKind(rng.IntN(int(numEventKinds))),
			At:        time.Duration(num()),
			Scheduled: time.Duration(num()),
			Name:      testRoutes[rng.IntN(len(testRoutes))],
			Target:    testTenants[rng.IntN(len(testTenants))],
			Detail:    strings.Repeat("d", rng.IntN(300)),
		}}
	}
	return record{kind: RecordResult, res: Result{
		RequestID: rng.Uint64() >> rng.UintN(64),
		Attempt:   uint16(rng.UintN(1 << 16)),
		Phase:     uint16(rng.UintN(4)),
		Final:     rng.IntN(2) == 0,
		Route:     testRoutes[rng.IntN(len(testRoutes))],
		Tenant:    testTenants[rng.IntN(len(testTenants))],
		Intended:  time.Duration(num()),
		Start:     time.Duration(num()),
		End:       time.Duration(num()),
		Status:    uint16(rng.UintN(1 << 16)),
		Outcome:   Outcome(rng.IntN(int(NumOutcomes))),
		BytesOut:  rng.Uint32(),
		BytesIn:   uint32(rng.UintN(300)),
		Timing:    ServerTiming{Queue: time.Duration(num()), App: time.Duration(num()), Dep: time.Duration(num())},
		Age:       time.Duration(num()),
	}}
}

// encodeStream writes h and recs and returns the bytes and the offset at
// which each record ends.
func encodeStream(t testing.TB, h Header, recs []record) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var ends []int
	for i := range recs {
		if recs[i].kind == RecordResult {
			err = w.WriteResult(&recs[i].res)
		} else {
			err = w.WriteEvent(&recs[i].ev)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	return buf.Bytes(), ends
}

// readAll reads every record of data.
func readAll(t testing.TB, data []byte) (Header, []record, *Reader) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	for {
		var r record
		kind, err := rd.Next(&r.res, &r.ev)
		if errors.Is(err, io.EOF) {
			return rd.Header(), out, rd
		}
		if err != nil {
			t.Fatal(err)
		}
		r.kind = kind
		if kind == RecordResult {
			r.ev = Event{}
		} else {
			r.res = Result{}
		}
		out = append(out, r)
	}
}

func TestStreamRoundTripProperty(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		recs := make([]record, rng.IntN(2000))
		for i := range recs {
			recs[i] = randomRecord(rng)
		}
		data, _ := encodeStream(t, testHeader(), recs)
		h, got, rd := readAll(t, data)
		if !reflect.DeepEqual(h, testHeader()) {
			t.Fatalf("seed %d: header\n got %+v\nwant %+v", seed, h, testHeader())
		}
		if len(got) != len(recs) {
			t.Fatalf("seed %d: read %d records, wrote %d", seed, len(got), len(recs))
		}
		for i := range recs {
			if !reflect.DeepEqual(got[i], recs[i]) {
				t.Fatalf("seed %d record %d:\n got %+v\nwant %+v", seed, i, got[i], recs[i])
			}
		}
		if rd.Truncated() != nil {
			t.Fatalf("seed %d: whole stream reported truncated: %v", seed, rd.Truncated())
		}
		if rd.Records() != int64(len(recs)) {
			t.Fatalf("Records() = %d, want %d", rd.Records(), len(recs))
		}
	}
}

func TestStreamZeroHeaderRoundTrips(t *testing.T) {
	data, _ := encodeStream(t, Header{}, nil)
	h, recs, _ := readAll(t, data)
	if !reflect.DeepEqual(h, Header{Version: FormatVersion}) || len(recs) != 0 {
		t.Fatalf("got header %+v and %d records", h, len(recs))
	}
}

func TestStreamTruncatedAtEveryOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]record, 12)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	data, ends := encodeStream(t, testHeader(), recs)
	headerEnd := ends[0] - recordLen(t, recs[0])
	for cut := range len(data) + 1 {
		rd, err := NewReader(bytes.NewReader(data[:cut]))
		if cut < headerEnd {
			if err == nil {
				t.Fatalf("cut at %d inside the header: no error", cut)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		whole := 0
		for whole < len(ends) && ends[whole] <= cut {
			whole++
		}
		n := 0
		for {
			var res Result
			var ev Event
			_, err := rd.Next(&res, &ev)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("cut at %d: record %d: %v", cut, n, err)
			}
			n++
		}
		if n != whole {
			t.Fatalf("cut at %d: read %d records, want %d", cut, n, whole)
		}
		atBoundary := cut == headerEnd || (whole > 0 && ends[whole-1] == cut)
		if trunc := rd.Truncated(); (trunc == nil) != atBoundary {
			t.Fatalf("cut at %d (boundary %v): Truncated() = %v", cut, atBoundary, trunc)
		} else if trunc != nil && !strings.Contains(trunc.Error(), "whole records") {
			t.Fatalf("truncation message does not say how many records were read: %v", trunc)
		}
	}
}

// recordLen returns the encoded length of one record.
func recordLen(t *testing.T, r record) int {
	with, _ := encodeStream(t, Header{}, []record{r})
	without, _ := encodeStream(t, Header{}, nil)
	return len(with) - len(without)
}

// oneByteReader returns one byte per Read, to exercise refills.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestStreamReadsOneByteAtATime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := make([]record, 50)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	data, _ := encodeStream(t, testHeader(), recs)
	rd, err := NewReader(oneByteReader{bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		var r record
		kind, err := rd.Next(&r.res, &r.ev)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if kind != recs[i].kind {
			t.Fatalf("record %d: kind %d, want %d", i, kind, recs[i].kind)
		}
	}
	var r record
	if _, err := rd.Next(&r.res, &r.ev); !errors.Is(err, io.EOF) {
		t.Fatalf("after last record: %v, want io.EOF", err)
	}
}

func TestStreamLargeRecordGrowsBuffer(t *testing.T) {
	ev := Event{Kind: EventNote, Detail: strings.Repeat("x", 200<<10)}
	data, _ := encodeStream(t, testHeader(), []record{{kind: RecordEvent, ev: ev}})
	_, got, _ := readAll(t, data)
	if len(got) != 1 || got[0].ev.Detail != ev.Detail {
		t.Fatalf("large event did not round-trip")
	}
}

func TestReaderRefusesGarbage(t *testing.T) {
	for name, input := range map[string]string{
		"empty":    "",
		"text":     "hello, this is not a results file\n",
		"json":     `{"requests": 600}`,
		"msgpack":  "\x93\x01\x02\x03",
		"one byte": "\x00",
		"prefix":   "\xafgoodput-resXX",
	} {
		_, err := NewReader(strings.NewReader(input))
		if !errors.Is(err, ErrNotResults) {
			t.Errorf("%s: err = %v, want ErrNotResults", name, err)
		}
	}
}

func TestReaderRefusesNewerVersion(t *testing.T) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := enc.EncodeString(streamMagic); err != nil {
		t.Fatal(err)
	}
	if err := enc.EncodeUint(FormatVersion + 1); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(toWire(testHeader())); err != nil {
		t.Fatal(err)
	}
	_, err := NewReader(&buf)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("err = %v, want a message about a newer version", err)
	}
}

func TestReaderSkipsUnknownFieldsAndKinds(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	enc := msgpack.NewEncoder(&buf)
	// A record of a future kind 9, with a nested map.
	if err := enc.Encode([]any{9, map[string]any{"x": []int{1, 2}}, "y"}); err != nil {
		t.Fatal(err)
	}
	// A result with two extra trailing fields.
	want := Result{RequestID: 7, Attempt: 1, Final: true, Route: "r", End: time.Second, Status: 200}
	fields := []any{uint8(RecordResult), want.RequestID, want.Attempt, want.Phase, want.Final, want.Route, want.Tenant,
		int64(want.Intended), int64(want.Start), int64(want.End), want.Status, uint8(want.Outcome), 0, 0, 0, 0, 0, 0, 3.5, []string{"z"}}
	if err := enc.Encode(fields); err != nil {
		t.Fatal(err)
	}
	_, got, _ := readAll(t, buf.Bytes())
	if len(got) != 1 || !reflect.DeepEqual(got[0].res, want) {
		t.Fatalf("got %+v, want one record %+v", got, want)
	}
}

func TestReaderReportsCorruptRecord(t *testing.T) {
	data, _ := encodeStream(t, testHeader(), nil)
	data = append(data, 0x93, 0x01, 0xc1, 0x00)
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	var ev Event
	_, err = rd.Next(&res, &ev)
	if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "corrupt at byte") {
		t.Fatalf("err = %v, want a corrupt-record error with its offset", err)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterReportsWriteErrors(t *testing.T) {
	w, err := NewWriter(&failingWriter{n: 100}, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	res := Result{Route: "GET /", Final: true}
	var sawErr error
	for range 100000 {
		if err := w.WriteResult(&res); err != nil {
			sawErr = err
			break
		}
	}
	if !errors.Is(sawErr, errDiskFull) {
		t.Fatalf("WriteResult error = %v, want disk full", sawErr)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush after a failed write = %v, want the same error", err)
	}
	if err := w.WriteEvent(&Event{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("WriteEvent after a failed write = %v, want the same error", err)
	}
}

func TestWriteResultDoesNotAllocate(t *testing.T) {
	w, err := NewWriter(io.Discard, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	res := Result{RequestID: 1 << 40, Route: "GET /items", Tenant: "t1", End: time.Second, Status: 200}
	ev := Event{Name: "slow-db", Target: "db", Detail: "latency 200ms"}
	if n := testing.AllocsPerRun(1000, func() {
		if err := w.WriteResult(&res); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEvent(&ev); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("WriteResult+WriteEvent: %v allocations, want 0", n)
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	recs := make([]record, 2000)
	for i := range recs {
		recs[i] = randomRecord(rng)
		recs[i].kind = RecordResult
	}
	data, _ := encodeStream(t, testHeader(), recs)
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	var ev Event
	// Warm the intern table.
	for range 100 {
		if _, err := rd.Next(&res, &ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := rd.Next(&res, &ev); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Next: %v allocations per record, want 0", n)
	}
}

func FuzzReader(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 9))
	recs := make([]record, 5)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	data, _ := encodeStream(f, testHeader(), recs)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte{})
	f.Add([]byte("\xafgoodput-results\x01\x80\x92\x01\xdd\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for range len(data) + 1 {
			var res Result
			var ev Event
			if _, err := rd.Next(&res, &ev); err != nil {
				return
			}
		}
		t.Fatalf("more records than bytes in a %d-byte stream", len(data))
	})
}

// benchRecords returns n realistic result records.
func benchRecords(n int) []Result {
	rng := rand.New(rand.NewPCG(11, 12))
	out := make([]Result, n)
	for i := range out {
		intended := time.Duration(i) * 100 * time.Microsecond
		lat := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		out[i] = Result{
			RequestID: uint64(i), Attempt: 1, Final: true,
			Route: testRoutes[i%2], Tenant: testTenants[1+i%2],
			Intended: intended, Start: intended + 50*time.Microsecond, End: intended + lat,
			Status: 200, BytesOut: 0, BytesIn: 512,
			Timing: ServerTiming{Queue: time.Millisecond, App: lat / 2},
		}
	}
	return out
}

func BenchmarkWriteResult(b *testing.B) {
	recs := benchRecords(1024)
	w, err := NewWriter(io.Discard, testHeader())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := w.WriteResult(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadResult(b *testing.B) {
	recs := benchRecords(100000)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		b.Fatal(err)
	}
	for i := range recs {
		if err := w.WriteResult(&recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data) / len(recs)))
	b.ReportAllocs()
	var rd *Reader
	var res Result
	var ev Event
	for b.Loop() {
		if rd == nil {
			if rd, err = NewReader(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := rd.Next(&res, &ev); err != nil {
			if !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
			rd = nil
		}
	}
}
