// Package harness plays a scenario of package profiles: it starts the
// reference target in-process (or checks that the scenario's URL answers),
// puts a fault proxy in front of it when a fault needs one, starts the
// delivery sink for async messages, drives the phases with the workload
// runner, runs the fault timeline (whose rollback is guaranteed), streams
// every result to a file per variant, and turns the files into reports,
// assertion verdicts and, for several variants, a side-by-side comparison.
//
// Variants run one after another, each against a fresh target. An
// interrupted run (its context cancelled) keeps the results recorded so
// far: the stream gets an interrupted event, the faults are rolled back
// and the reports are written for the partial run.
//
// Its Driver plays one run of load for every caller (loadgen attack and
// ramp, and each variant here): runner, results stream, progress line,
// delivery sink, the ramp's stop past the knee, what runs alongside (the
// fault timeline) and the one interrupted event.
//
// It leaves out sharding across machines: one harness is one generator.
package harness
