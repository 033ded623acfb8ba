// Package results is the record of a run: the contract between whoever
// generates load and whoever reports on it.
//
// A results file is a msgpack stream: a marker, the format version, one
// Header (the scenario as resolved, seed, start instant, host, tool), then
// one small fixed array per attempt (Result) or run event (Event), in
// blocks of about 16 KiB, each with a CRC-32C, and, when the writer was
// closed, an end-of-run trailer with the counts of records written.
// Writer encodes a stream without allocating per record; Reader decodes
// one, interning route and tenant labels, skips a damaged block and reads
// on at the next good one, reads a stream cut off mid-record up to its last
// whole record (see Reader.Truncated), and says whether it read every
// record as written (Reader.Integrity). SameRun and
// MergeHeaders decide which streams are shards of one run and give the
// header of their merge. docs/results-format.md describes the bytes.
//
// The package sits at the bottom of the module: it imports nothing of
// goodput, so a retry policy, a fault timeline or a delivery sink can write
// records without pulling in the reports that read them.
package results
