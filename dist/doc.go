// Package dist holds the value types that flags, profiles, the reference
// target's configuration and faults share: latency distributions (Latency,
// with its command-line grammar, ParseLatency) and durations that read and
// write as Go duration strings (Duration).
//
// It holds values only: no clocks, no goroutines, no state. Sampling takes
// the caller's seeded source.
package dist
