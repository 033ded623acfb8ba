package results

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// A results stream is a sequence of msgpack values:
//
//	"goodput-results"        str: the magic marker
//	FormatVersion            uint
//	header                   map (see headerWire): new keys may be added
//	record ...               one array per record, its first element a RecordKind
//
// Result record (RecordResult), 18 elements in this order:
//
//	[1, request_id, attempt, phase, final, route, tenant, intended_ns, start_ns,
//	 end_ns, status, outcome, bytes_out, bytes_in, queue_ns, app_ns, dep_ns, age_ns]
//
// Event record (RecordEvent), 7 elements:
//
//	[2, kind, at_ns, scheduled_ns, name, target, detail]
//
// Readers skip elements past the ones they know and records of kinds they do
// not know, so a writer may append fields and kinds without a new version.

// streamMagic opens every results stream.
const streamMagic = "goodput-results"

// RecordKind says which record Reader.Next decoded.
type RecordKind uint8

// Record kinds, as written in the first element of each record.
const (
	RecordResult RecordKind = 1 // an attempt: a Result
	RecordEvent  RecordKind = 2 // something that happened to the run: an Event
)

const (
	resultFields = 18
	eventFields  = 7
	// maxRecordBytes bounds one record (and the header) so that corrupt
	// length prefixes cannot make the reader allocate without limit.
	maxRecordBytes = 64 << 20
	// maxInterned bounds the reader's route/tenant string table.
	maxInterned = 1 << 16
)

// headerWire is the msgpack form of Header: a map, so that keys can be
// added without breaking older readers.
type headerWire struct {
	Tool     string      `msgpack:"tool"`
	Host     string      `msgpack:"host"`
	StartNS  int64       `msgpack:"start_unix_ns"`
	Seed     uint64      `msgpack:"seed"`
	Label    string      `msgpack:"label"`
	Scenario []byte      `msgpack:"scenario"`
	SLONS    int64       `msgpack:"slo_ns"`
	Phases   []phaseWire `msgpack:"phases"`
	Shard    shardWire   `msgpack:"shard"`
	Merged   []int       `msgpack:"merged,omitempty"`
}

type phaseWire struct {
	Name       string  `msgpack:"name"`
	OffsetNS   int64   `msgpack:"offset_ns"`
	DurationNS int64   `msgpack:"duration_ns"`
	FromRPS    float64 `msgpack:"from_rps"`
	ToRPS      float64 `msgpack:"to_rps"`
}

type shardWire struct {
	Index         int   `msgpack:"index"`
	Count         int   `msgpack:"count"`
	ClockOffsetNS int64 `msgpack:"clock_offset_ns"`
}

func toWire(h Header) headerWire {
	w := headerWire{
		Tool: h.Tool, Host: h.Host, Seed: h.Seed, Label: h.Label,
		Scenario: h.Scenario, SLONS: int64(h.SLO), Merged: h.Merged,
		Shard: shardWire{Index: h.Shard.Index, Count: h.Shard.Count, ClockOffsetNS: int64(h.Shard.ClockOffset)},
	}
	if !h.Start.IsZero() {
		w.StartNS = h.Start.UnixNano()
	}
	for _, p := range h.Phases {
		w.Phases = append(w.Phases, phaseWire{Name: p.Name, OffsetNS: int64(p.Offset), DurationNS: int64(p.Duration), FromRPS: p.FromRPS, ToRPS: p.ToRPS})
	}
	return w
}

func fromWire(w headerWire, version int) Header {
	h := Header{
		Version: version, Tool: w.Tool, Host: w.Host, Seed: w.Seed, Label: w.Label,
		Scenario: w.Scenario, SLO: time.Duration(w.SLONS), Merged: w.Merged,
		Shard: ShardInfo{Index: w.Shard.Index, Count: w.Shard.Count, ClockOffset: time.Duration(w.Shard.ClockOffsetNS)},
	}
	if w.StartNS != 0 {
		h.Start = time.Unix(0, w.StartNS).UTC()
	}
	for _, p := range w.Phases {
		h.Phases = append(h.Phases, PhaseInfo{Name: p.Name, Offset: time.Duration(p.OffsetNS), Duration: time.Duration(p.DurationNS), FromRPS: p.FromRPS, ToRPS: p.ToRPS})
	}
	return h
}

