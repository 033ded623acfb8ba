package results

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
)

// Since format version 2 the records travel in checksummed frames, so that
// a reader detects damage, says where it is and reads on at the next good
// frame, and knows whether it saw the end of the stream:
//
//	0xc9                  msgpack ext 32
//	n       uint32 BE     bytes after the type byte
//	type    int8          'B' a block of records, 'E' the end-of-run trailer
//	crc     uint32 BE     CRC-32C (Castagnoli) of bytes [0, 6) and [10, 6+n)
//	block:   first uint64 BE (stream index of its first record),
//	         count uint32 BE (records in it), then count records as in v1
//	trailer: a msgpack map (trailerWire)
//
// Each frame is one msgpack value, so a generic msgpack decoder still walks
// the stream. The CRC covers the length, so a damaged length is detected
// too; the reader then looks for the next frame whose checksum holds.

const (
	frameExt      = 0xc9 // msgpack ext 32
	frameBlock    = 'B'
	frameTrailer  = 'E'
	framePrefix   = 10                  // marker, length, type, crc
	blockHeadLen  = framePrefix + 8 + 4 // + first, count
	blockTarget   = 16 << 10            // a block is emitted once its records reach this size
	maxFrameBytes = maxRecordBytes + blockTarget + blockHeadLen
	// maxDamagedAt bounds the offsets Integrity lists.
	maxDamagedAt = 16
)

// frameCRC returns the checksum of frame f (whole, prefix included).
func frameCRC(tab *crc32.Table, f []byte) uint32 {
	return crc32.Update(crc32.Update(0, tab, f[:6]), tab, f[framePrefix:])
}

// sealFrame writes the marker, length, type and checksum into the first
// framePrefix bytes of f.
func sealFrame(tab *crc32.Table, f []byte, typ byte) {
	f[0] = frameExt
	binary.BigEndian.PutUint32(f[1:], uint32(len(f)-6))
	f[5] = typ
	binary.BigEndian.PutUint32(f[6:], frameCRC(tab, f))
}

// frameAt says what starts at b[0]: the frame's total length and type when
// b holds a plausible frame prefix (ok), or need > 0 when more bytes must
// be read to tell. A plausible frame still needs its checksum checked.
func frameAt(b []byte) (total int, typ byte, ok bool, need int) {
	if len(b) < 6 {
		if len(b) > 0 && b[0] != frameExt {
			return 0, 0, false, 0
		}
		return 0, 0, false, 6 - len(b)
	}
	n := binary.BigEndian.Uint32(b[1:])
	typ = b[5]
	switch {
	case b[0] != frameExt:
		return 0, 0, false, 0
	case typ == frameBlock && n >= blockHeadLen-6 && n <= maxFrameBytes:
	case typ == frameTrailer && n > framePrefix-6 && n <= maxRecordBytes:
	default:
		return 0, 0, false, 0
	}
	return 6 + int(n), typ, true, 0
}

// trailerWire is the end-of-run trailer's map: what the writer wrote.
type trailerWire struct {
	Records uint64 `msgpack:"records"` // records of every kind
	Results uint64 `msgpack:"results"`
	Events  uint64 `msgpack:"events"`
	Blocks  uint64 `msgpack:"blocks"`
	// HeaderCRC is the CRC-32C of the stream's bytes before its first
	// frame: marker, version and header.
	HeaderCRC uint32 `msgpack:"header_crc"`
	// Incomplete, when set, says why the writer knows its records are not
	// the whole run (a merge of an incomplete or damaged input).
	Incomplete string `msgpack:"incomplete,omitempty"`
}

// Integrity says whether a stream was read whole and undamaged. Reader
// fills it as it reads; it is final once Next has returned io.EOF.
type Integrity struct {
	// Version is the stream's format version.
	Version int
	// Complete is true when the stream ended with its writer's end-of-run
	// trailer, the trailer's counts match the records read, the writer
	// did not mark it incomplete, and no block was damaged, missing or
	// cut: every record written was read, as written. Version 1 streams
	// have no trailer and are never complete.
	Complete bool
	// Trailer is true when a valid end-of-run trailer was read.
	Trailer bool
	// DamagedBlocks counts the blocks that failed their checksum or were
	// missing from the sequence; their records were skipped.
	DamagedBlocks int
	// DamagedAt holds the byte offsets of the first damaged blocks (at
	// most 16).
	DamagedAt []int64
	// SkippedRecords counts the records lost in damaged blocks: exact when
	// the trailer was read, otherwise those known from the block sequence
	// numbers (a lower bound).
	SkippedRecords int64
	// Records counts the records read, of every kind (error message
	// records included: Reader.Records counts results and events).
	Records int64
	// reasons say why the stream is incomplete, beyond damage.
	reasons []string
}

// Err returns nil for a complete stream, and otherwise an error saying
// where it is damaged ("damaged at byte N …") and why it is incomplete
// ("incomplete: …"), for warnings.
func (in Integrity) Err() error {
	if in.Complete {
		return nil
	}
	var parts []string
	if in.DamagedBlocks > 0 {
		at := make([]string, len(in.DamagedAt))
		for i, off := range in.DamagedAt {
			at[i] = fmt.Sprint(off)
		}
		more := ""
		if in.DamagedBlocks > len(in.DamagedAt) {
			more = ", …"
		}
		bound := ""
		if !in.Trailer {
			bound = "at least "
		}
		parts = append(parts, fmt.Sprintf("damaged at byte %s%s (%d blocks failed their checksum or were missing; %s%d records skipped)",
			strings.Join(at, ", "), more, in.DamagedBlocks, bound, in.SkippedRecords))
	}
	if len(in.reasons) > 0 {
		parts = append(parts, "incomplete: "+strings.Join(in.reasons, "; "))
	} else if in.DamagedBlocks == 0 {
		parts = append(parts, "incomplete")
	}
	return fmt.Errorf("results stream %s", strings.Join(parts, "; "))
}
