package results

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
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
	testRoutes    = []string{"GET /items", "POST /orders", "", "GET /search?q=ü"}
	testTenants   = []string{"", "t1", "t2", "tenant-with-a-long-name-" + strings.Repeat("x", 40)}
	testThrottles = []string{"", "", "account", "scaling"}
	testErrors    = []string{"", "", "", "connection refused", "timeout", "x509: certificate signed by unknown authority"}
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
		Timing:    ServerTiming{Queue: time.Duration(num()), App: time.Duration(num()), Dep: time.Duration(num()), Init: time.Duration(num())},
		Age:       time.Duration(num()),
		Throttle:  testThrottles[rng.IntN(len(testThrottles))],
		Error:     testErrors[rng.IntN(len(testErrors))],
	}}
}

// encodeStream writes h and recs, one block each, closes the stream and
// returns the bytes and the offset at which each record's block ends.
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
	if err := w.Close(); err != nil {
		t.Fatal(err)
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
		if in := rd.Integrity(); !in.Complete || in.Err() != nil || in.Records < int64(len(recs)) {
			t.Fatalf("seed %d: whole stream: integrity %+v, err %v", seed, in, in.Err())
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
	headerEnd := ends[0] - recordLen(t, recs[0]) - blockHeadLen
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
		in := rd.Integrity()
		if cut == len(data) {
			if !in.Complete || rd.Truncated() != nil {
				t.Fatalf("whole stream: integrity %+v, truncated %v", in, rd.Truncated())
			}
			continue
		}
		if in.Complete || in.Err() == nil || !strings.Contains(in.Err().Error(), "incomplete") {
			t.Fatalf("cut at %d: integrity %+v, err %v: want incomplete", cut, in, in.Err())
		}
		if in.DamagedBlocks != 0 {
			t.Fatalf("cut at %d: a cut reported as damage at %v", cut, in.DamagedAt)
		}
		atBoundary := cut == headerEnd || (whole > 0 && ends[whole-1] == cut)
		if trunc := rd.Truncated(); (trunc == nil) != atBoundary {
			t.Fatalf("cut at %d (boundary %v): Truncated() = %v", cut, atBoundary, trunc)
		} else if trunc != nil && !strings.Contains(trunc.Error(), "whole records") {
			t.Fatalf("truncation message does not say how many records were read: %v", trunc)
		}
	}
}

// TestStreamCutOnRecordBoundaryIsIncomplete is the kill -9 that happens to
// cut the stream between two records (issue #19): version 1 read it as a
// whole run, with no warning.
func TestStreamCutOnRecordBoundaryIsIncomplete(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	recs := make([]record, 300)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	// Blocks of several records, as a run writes them: flush every 50.
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	var cuts []int // record and block boundaries
	blockStart := 0
	for i := range recs {
		if i%50 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			blockStart = buf.Len()
			cuts = append(cuts, blockStart)
		}
		if i%50 == 1 {
			cuts = append(cuts, blockStart+blockHeadLen+recordLen(t, recs[i-1]))
		}
		writeRecord(t, w, recs[i])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	for _, cut := range cuts {
		_, got, rd := readAll(t, data[:cut])
		in := rd.Integrity()
		if in.Complete || in.Err() == nil || !strings.Contains(in.Err().Error(), "incomplete") {
			t.Fatalf("cut at byte %d after %d records: integrity %+v (err %v), want incomplete", cut, len(got), in, in.Err())
		}
	}
	if _, _, rd := readAll(t, data); !rd.Integrity().Complete {
		t.Fatalf("whole stream: %v", rd.Integrity().Err())
	}
}

