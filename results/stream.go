package results

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// A results stream is a sequence of msgpack values:
//
//	"goodput-results"        str: the magic marker
//	FormatVersion            uint
//	header                   map (see headerWire): new keys may be added
//	block ...                records in checksummed frames (see block.go)
//	trailer                  the end-of-run counts, written by Writer.Close
//
// (Version 1 streams have no blocks and no trailer: their records follow
// the header back to back.) Each record is one array, its first element a
// RecordKind.
//
// Result record (RecordResult), 21 elements in this order (writers before
// init_ns and throttle wrote the first 18, before error the first 20; all
// still read):
//
//	[1, request_id, attempt, phase, final, route, tenant, intended_ns, start_ns,
//	 end_ns, status, outcome, bytes_out, bytes_in, queue_ns, app_ns, dep_ns, age_ns,
//	 init_ns, throttle, error]
//
// Event record (RecordEvent), 7 elements:
//
//	[2, kind, at_ns, scheduled_ns, name, target, detail]
//
// Message record (kind 3), 3 elements: an error message that result
// records of the same block refer to by index (error > 0). A writer writes
// it in each block before the first result of the block that uses it, so
// that every block reads on its own (after a damaged block, or copied by
// merge); the reader keeps it and Next does not return it:
//
//	[3, index, text]
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
	// recordMessage declares an error message; the Reader consumes it.
	recordMessage RecordKind = 3
)

const (
	resultFields = 21
	// minResultFields is the length of the oldest result records: the
	// fields after it read as zero when absent.
	minResultFields = 18
	eventFields     = 7
	messageFields   = 3
	// maxRecordBytes bounds one record (and the header) so that corrupt
	// length prefixes cannot make the reader allocate without limit.
	maxRecordBytes = 64 << 20
	// maxInterned bounds the reader's route/tenant/throttle string table.
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
// WriteResult or WriteEvent call, in checksummed blocks of about 16 KiB,
// and, on Close, the end-of-run trailer that tells readers the stream is
// whole. Output is buffered: Flush writes the records so far (as a block)
// to the underlying writer; Close must end every stream that ended
// normally, else readers report it incomplete. Encoding a record does not
// allocate.
//
// A Writer is not safe for concurrent use: one goroutine owns it (typically
// the one draining the workers' results channel). The zero value is not
// usable; create one with NewWriter. After a write error every later call
// returns that error.
type Writer struct {
	bw  *bufio.Writer
	enc *msgpack.Encoder // encodes records into blk
	blk blockBuf         // the open block: room for its head, then its records
	tab *crc32.Table

	count   uint32 // records in the open block
	written uint64 // records in the blocks before it
	trailer trailerWire
	closed  bool
	err     error

	// Error messages: index (from 1) of each distinct message, and the
	// block (w.trailer.Blocks+1 while it is open) in which each index was
	// last declared.
	msgs     map[string]uint32
	declared []uint64
}

// blockBuf is the open block; it satisfies msgpack's byte writer so that
// encoding into it does not allocate.
type blockBuf struct{ b []byte }

func (b *blockBuf) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }

func (b *blockBuf) WriteByte(c byte) error { b.b = append(b.b, c); return nil }

// ErrClosed is returned (wrapped) by a Writer's writes after Close.
var ErrClosed = errors.New("results stream already closed")

// NewWriter writes the stream marker and h to w and returns a Writer for
// the records. h.Version is ignored: the stream records FormatVersion.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	sw := &Writer{bw: bufio.NewWriterSize(w, 64<<10), tab: crc32.MakeTable(crc32.Castagnoli),
		msgs: make(map[string]uint32), declared: make([]uint64, 1, 16)}
	sw.blk.b = make([]byte, 0, blockTarget+1024)
	sw.enc = msgpack.NewEncoder(&sw.blk)
	e := sw.enc
	if err := errors.Join(e.EncodeString(streamMagic), e.EncodeUint(FormatVersion), e.Encode(toWire(h))); err != nil {
		return nil, fmt.Errorf("write results header: %w", err)
	}
	sw.trailer.HeaderCRC = crc32.Checksum(sw.blk.b, sw.tab)
	if _, err := sw.bw.Write(sw.blk.b); err != nil {
		return nil, fmt.Errorf("write results header: %w", err)
	}
	sw.blk.b = append(sw.blk.b[:0], make([]byte, blockHeadLen)...)
	return sw, nil
}