// Writer encodes a results stream: the header, then one record per
// WriteResult or WriteEvent call. Output is buffered: call Flush before
// closing the underlying writer. Encoding a record does not allocate.
//
// A Writer is not safe for concurrent use: one goroutine owns it (typically
// the one draining the workers' results channel). The zero value is not
// usable; create one with NewWriter. After a write error every later call
// returns that error.
type Writer struct {
	bw  *bufio.Writer
	enc *msgpack.Encoder
	err error
}

// NewWriter writes the stream marker and h to w and returns a Writer for
// the records. h.Version is ignored: the stream records FormatVersion.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := msgpack.NewEncoder(bw)
	sw := &Writer{bw: bw, enc: enc}
	if err := enc.EncodeString(streamMagic); err != nil {
		return nil, fmt.Errorf("write results header: %w", err)
	}
	if err := enc.EncodeUint(FormatVersion); err != nil {
		return nil, fmt.Errorf("write results header: %w", err)
	}
	if err := enc.Encode(toWire(h)); err != nil {
		return nil, fmt.Errorf("write results header: %w", err)
	}
	return sw, nil
}

// WriteResult appends one attempt record.
func (w *Writer) WriteResult(r *Result) error {
	if w.err != nil {
		return w.err
	}
	e := w.enc
	var f firstErr
	f.all(
		e.EncodeArrayLen(resultFields),
		e.EncodeUint(uint64(RecordResult)),
		e.EncodeUint(r.RequestID),
		e.EncodeUint(uint64(r.Attempt)),
		e.EncodeUint(uint64(r.Phase)),
		e.EncodeBool(r.Final),
		e.EncodeString(r.Route),
		e.EncodeString(r.Tenant),
		e.EncodeInt(int64(r.Intended)),
		e.EncodeInt(int64(r.Start)),
		e.EncodeInt(int64(r.End)),
		e.EncodeUint(uint64(r.Status)),
		e.EncodeUint(uint64(r.Outcome)),
		e.EncodeUint(uint64(r.BytesOut)),
		e.EncodeUint(uint64(r.BytesIn)),
		e.EncodeInt(int64(r.Timing.Queue)),
		e.EncodeInt(int64(r.Timing.App)),
		e.EncodeInt(int64(r.Timing.Dep)),
	)
	f.all(e.EncodeInt(int64(r.Age)))
	if f.err != nil {
		w.err = fmt.Errorf("write result record: %w", f.err)
	}
	return w.err
}

// WriteEvent appends one event record.
func (w *Writer) WriteEvent(ev *Event) error {
	if w.err != nil {
		return w.err
	}
	e := w.enc
	var f firstErr
	f.all(
		e.EncodeArrayLen(eventFields),
		e.EncodeUint(uint64(RecordEvent)),
		e.EncodeUint(uint64(ev.Kind)),
		e.EncodeInt(int64(ev.At)),
		e.EncodeInt(int64(ev.Scheduled)),
		e.EncodeString(ev.Name),
		e.EncodeString(ev.Target),
		e.EncodeString(ev.Detail),
	)
	if f.err != nil {
		w.err = fmt.Errorf("write event record: %w", f.err)
	}
	return w.err
}

// firstErr keeps the first of a series of errors (the buffered writer's
// errors are sticky, so later ones repeat it).
type firstErr struct{ err error }

func (f *firstErr) all(errs ...error) {
	for _, err := range errs {
		if err != nil && f.err == nil {
			f.err = err
		}
	}
}

// Flush writes any buffered records to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("flush results: %w", err)
	}
	return w.err
}

// ErrNotResults is returned (wrapped) by NewReader when the input does not
// start like a goodput results stream.
var ErrNotResults = errors.New("not a goodput results stream")

// Reader decodes a results stream written by Writer. Decoding a record does
// not allocate once its route and tenant labels have been seen: the reader
// interns them.
//
// A Reader is not safe for concurrent use. The zero value is not usable;
// create one with NewReader.
type Reader struct {
	r       io.Reader
	buf     []byte
	pos     int   // next unread byte in buf
	end     int   // end of valid data in buf
	base    int64 // stream offset of buf[0]
	eof     bool
	header  Header
	records int64
	trunc   error
	intern  map[string]string
}