// writeRecord writes r to w.
func writeRecord(t testing.TB, w *Writer, r record) {
	t.Helper()
	var err error
	if r.kind == RecordResult {
		err = w.WriteResult(&r.res)
	} else {
		err = w.WriteEvent(&r.ev)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// frames returns the offset and length of each frame of a version 2
// stream written by Writer.
func frames(t testing.TB, data []byte) (headerEnd int, offs, lens []int) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	headerEnd = rd.pos
	for p := headerEnd; p < len(data); {
		total, _, ok, _ := frameAt(data[p:])
		if !ok {
			t.Fatalf("no frame at %d", p)
		}
		offs, lens = append(offs, p), append(lens, total)
		p += total
	}
	return headerEnd, offs, lens
}

// TestStreamFlippedByteIsDetected flips each byte after the header of a
// small stream, one at a time: version 1 read 2 in 30 such streams as whole
// and clean, with changed figures. Every flip must leave the stream not
// complete, and a flip inside a block must name that block's offset.
func TestStreamFlippedByteIsDetected(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	recs := make([]record, 40)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		writeRecord(t, w, recs[i])
		if i%10 == 9 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	clean := buf.Bytes()
	headerEnd, offs, lens := frames(t, clean)
	if len(offs) != 5 {
		t.Fatalf("%d frames, want 4 blocks and a trailer", len(offs))
	}
	for off := headerEnd; off < len(clean); off++ {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			data := bytes.Clone(clean)
			data[off] ^= mask
			_, got, rd := readAll(t, data)
			in := rd.Integrity()
			if in.Complete || in.Err() == nil {
				t.Fatalf("byte %d ^ %#x: read %d records as complete and clean", off, mask, len(got))
			}
			f := 0
			for f+1 < len(offs) && offs[f+1] <= off {
				f++
			}
			if f == len(offs)-1 {
				continue // the trailer: not complete is enough
			}
			if !slices.Contains(in.DamagedAt, int64(offs[f])) {
				t.Fatalf("byte %d ^ %#x (block at %d, %d bytes): damaged at %v, want the block's offset", off, mask, offs[f], lens[f], in.DamagedAt)
			}
			if want := len(recs) - 10; len(got) != want {
				t.Fatalf("byte %d ^ %#x: read %d records, want the %d of the undamaged blocks", off, mask, len(got), want)
			}
			if in.SkippedRecords < 10 { // and the block's error message records
				t.Fatalf("byte %d ^ %#x: %d records skipped, want 10 and the block's messages", off, mask, in.SkippedRecords)
			}
			if !strings.Contains(in.Err().Error(), fmt.Sprintf("damaged at byte %d", offs[f])) {
				t.Fatalf("byte %d ^ %#x: message %q does not locate the damage", off, mask, in.Err())
			}
		}
	}
}

