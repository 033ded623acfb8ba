// Package report reads and writes results streams and turns them into what a
// user decides on: summaries, windows, recovery time, tipping points,
// comparisons and assertions, rendered as text, JSON, HTML and HdrHistogram
// formats.
//
// A results stream is msgpack: one Header followed by one compact record per
// attempt (Result) or run event (Event). report reads records, whoever wrote
// them; it imports no other package of this module.
package report
