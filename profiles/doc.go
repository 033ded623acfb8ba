// Package profiles defines loadgen's scenario files: their schema as Go
// types, a strict YAML loader, overrides (variants, the short form,
// --set path=value) and the built-in profiles embedded in the binary.
//
// A profile says everything about a run: the target, the request mix, the
// clients' behaviour, the phases, the faults, the SLO, the assertions and
// the reports. Loading is strict: unknown fields, values of the wrong type
// and out-of-range values are refused before anything runs, each with its
// file:line:column, the field's path, what was found and what would be
// valid (with a "did you mean" for near misses). Durations are Go
// durations (250ms), sizes take units (64KiB), rates are per second.
//
// The package only describes runs; the harness package plays them. The
// reference target's own configuration (target.embedded.overrides) is kept
// as written and checked by the harness against the target's schema.
package profiles