// recordLen returns the encoded length of one record.
func recordLen(t testing.TB, r record) int {
	with, _ := encodeStream(t, Header{}, []record{r})
	without, _ := encodeStream(t, Header{}, nil)
	return len(with) - len(without) - blockHeadLen
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

// rawBlock returns a block frame holding count records, encoded in recs,
// the first of them the stream's record first.
func rawBlock(first uint64, count uint32, recs []byte) []byte {
	b := make([]byte, blockHeadLen, blockHeadLen+len(recs))
	binary.BigEndian.PutUint64(b[framePrefix:], first)
	binary.BigEndian.PutUint32(b[framePrefix+8:], count)
	b = append(b, recs...)
	sealFrame(crc32.MakeTable(crc32.Castagnoli), b, frameBlock)
	return b
}

// prelude returns the bytes of a stream before its first block.
func prelude(t testing.TB, h Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReaderSkipsUnknownFieldsAndKinds(t *testing.T) {
	var recs bytes.Buffer
	enc := msgpack.NewEncoder(&recs)
	// A record of a future kind 9, with a nested map.
	if err := enc.Encode([]any{9, map[string]any{"x": []int{1, 2}}, "y"}); err != nil {
		t.Fatal(err)
	}
	// A result with two extra trailing fields after error.
	want := Result{RequestID: 7, Attempt: 1, Final: true, Route: "r", End: time.Second, Status: 429,
		Timing: ServerTiming{Init: 5}, Throttle: "api"}
	fields := []any{uint8(RecordResult), want.RequestID, want.Attempt, want.Phase, want.Final, want.Route, want.Tenant,
		int64(want.Intended), int64(want.Start), int64(want.End), want.Status, uint8(want.Outcome), 0, 0, 0, 0, 0, 0, 5, "api", 0, 3.5, []string{"z"}}
	if err := enc.Encode(fields); err != nil {
		t.Fatal(err)
	}
	data := append(prelude(t, testHeader()), rawBlock(0, 2, recs.Bytes())...)
	_, got, rd := readAll(t, data)
	if len(got) != 1 || !reflect.DeepEqual(got[0].res, want) {
		t.Fatalf("got %+v, want one record %+v", got, want)
	}
	if in := rd.Integrity(); in.Records != 2 || in.DamagedBlocks != 0 {
		t.Fatalf("integrity %+v: want 2 records read, no damage", in)
	}
}

// TestReaderReadsEighteenFieldResults checks that a result record of a
// writer from before init_ns and throttle reads with both zero, even into
// a Result that held them from the record before.
func TestReaderReadsEighteenFieldResults(t *testing.T) {
	var recs bytes.Buffer
	enc := msgpack.NewEncoder(&recs)
	cold := []any{uint8(RecordResult), 1, 1, 0, true, "r", "", 0, 0, int64(time.Second), 429, uint8(OutcomeShed), 0, 0, 0, 0, 0, 0, int64(time.Millisecond), "scaling"}
	old := []any{uint8(RecordResult), 2, 1, 0, true, "r", "", 0, 0, int64(time.Second), 200, uint8(OutcomeOK), 0, 0, 0, 0, 0, 0}
	for _, f := range [][]any{cold, old} {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	rd, err := NewReader(bytes.NewReader(append(prelude(t, testHeader()), rawBlock(0, 2, recs.Bytes())...)))
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	var ev Event
	if _, err := rd.Next(&res, &ev); err != nil {
		t.Fatal(err)
	}
	if !res.Cold() || res.Timing.Init != time.Millisecond || res.Throttle != "scaling" {
		t.Fatalf("20-field record: got init %v throttle %q, want 1ms and scaling", res.Timing.Init, res.Throttle)
	}
	if _, err := rd.Next(&res, &ev); err != nil {
		t.Fatal(err)
	}
	if res.RequestID != 2 || res.Cold() || res.Throttle != "" {
		t.Fatalf("18-field record: got id %d init %v throttle %q, want 2, 0 and empty", res.RequestID, res.Timing.Init, res.Throttle)
	}
}

func TestReaderReportsCorruptRecordInGoodBlock(t *testing.T) {
	good, _ := encodeStream(t, testHeader(), []record{{kind: RecordResult, res: Result{RequestID: 1}}})
	headerEnd, offs, _ := frames(t, good)
	// A block whose checksum holds but whose record does not parse (a
	// faulty writer), between two good ones.
	bad := rawBlock(1, 1, []byte{0x93, 0x01, 0xc1, 0x00})
	rest := rawBlock(2, 1, good[offs[0]+blockHeadLen:offs[1]])
	data := slices.Concat(good[:offs[1]], bad, rest)
	_, got, rd := readAll(t, data)
	in := rd.Integrity()
	if len(got) != 2 || in.DamagedBlocks != 1 || in.DamagedAt[0] != int64(offs[1]) || in.SkippedRecords != 1 || in.Complete {
		t.Fatalf("read %d records, integrity %+v (header ends at %d): want 2 records and the block at %d damaged", len(got), in, headerEnd, offs[1])
	}
}

// toV1 rewrites a version 2 stream written by Writer as version 1: the
// records back to back, no blocks, no trailer.
func toV1(t testing.TB, data []byte) []byte {
	t.Helper()
	headerEnd, offs, lens := frames(t, data)
	out := bytes.Clone(data[:headerEnd])
	out[1+len(streamMagic)] = 1 // the version, a fixint after the marker
	for i, off := range offs {
		if data[off+5] == frameBlock {
			out = append(out, data[off+blockHeadLen:off+lens[i]]...)
		}
	}
	return out
}

func TestReaderReadsVersion1AsIncomplete(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	recs := make([]record, 100)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	v2, _ := encodeStream(t, testHeader(), recs)
	v1 := toV1(t, v2)
	h, got, rd := readAll(t, v1)
	if h.Version != 1 || !reflect.DeepEqual(got, recs) {
		t.Fatalf("version %d, %d records: the version 1 stream did not read back", h.Version, len(got))
	}
	in := rd.Integrity()
	if in.Complete || in.Version != 1 || in.Records < int64(len(recs)) || !strings.Contains(in.Err().Error(), "version 1") {
		t.Fatalf("integrity %+v (%v): want incomplete, saying version 1", in, in.Err())
	}
	// A version 1 stream cut mid-record still reads up to it, with a warning.
	_, got, rd = readAll(t, v1[:len(v1)-3])
	if len(got) != len(recs)-1 || rd.Truncated() == nil || !strings.Contains(rd.Integrity().Err().Error(), "cut mid-record") {
		t.Fatalf("cut version 1 stream: %d records, truncated %v, integrity %v", len(got), rd.Truncated(), rd.Integrity().Err())
	}
}

func TestReaderReportsCorruptVersion1Record(t *testing.T) {
	data := toV1(t, prelude(t, testHeader()))
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

func TestReaderFlagsDataAfterTrailerAndMissingBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	recs := make([]record, 5)
	for i := range recs {
		recs[i] = randomRecord(rng)
	}
	data, _ := encodeStream(t, testHeader(), recs)
	_, offs, lens := frames(t, data)
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"concatenated":   {append(bytes.Clone(data), data...), "after the end-of-run trailer"},
		"block removed":  {slices.Concat(data[:offs[2]], data[offs[2]+lens[2]:]), "damaged at byte"},
		"block repeated": {slices.Concat(data[:offs[3]], data[offs[2]:]), "damaged at byte"},
		"trailer only":   {slices.Concat(data[:offs[0]], data[offs[len(offs)-1]:]), "incomplete: the trailer counts 5 records"},
	} {
		_, _, rd := readAll(t, tc.data)
		in := rd.Integrity()
		if in.Complete || !strings.Contains(in.Err().Error(), tc.want) {
			t.Errorf("%s: integrity %+v (%v), want %q", name, in, in.Err(), tc.want)
		}
	}
}

func TestWriterMarkIncomplete(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	w.MarkIncomplete("shard-1.mpk: cut")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteResult(&Result{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
	_, _, rd := readAll(t, buf.Bytes())
	in := rd.Integrity()
	if in.Complete || !in.Trailer || !strings.Contains(in.Err().Error(), "shard-1.mpk: cut") {
		t.Fatalf("integrity %+v (%v): want incomplete, naming the writer's reason", in, in.Err())
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
	f.Add(toV1(f, data))
	f.Add([]byte{})
	f.Add([]byte("\xafgoodput-results\x01\x80\x92\x01\xdd\xff\xff\xff\xff"))
	f.Add([]byte("\xafgoodput-results\x02\x80\xc9\x00\x00\x00\x10B\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		headerEnd := rd.pos
		var blocks []int // records per good block
		rd.onBlock = func(_ int64, count int) { blocks = append(blocks, count) }
		var got []record
		for range len(data) + 1 {
			var r record
			kind, err := rd.Next(&r.res, &r.ev)
			if errors.Is(err, io.EOF) {
				checkComplete(t, data, headerEnd, rd, got, blocks)
				return
			}
			if err != nil {
				if rd.Header().Version >= 2 {
					t.Fatalf("version 2 stream in memory: Next failed: %v", err)
				}
				return
			}
			r.kind = kind
			got = append(got, r)
		}
		t.Fatalf("more records than bytes in a %d-byte stream", len(data))
	})
}

// checkComplete fails t when rd read data as complete and clean although
// data is not, byte for byte, what a Writer writes for the header bytes
// and the records read, in blocks of the sizes read.
func checkComplete(t *testing.T, data []byte, headerEnd int, rd *Reader, got []record, blocks []int) {
	t.Helper()
	in := rd.Integrity()
	if !in.Complete {
		if in.Err() == nil {
			t.Fatalf("incomplete stream without an error: %+v", in)
		}
		return
	}
	if in.Err() != nil || in.DamagedBlocks != 0 || rd.Truncated() != nil || in.Version < 2 {
		t.Fatalf("complete, yet: %+v, %v, %v", in, in.Err(), rd.Truncated())
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	w.trailer.HeaderCRC = crc32.Checksum(data[:headerEnd], w.tab)
	i := 0
	for _, n := range blocks {
		// n counts the block's message records too: the writer adds
		// them itself.
		for int(w.count) < n && i < len(got) {
			writeRecord(t, w, got[i])
			i++
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if i != len(got) || !bytes.Equal(buf.Bytes(), data[headerEnd:]) {
		t.Fatalf("read as complete and clean, but the %d records read, rewritten, do not give the input back:\n got %x\nwant %x", len(got), buf.Bytes(), data[headerEnd:])
	}
}

// FuzzReaderDamage writes a stream, flips bits of one byte and cuts it,
// and checks that the reader never reads a changed stream as complete,
// locates damage inside a block, and reads an unchanged one whole.
func FuzzReaderDamage(f *testing.F) {
	f.Add(uint64(1), uint8(20), uint8(3), uint32(100), byte(0x10), uint32(0))
	f.Add(uint64(2), uint8(50), uint8(7), uint32(7), byte(0), uint32(13))
	f.Add(uint64(3), uint8(0), uint8(1), uint32(0), byte(1), uint32(0))
	f.Fuzz(func(t *testing.T, seed uint64, n, every uint8, off uint32, mask byte, cut uint32) {
		rng := rand.New(rand.NewPCG(seed, 1))
		recs := make([]record, n)
		var buf bytes.Buffer
		w, err := NewWriter(&buf, testHeader())
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			recs[i] = randomRecord(rng)
			writeRecord(t, w, recs[i])
			if every > 0 && i%int(every) == 0 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		headerEnd, offs, _ := frames(t, data)
		area := len(data) - headerEnd
		pos := headerEnd + int(off%uint32(area))
		data[pos] ^= mask
		data = data[:len(data)-int(cut%uint32(area+1))]
		_, got, rd := readAll(t, data)
		in := rd.Integrity()
		if mask == 0 && len(data) == buf.Len() {
			if !in.Complete || !reflect.DeepEqual(got, recs) && len(recs) > 0 {
				t.Fatalf("unchanged stream: %d of %d records, %v", len(got), len(recs), in.Err())
			}
			return
		}
		if in.Complete {
			t.Fatalf("changed stream (byte %d ^ %#x, %d bytes cut) read as complete", pos, mask, buf.Len()-len(data))
		}
		f := 0
		for f+1 < len(offs) && offs[f+1] <= pos {
			f++
		}
		if mask != 0 && len(data) == buf.Len() && f < len(offs)-1 && !slices.Contains(in.DamagedAt, int64(offs[f])) {
			t.Fatalf("byte %d ^ %#x in the block at %d: damaged at %v", pos, mask, offs[f], in.DamagedAt)
		}
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
		if i%20 == 19 {
			out[i].Status, out[i].Outcome, out[i].Error = 0, OutcomeConnError, testErrors[3+i%3]
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
	if err := w.Close(); err != nil {
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