// writable returns the error that stops a write: a previous one, or Close.
func (w *Writer) writable() error {
	if w.err == nil && w.closed {
		return fmt.Errorf("write results: %w", ErrClosed)
	}
	return w.err
}

// WriteResult appends one attempt record.
func (w *Writer) WriteResult(r *Result) error {
	if err := w.writable(); err != nil {
		return err
	}
	e := w.enc
	var msg uint32
	if r.Error != "" {
		msg = w.message(r.Error)
	}
	// Encoding into the block buffer cannot fail.
	_ = e.EncodeArrayLen(resultFields)
	_ = e.EncodeUint(uint64(RecordResult))
	_ = e.EncodeUint(r.RequestID)
	_ = e.EncodeUint(uint64(r.Attempt))
	_ = e.EncodeUint(uint64(r.Phase))
	_ = e.EncodeBool(r.Final)
	_ = e.EncodeString(r.Route)
	_ = e.EncodeString(r.Tenant)
	_ = e.EncodeInt(int64(r.Intended))
	_ = e.EncodeInt(int64(r.Start))
	_ = e.EncodeInt(int64(r.End))
	_ = e.EncodeUint(uint64(r.Status))
	_ = e.EncodeUint(uint64(r.Outcome))
	_ = e.EncodeUint(uint64(r.BytesOut))
	_ = e.EncodeUint(uint64(r.BytesIn))
	_ = e.EncodeInt(int64(r.Timing.Queue))
	_ = e.EncodeInt(int64(r.Timing.App))
	_ = e.EncodeInt(int64(r.Timing.Dep))
	_ = e.EncodeInt(int64(r.Age))
	_ = e.EncodeInt(int64(r.Timing.Init))
	_ = e.EncodeString(r.Throttle)
	_ = e.EncodeUint(uint64(msg))
	w.trailer.Results++
	return w.added("write result record")
}

// message returns the index of error message text, adding it when it is
// new (OtherError once MaxErrors are known), and writes its message record
// into the open block unless the block already has it. It allocates only
// for a message it has not seen.
func (w *Writer) message(text string) uint32 {
	text = text[:min(len(text), MaxErrorLen)]
	i, ok := w.msgs[text]
	if !ok {
		if len(w.msgs) >= MaxErrors {
			text = OtherError
			i, ok = w.msgs[text]
		}
		if !ok {
			i = uint32(len(w.declared))
			w.msgs[strings.Clone(text)] = i
			w.declared = append(w.declared, 0)
		}
	}
	if block := w.trailer.Blocks + 1; w.declared[i] != block {
		w.declared[i] = block
		e := w.enc
		_ = e.EncodeArrayLen(messageFields)
		_ = e.EncodeUint(uint64(recordMessage))
		_ = e.EncodeUint(uint64(i))
		_ = e.EncodeString(text)
		w.count++
	}
	return i
}

// WriteEvent appends one event record.
func (w *Writer) WriteEvent(ev *Event) error {
	if err := w.writable(); err != nil {
		return err
	}
	e := w.enc
	_ = e.EncodeArrayLen(eventFields)
	_ = e.EncodeUint(uint64(RecordEvent))
	_ = e.EncodeUint(uint64(ev.Kind))
	_ = e.EncodeInt(int64(ev.At))
	_ = e.EncodeInt(int64(ev.Scheduled))
	_ = e.EncodeString(ev.Name)
	_ = e.EncodeString(ev.Target)
	_ = e.EncodeString(ev.Detail)
	w.trailer.Events++
	return w.added("write event record")
}

// added counts the record just encoded and emits the block once it is
// full.
func (w *Writer) added(what string) error {
	w.count++
	if len(w.blk.b) >= blockTarget {
		if err := w.emit(); err != nil {
			w.err = fmt.Errorf("%s: %w", what, err)
		}
	}
	return w.err
}