// NewReader reads the stream marker and header from r. It fails with an
// error wrapping ErrNotResults when r is not a results stream, and says so
// when the stream is of a newer format version than this package reads.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: r, buf: make([]byte, 64<<10), intern: make(map[string]string)}
	for {
		c := cursor{b: rd.buf[rd.pos:rd.end]}
		h, err := rd.parseHeader(&c)
		if err != nil {
			return nil, err
		}
		if !c.short {
			rd.header = h
			rd.pos += c.i
			return rd, nil
		}
		if rd.eof {
			if rd.end == 0 {
				return nil, fmt.Errorf("%w: input is empty", ErrNotResults)
			}
			if !isMagicPrefix(rd.buf[:rd.end]) {
				return nil, fmt.Errorf("%w: it does not start with the %q marker", ErrNotResults, streamMagic)
			}
			return nil, fmt.Errorf("results stream truncated in its header (%d bytes)", rd.end)
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// isMagicPrefix reports whether b could be the start of a stream marker.
func isMagicPrefix(b []byte) bool {
	want := append([]byte{0xa0 | byte(len(streamMagic))}, streamMagic...)
	if len(b) > len(want) {
		b = b[:len(want)]
	}
	return string(b) == string(want[:len(b)])
}

func (rd *Reader) parseHeader(c *cursor) (Header, error) {
	if c.avail() > 0 {
		code := c.b[0]
		if !(code >= 0xa0 && code <= 0xbf || code == 0xd9) {
			return Header{}, fmt.Errorf("%w: it does not start with the %q marker", ErrNotResults, streamMagic)
		}
	}
	magic := c.str()
	if c.short {
		// Check what we have so far, so garbage fails early.
		return Header{}, nil
	}
	if c.bad != nil || string(magic) != streamMagic {
		return Header{}, fmt.Errorf("%w: it does not start with the %q marker", ErrNotResults, streamMagic)
	}
	version := c.uint()
	if c.short {
		return Header{}, nil
	}
	if c.bad != nil {
		return Header{}, fmt.Errorf("results stream: bad format version: %w", c.bad)
	}
	if version > FormatVersion {
		return Header{}, fmt.Errorf("results stream format version %d is newer than this program reads (%d): upgrade goodput", version, FormatVersion)
	}
	if version == 0 {
		return Header{}, fmt.Errorf("results stream: invalid format version 0")
	}
	start := c.i
	c.skip(0)
	if c.short {
		return Header{}, nil
	}
	if c.bad != nil {
		return Header{}, fmt.Errorf("results stream: corrupt header: %w", c.bad)
	}
	var w headerWire
	if err := msgpack.Unmarshal(c.b[start:c.i], &w); err != nil {
		return Header{}, fmt.Errorf("results stream: corrupt header: %w", err)
	}
	return fromWire(w, int(version)), nil
}

// Header returns the stream's header.
func (rd *Reader) Header() Header { return rd.header }

// Records returns how many whole records have been read so far.
func (rd *Reader) Records() int64 { return rd.records }

// Truncated returns nil, or, once Next has returned io.EOF on a stream that
// ended in the middle of a record, an error saying how many whole records
// were read and at which byte offset the stream was cut. Callers typically
// print it as a warning: every whole record has been delivered.
func (rd *Reader) Truncated() error { return rd.trunc }

// Next decodes the next record into res (RecordResult) or ev (RecordEvent)
// and says which. Both must be non-nil; the other one is left unchanged.
// It returns io.EOF at the end of the stream, including a stream cut in
// the middle of a record (see Truncated). Records of unknown kinds, from a
// newer writer, are skipped.
func (rd *Reader) Next(res *Result, ev *Event) (RecordKind, error) {
	for {
		c := cursor{b: rd.buf[rd.pos:rd.end]}
		kind := rd.parseRecord(&c, res, ev)
		if !c.short {
			if c.bad != nil {
				return 0, fmt.Errorf("results stream corrupt at byte %d after %d records: %w", rd.base+int64(rd.pos), rd.records, c.bad)
			}
			rd.pos += c.i
			if kind != RecordResult && kind != RecordEvent {
				continue
			}
			rd.records++
			return kind, nil
		}
		if rd.eof {
			if rd.pos < rd.end && rd.trunc == nil {
				rd.trunc = fmt.Errorf("results stream cut mid-record at byte %d: read %d whole records, ignored the last %d bytes (was the writer killed?)",
					rd.base+int64(rd.end), rd.records, rd.end-rd.pos)
				rd.pos = rd.end
			}
			return 0, io.EOF
		}
		if err := rd.fill(); err != nil {
			return 0, err
		}
	}
}

// fill reads more input after the unread bytes, growing the buffer when
// one record does not fit in it.
func (rd *Reader) fill() error {
	if rd.pos > 0 {
		n := copy(rd.buf, rd.buf[rd.pos:rd.end])
		rd.base += int64(rd.pos)
		rd.pos, rd.end = 0, n
	}
	if rd.end == len(rd.buf) {
		if len(rd.buf) >= maxRecordBytes {
			return fmt.Errorf("results stream corrupt at byte %d: a record longer than %d bytes", rd.base, maxRecordBytes)
		}
		nb := make([]byte, 2*len(rd.buf))
		copy(nb, rd.buf[:rd.end])
		rd.buf = nb
	}
	for range 100 {
		n, err := rd.r.Read(rd.buf[rd.end:])
		rd.end += n
		if errors.Is(err, io.EOF) {
			rd.eof = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("read results stream at byte %d: %w", rd.base+int64(rd.end), err)
		}
		if n > 0 {
			return nil
		}
	}
	return fmt.Errorf("read results stream at byte %d: %w", rd.base+int64(rd.end), io.ErrNoProgress)
}

// parseRecord decodes one record from c. On c.short nothing is decided; on
// c.bad the stream is corrupt. It returns the record kind, or 0 for a
// record of a kind it does not know (already skipped).
func (rd *Reader) parseRecord(c *cursor, res *Result, ev *Event) RecordKind {
	n := c.arrayLen()
	if c.short || c.bad != nil {
		return 0
	}
	if n < 1 {
		c.fail("empty record")
		return 0
	}
	kind := RecordKind(c.uint())
	switch kind {
	case RecordResult:
		if n < resultFields {
			c.fail(fmt.Sprintf("result record with %d fields, want at least %d", n, resultFields))
			return 0
		}
		res.RequestID = c.uint()
		res.Attempt = uint16(c.uintMax(1<<16 - 1))
		res.Phase = uint16(c.uintMax(1<<16 - 1))
		res.Final = c.bool()
		res.Route = rd.internStr(c.str())
		res.Tenant = rd.internStr(c.str())
		res.Intended = time.Duration(c.int())
		res.Start = time.Duration(c.int())
		res.End = time.Duration(c.int())
		res.Status = uint16(c.uintMax(1<<16 - 1))
		res.Outcome = Outcome(c.uintMax(255))
		res.BytesOut = uint32(c.uintMax(1<<32 - 1))
		res.BytesIn = uint32(c.uintMax(1<<32 - 1))
		res.Timing.Queue = time.Duration(c.int())
		res.Timing.App = time.Duration(c.int())
		res.Timing.Dep = time.Duration(c.int())
		res.Age = time.Duration(c.int())
		n -= resultFields
	case RecordEvent:
		if n < eventFields {
			c.fail(fmt.Sprintf("event record with %d fields, want at least %d", n, eventFields))
			return 0
		}
		ev.Kind = EventKind(c.uintMax(255))
		ev.At = time.Duration(c.int())
		ev.Scheduled = time.Duration(c.int())
		ev.Name = rd.internStr(c.str())
		ev.Target = rd.internStr(c.str())
		ev.Detail = string(c.str())
		n -= eventFields
	default:
		kind = 0
		n--
	}
	for ; n > 0 && !c.short && c.bad == nil; n-- {
		c.skip(0)
	}
	return kind
}

// internStr returns b as a string, sharing one copy per distinct value up
// to maxInterned values.
func (rd *Reader) internStr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := rd.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(rd.intern) < maxInterned {
		rd.intern[s] = s
	}
	return s
}
