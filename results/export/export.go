// Package export writes the attempts of results streams as JSON Lines or
// CSV, one line per attempt with every field of its record, for tools
// that do not read msgpack: jq, spreadsheets, pandas, a data warehouse.
//
// Lines are written as records are read: memory stays constant whatever
// the stream's length. Instants appear twice, as RFC 3339 wall-clock times
// with nanoseconds (from the stream's start) and as nanosecond offsets from
// the run's start, so lines of shards of one run line up either way.
package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// Format is an output format of a Writer.
type Format string

// The formats a Writer writes.
const (
	JSONL Format = "jsonl" // one JSON object a line
	CSV   Format = "csv"   // a header row, then one row a line
)

// Formats returns the names of the formats, for flags' help and errors.
func Formats() []string { return []string{string(JSONL), string(CSV)} }

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case JSONL, CSV:
		return Format(s), nil
	}
	return "", fmt.Errorf("format %q: want jsonl or csv", s)
}

// Columns are the fields of every line, in CSV column order and JSON key
// order. Instants are RFC 3339 with nanoseconds; *_ns fields are
// nanoseconds, instants among them offsets from the run's start.
var columns = []string{
	"run", "shard", "request_id", "attempt", "phase", "final", "route", "tenant",
	"intended", "start", "end", "intended_ns", "start_ns", "end_ns", "latency_ns",
	"status", "outcome", "bytes_out", "bytes_in", "queue_ns", "app_ns", "dep_ns", "age_ns",
	"error",
}

// Columns returns the names of the fields of every line, in order.
func Columns() []string { return append([]string(nil), columns...) }

// maxQuoted bounds the cache of quoted labels; past it labels are quoted
// each time (the results reader already bounds distinct labels).
const maxQuoted = 1 << 16

// Writer writes attempts as lines of one Format. It is not safe for
// concurrent use. Create one with NewWriter, give it each stream's header
// with SetHeader before that stream's records, and Flush at the end.
type Writer struct {
	bw      *bufio.Writer
	format  Format
	start   time.Time
	run     []byte   // the stream's label, quoted
	shard   []byte   // the stream's shard index
	phases  [][]byte // phase names, quoted
	quoted  map[string][]byte
	csvBuf  bytes.Buffer
	csvW    *csv.Writer
	line    []byte
	started bool
}

// NewWriter returns a Writer of format f to w.
func NewWriter(w io.Writer, f Format) (*Writer, error) {
	if _, err := ParseFormat(string(f)); err != nil {
		return nil, err
	}
	ew := &Writer{bw: bufio.NewWriterSize(w, 64<<10), format: f, quoted: make(map[string][]byte)}
	ew.csvW = csv.NewWriter(&ew.csvBuf)
	return ew, nil
}

// SetHeader starts the records of a stream with header h: its start
// instant, label, shard and phase names apply to the records that follow.
func (w *Writer) SetHeader(h results.Header) error {
	w.start = h.Start
	w.run = append(w.run[:0], w.quote(h.Label)...)
	w.shard = strconv.AppendInt(w.shard[:0], int64(h.Shard.Index), 10)
	w.phases = w.phases[:0]
	for _, p := range h.Phases {
		w.phases = append(w.phases, w.quote(p.Name))
	}
	if w.format == CSV && !w.started {
		w.started = true
		w.csvW.Write(columns)
		return w.flushCSV()
	}
	return nil
}

// flushCSV moves what the CSV encoder wrote to the output.
func (w *Writer) flushCSV() error {
	w.csvW.Flush()
	if err := w.csvW.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	_, err := w.bw.Write(w.csvBuf.Bytes())
	w.csvBuf.Reset()
	return err
}

// quote returns s as a JSON string or a CSV field, cached: a stream has few
// distinct labels and many records.
func (w *Writer) quote(s string) []byte {
	if q, ok := w.quoted[s]; ok {
		return q
	}
	var q []byte
	if w.format == JSONL {
		q, _ = json.Marshal(s) // a string always marshals
	} else {
		w.csvW.Write([]string{s})
		w.csvW.Flush()
		q = bytes.TrimSuffix(bytes.Clone(w.csvBuf.Bytes()), []byte("\n"))
		w.csvBuf.Reset()
	}
	if len(w.quoted) < maxQuoted {
		w.quoted[s] = q
	}
	return q
}

// Write writes the line of one attempt.
func (w *Writer) Write(r *results.Result) error {
	var phase []byte
	if int(r.Phase) < len(w.phases) {
		phase = w.phases[r.Phase]
	} else {
		phase = w.quote(strconv.Itoa(int(r.Phase)))
	}
	fields := [...]field{
		{raw: w.run}, {raw: w.shard}, {u: r.RequestID, kind: uintField}, {u: uint64(r.Attempt), kind: uintField},
		{raw: phase}, {b: r.Final, kind: boolField}, {raw: w.quote(r.Route)}, {raw: w.quote(r.Tenant)},
		{d: r.Intended, kind: timeField}, {d: r.Start, kind: timeField}, {d: r.End, kind: timeField},
		{d: r.Intended, kind: intField}, {d: r.Start, kind: intField}, {d: r.End, kind: intField}, {d: r.Latency(), kind: intField},
		{u: uint64(r.Status), kind: uintField}, {raw: w.quote(r.Outcome.String())},
		{u: uint64(r.BytesOut), kind: uintField}, {u: uint64(r.BytesIn), kind: uintField},
		{d: r.Timing.Queue, kind: intField}, {d: r.Timing.App, kind: intField}, {d: r.Timing.Dep, kind: intField}, {d: r.Age, kind: intField},
		{raw: w.quote(r.Error)},
	}
	b := w.line[:0]
	if w.format == JSONL {
		b = append(b, '{')
	}
	for i := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if w.format == JSONL {
			b = append(b, '"')
			b = append(b, columns[i]...)
			b = append(b, '"', ':')
		}
		b = w.appendField(b, &fields[i])
	}
	if w.format == JSONL {
		b = append(b, '}')
	}
	b = append(b, '\n')
	w.line = b
	_, err := w.bw.Write(b)
	return err
}

// fieldKind says how a field is written.
type fieldKind uint8

const (
	rawField  fieldKind = iota // already quoted bytes
	uintField                  // an unsigned number
	intField                   // a signed number of nanoseconds
	boolField                  // true or false
	timeField                  // an offset from the run's start, as an RFC 3339 instant
)

// field is one value of a line; one struct rather than an interface so that
// writing a line does not allocate.
type field struct {
	kind fieldKind
	raw  []byte
	u    uint64
	d    time.Duration
	b    bool
}

func (w *Writer) appendField(b []byte, f *field) []byte {
	switch f.kind {
	case uintField:
		return strconv.AppendUint(b, f.u, 10)
	case intField:
		return strconv.AppendInt(b, int64(f.d), 10)
	case boolField:
		return strconv.AppendBool(b, f.b)
	case timeField:
		if w.format == JSONL {
			b = append(b, '"')
		}
		b = w.start.Add(f.d).UTC().AppendFormat(b, time.RFC3339Nano)
		if w.format == JSONL {
			b = append(b, '"')
		}
		return b
	}
	return append(b, f.raw...)
}

// Flush writes any buffered lines to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