// emit seals the open block and writes it to the buffered writer.
func (w *Writer) emit() error {
	if w.count == 0 {
		return nil
	}
	b := w.blk.b
	if len(b) > maxFrameBytes {
		return fmt.Errorf("a block of %d bytes: a record is larger than %d bytes", len(b), maxRecordBytes)
	}
	binary.BigEndian.PutUint64(b[framePrefix:], w.written)
	binary.BigEndian.PutUint32(b[framePrefix+8:], w.count)
	sealFrame(w.tab, b, frameBlock)
	_, err := w.bw.Write(b)
	w.written += uint64(w.count)
	w.trailer.Blocks++
	w.count = 0
	w.blk.b = b[:blockHeadLen]
	return err
}

// Flush writes the records written so far, as one block, to the
// underlying writer. After Close it does nothing.
func (w *Writer) Flush() error {
	if w.err != nil || w.closed {
		return w.err
	}
	if err := w.emit(); err != nil {
		w.err = fmt.Errorf("flush results: %w", err)
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("flush results: %w", err)
	}
	return w.err
}

// MarkIncomplete records in the trailer that the stream does not hold the
// whole run, and why (e.g. a merge input was cut or damaged): readers then
// report the stream incomplete even though it ended normally. Reasons
// accumulate; call it before Close.
func (w *Writer) MarkIncomplete(reason string) {
	if w.trailer.Incomplete != "" {
		reason = w.trailer.Incomplete + "; " + reason
	}
	w.trailer.Incomplete = reason
}

// Close ends the stream: it writes the open block and the end-of-run
// trailer (the counts of records written) and flushes. It does not close
// the underlying writer. A second Close returns the first one's error.
func (w *Writer) Close() error {
	if w.err != nil || w.closed {
		return w.err
	}
	w.closed = true
	if err := w.emit(); err != nil {
		w.err = fmt.Errorf("close results: %w", err)
		return w.err
	}
	w.trailer.Records = w.written
	body, err := msgpack.Marshal(&w.trailer)
	if err != nil {
		w.err = fmt.Errorf("close results: encode the trailer: %w", err)
		return w.err
	}
	f := append(make([]byte, framePrefix, framePrefix+len(body)), body...)
	sealFrame(w.tab, f, frameTrailer)
	if _, err := w.bw.Write(f); err != nil {
		w.err = fmt.Errorf("close results: %w", err)
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("close results: %w", err)
	}
	return w.err
}

// ErrNotResults is returned (wrapped) by NewReader when the input does not
// start like a goodput results stream.
var ErrNotResults = errors.New("not a goodput results stream")

// Reader decodes a results stream written by Writer. Decoding a record does
// not allocate once its route, tenant and throttle labels have been seen:
// the reader interns them.
//
// A Reader checks each block's checksum: it skips a damaged block and reads
// on at the next good one, and once Next has returned io.EOF, Integrity
// says whether the stream was whole (it ended with the writer's trailer
// and every record arrived) and where it was damaged.
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
	msgs    []string // error messages by index, from message records
	tab     *crc32.Table
	hcrc    uint32 // CRC-32C of the bytes before the first frame

	// Format version 2: the block being read and the counts so far.
	inBlock    bool  // records are read from buf[pos:pos+blockLeft]
	unverified bool  // the block is a cut last one: its checksum could not be checked
	blockLeft  int   // bytes of the block's records not yet read
	blockRecs  int64 // records of the block not yet read
	blockOff   int64 // stream offset of the block
	next       int64 // stream index of the next record expected
	got        int64 // records read, of every kind
	results    int64
	events     int64
	skipped    int64 // records known lost: gaps in the sequence, rest of broken blocks
	damaged    bool  // damage seen since the last good block
	done       bool  // the trailer or the end of the stream was reached
	trailer    trailerWire
	integ      Integrity
	// onBlock, when set (by tests), is called with each good block's
	// first record index and record count.
	onBlock func(first int64, count int)
}

// NewReader reads the stream marker and header from r. It fails with an
// error wrapping ErrNotResults when r is not a results stream, and says so
// when the stream is of a newer format version than this package reads.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: r, buf: make([]byte, 64<<10), intern: make(map[string]string), tab: crc32.MakeTable(crc32.Castagnoli)}
	for {
		c := cursor{b: rd.buf[rd.pos:rd.end]}
		h, err := rd.parseHeader(&c)
		if err != nil {
			return nil, err
		}
		if !c.short {
			rd.header = h
			rd.hcrc = crc32.Checksum(rd.buf[:c.i], rd.tab)
			rd.pos += c.i
			rd.integ.Version = h.Version
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
// ended in the middle of a record or block, an error saying how many whole
// records were read and at which byte offset the stream was cut. Callers
// typically print it as a warning: every whole record has been delivered.
// Integrity().Err() includes it.
func (rd *Reader) Truncated() error { return rd.trunc }

// Integrity says whether the stream was read whole and undamaged: final
// once Next has returned io.EOF, and never Complete before. The DamagedAt
// slice is shared with the Reader.
func (rd *Reader) Integrity() Integrity { return rd.integ }

// Next decodes the next record into res (RecordResult) or ev (RecordEvent)
// and says which. Both must be non-nil; the other one is left unchanged.
// It returns io.EOF at the end of the stream, including a stream cut in
// the middle of a record (see Truncated). Records of unknown kinds, from a
// newer writer, are skipped, and so are damaged blocks (see Integrity): an
// error other than io.EOF is a failure to read the input, or, in a
// version 1 stream, which has no blocks to resume at, a corrupt record.
func (rd *Reader) Next(res *Result, ev *Event) (RecordKind, error) {
	if rd.header.Version < 2 {
		return rd.nextV1(res, ev)
	}
	for {
		if !rd.inBlock {
			if rd.done {
				return 0, io.EOF
			}
			if err := rd.nextFrame(); err != nil {
				return 0, err
			}
			continue
		}
		if rd.blockLeft == 0 && rd.blockRecs == 0 {
			rd.inBlock = false
			continue
		}
		c := cursor{b: rd.buf[rd.pos : rd.pos+rd.blockLeft]}
		kind := rd.parseRecord(&c, res, ev)
		if c.short || c.bad != nil || rd.blockRecs == 0 {
			rd.blockBroken()
			continue
		}
		rd.pos += c.i
		rd.blockLeft -= c.i
		rd.blockRecs--
		rd.next++
		rd.got++
		switch kind {
		case RecordResult:
			rd.results++
		case RecordEvent:
			rd.events++
		default:
			continue
		}
		rd.records++
		return kind, nil
	}
}

// setMessage keeps the error message of index i.
func (rd *Reader) setMessage(i uint64, text []byte) {
	if i == 0 || i > MaxErrors+1 {
		return
	}
	for uint64(len(rd.msgs)) <= i {
		rd.msgs = append(rd.msgs, "")
	}
	if string(text) != rd.msgs[i] {
		rd.msgs[i] = rd.internStr(text)
	}
}

// message returns the error message of index i, or "" when none was
// declared.
func (rd *Reader) message(i uint64) string {
	if i < uint64(len(rd.msgs)) {
		return rd.msgs[i]
	}
	return ""
}

// blockBroken handles a block whose records do not parse as its head
// says: the stream's cut last block ends there; a block that passed its
// checksum (written so by a faulty writer) is damaged.
func (rd *Reader) blockBroken() {
	if rd.unverified {
		rd.cut(fmt.Sprintf("cut mid-block at byte %d: read %d whole records, ignored the last %d bytes (was the writer killed?)",
			rd.base+int64(rd.end), rd.records, rd.end-rd.pos))
		return
	}
	rd.damage(rd.blockOff)
	rd.skipped += rd.blockRecs
	rd.next += rd.blockRecs
	rd.pos += rd.blockLeft
	rd.inBlock = false
	rd.damaged = false // the sequence is still known
}

// cut ends a stream that stops inside a record, block or frame.
func (rd *Reader) cut(msg string) {
	if rd.trunc == nil {
		rd.trunc = errors.New("results stream " + msg)
		rd.integ.reasons = append(rd.integ.reasons, msg)
	}
	rd.pos = rd.end
	rd.inBlock = false
	rd.finish()
}

// damage records a damaged block at stream offset off, unless damage was
// already recorded since the last good block (one damaged run of bytes is
// one damaged block).
func (rd *Reader) damage(off int64) {
	if rd.damaged {
		return
	}
	rd.damaged = true
	rd.integ.DamagedBlocks++
	if len(rd.integ.DamagedAt) < maxDamagedAt {
		rd.integ.DamagedAt = append(rd.integ.DamagedAt, off)
	}
}

// nextFrame reads frames until it has entered a block (inBlock) or reached
// the end of the stream (done), skipping damaged frames.
func (rd *Reader) nextFrame() error {
	for {
		b := rd.buf[rd.pos:rd.end]
		if len(b) == 0 && rd.eof {
			rd.finish()
			return nil
		}
		total, typ, ok, need := frameAt(b)
		if (need > 0 || ok && len(b) < total) && !rd.eof {
			if err := rd.fill(); err != nil {
				return err
			}
			continue
		}
		off := rd.base + int64(rd.pos)
		if need > 0 || ok && len(b) < total {
			// The stream ends inside this frame: it was cut there,
			// unless a good frame follows (then this one's length is
			// damaged).
			if rd.resync(); rd.pos < rd.end {
				rd.damage(off)
				continue
			}
			rd.pos = rd.end - len(b)
			if ok && typ == frameBlock && len(b) >= blockHeadLen && int64(binary.BigEndian.Uint64(b[framePrefix:])) == rd.next {
				rd.enterBlock(off, len(b), int64(binary.BigEndian.Uint32(b[framePrefix+8:])))
				rd.unverified = true
				return nil
			}
			rd.cut(fmt.Sprintf("cut mid-block at byte %d: read %d whole records, ignored the last %d bytes (was the writer killed?)",
				rd.base+int64(rd.end), rd.records, len(b)))
			return nil
		}
		if !ok || frameCRC(rd.tab, b[:total]) != binary.BigEndian.Uint32(b[6:]) {
			rd.damage(off)
			if err := rd.resync(); err != nil {
				return err
			}
			continue
		}
		if typ == frameTrailer {
			var t trailerWire
			if err := msgpack.Unmarshal(b[framePrefix:total], &t); err != nil {
				rd.damage(off)
				rd.pos += total
				continue
			}
			rd.trailer = t
			rd.integ.Trailer = true
			rd.pos += total
			return rd.afterTrailer()
		}
		first := int64(binary.BigEndian.Uint64(b[framePrefix:]))
		count := int64(binary.BigEndian.Uint32(b[framePrefix+8:]))
		switch {
		case first < rd.next:
			// A block repeated or out of order: not this stream's sequence.
			rd.damage(off)
			rd.pos += total
			continue
		case first > rd.next:
			rd.damage(off) // blocks missing, unless already counted
			rd.skipped += first - rd.next
			rd.next = first
		}
		rd.damaged = false
		rd.enterBlock(off, total, count)
		if rd.onBlock != nil {
			rd.onBlock(first, int(count))
		}
		return nil
	}
}

// enterBlock starts reading the records of the block of size bytes at
// stream offset off, which starts at pos.
func (rd *Reader) enterBlock(off int64, size int, count int64) {
	rd.inBlock = true
	rd.blockOff = off
	rd.blockLeft = size - blockHeadLen
	rd.blockRecs = count
	rd.pos += blockHeadLen
}

// resync moves pos to the next offset past it where a frame with a good
// checksum starts, reading on as needed; pos = end at the end of the
// stream.
func (rd *Reader) resync() error {
	from := rd.pos + 1
	for {
		i := bytes.IndexByte(rd.buf[from:rd.end], frameExt)
		if i < 0 {
			rd.pos = rd.end
			if rd.eof {
				return nil
			}
			if err := rd.fill(); err != nil {
				return err
			}
			from = rd.pos
			continue
		}
		p := from + i
		total, _, ok, need := frameAt(rd.buf[p:rd.end])
		if need > 0 || ok && rd.end-p < total {
			if rd.eof {
				from = p + 1
				continue
			}
			rd.pos = p
			if err := rd.fill(); err != nil {
				return err
			}
			from = rd.pos
			continue
		}
		if ok && frameCRC(rd.tab, rd.buf[p:p+total]) == binary.BigEndian.Uint32(rd.buf[p+6:]) {
			rd.pos = p
			return nil
		}
		from = p + 1
	}
}

// afterTrailer ends the stream after its trailer: anything after it is
// not part of it.
func (rd *Reader) afterTrailer() error {
	off := rd.base + int64(rd.pos)
	if rd.pos == rd.end && !rd.eof {
		if err := rd.fill(); err != nil {
			return err
		}
	}
	if rd.pos < rd.end {
		rd.integ.reasons = append(rd.integ.reasons, fmt.Sprintf("data after the end-of-run trailer at byte %d (two streams concatenated?)", off))
		rd.pos = rd.end
	}
	rd.finish()
	return nil
}

// finish decides the stream's Integrity at its end.
func (rd *Reader) finish() {
	rd.done = true
	in := &rd.integ
	in.Records = rd.got
	if rd.header.Version < 2 {
		in.reasons = append(in.reasons, "format version 1 has no end-of-run trailer: whether every record is here cannot be checked")
		return
	}
	in.SkippedRecords = rd.skipped
	if !in.Trailer {
		if rd.trunc == nil {
			in.reasons = append(in.reasons, fmt.Sprintf("no end-of-run trailer after %d records at byte %d (the writer was killed, or did not Close)", rd.got, rd.base+int64(rd.end)))
		}
		return
	}
	t := rd.trailer
	if lost := int64(t.Records) - rd.got; lost > rd.skipped {
		in.SkippedRecords = lost
	}
	agree := int64(t.Records) == rd.got && int64(t.Results) == rd.results && int64(t.Events) == rd.events
	if !agree && in.DamagedBlocks == 0 {
		in.reasons = append(in.reasons, fmt.Sprintf("the trailer counts %d records (%d results, %d events), %d (%d, %d) were read",
			t.Records, t.Results, t.Events, rd.got, rd.results, rd.events))
	}
	if t.HeaderCRC != rd.hcrc {
		in.reasons = append(in.reasons, "the header does not match its checksum in the trailer (damaged header)")
	}
	if t.Incomplete != "" {
		in.reasons = append(in.reasons, "the writer marked it incomplete: "+t.Incomplete)
	}
	in.Complete = agree && in.DamagedBlocks == 0 && len(in.reasons) == 0
}

// nextV1 reads a record of a version 1 stream: records back to back, no
// blocks.
func (rd *Reader) nextV1(res *Result, ev *Event) (RecordKind, error) {
	for {
		c := cursor{b: rd.buf[rd.pos:rd.end]}
		kind := rd.parseRecord(&c, res, ev)
		if !c.short {
			if c.bad != nil {
				return 0, fmt.Errorf("results stream corrupt at byte %d after %d records: %w", rd.base+int64(rd.pos), rd.records, c.bad)
			}
			rd.pos += c.i
			rd.got++
			if kind != RecordResult && kind != RecordEvent {
				continue
			}
			rd.records++
			return kind, nil
		}
		if rd.eof {
			if rd.pos < rd.end && rd.trunc == nil {
				rd.cut(fmt.Sprintf("cut mid-record at byte %d: read %d whole records, ignored the last %d bytes (was the writer killed?)",
					rd.base+int64(rd.end), rd.records, rd.end-rd.pos))
			} else if !rd.done {
				rd.finish()
			}
			return 0, io.EOF
		}
		if err := rd.fill(); err != nil {
			return 0, err
		}
	}
}

// fill reads more input after the unread bytes, growing the buffer when
// one record (or block) does not fit in it.
func (rd *Reader) fill() error {
	if rd.pos > 0 {
		n := copy(rd.buf, rd.buf[rd.pos:rd.end])
		rd.base += int64(rd.pos)
		rd.pos, rd.end = 0, n
	}
	if rd.end == len(rd.buf) {
		if len(rd.buf) > maxFrameBytes {
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
		if n < minResultFields {
			c.fail(fmt.Sprintf("result record with %d fields, want at least %d", n, minResultFields))
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
		res.Timing.Init, res.Throttle, res.Error = 0, "", ""
		if n > minResultFields {
			res.Timing.Init = time.Duration(c.int())
		}
		if n > minResultFields+1 {
			res.Throttle = rd.internStr(c.str())
		}
		if n > minResultFields+2 {
			res.Error = rd.message(c.uint())
		}
		n -= min(n, resultFields)
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
	case recordMessage:
		if n < messageFields {
			c.fail(fmt.Sprintf("message record with %d fields, want at least %d", n, messageFields))
			return 0
		}
		i := c.uint()
		text := c.str()
		if !c.short && c.bad == nil {
			rd.setMessage(i, text)
		}
		n -= messageFields
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
