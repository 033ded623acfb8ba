// Package workload is the open-loop load engine: rate schedules (phases of
// constant, linearly ramping or stepped rate), arrival processes (uniform and
// Poisson from a seeded source), a pacer that turns them into intended start
// instants as a pure function of elapsed time, the request mix (weighted
// templates with placeholders, tenants), and the Runner that fires each
// request at its intended start whatever the service is doing, with the
// client behaviour of package retry, and hands every attempt to a Recorder as a
// results.Result.
//
// Latency is measured from a request's intended start, never from when a
// busy generator got round to it. When the in-flight cap is reached, or
// the backlog of requests not yet sent stays too deep (see BacklogDelay),
// a request is recorded as generator_dropped with its intended start;
// there are no catch-up bursts.
//
// Records a Runner emits, per request:
//   - one record per attempt (Attempt ≥ 1), with Final set on the attempt
//     that decided the request (the last one, or the winner when hedging);
//   - or, when the decision was made without an attempt, one Final record
//     with Attempt 0 and Start == End: generator_dropped (in-flight cap,
//     backlog, or a start after the start instant),
//     client_throttled (adaptive throttling refused the first attempt or a
//     retry), budget_exhausted (a retry was wanted but the retry budget
//     refused it) and canceled (the run ended while the request waited to
//     retry). So attempts = records with Attempt ≥ 1 and requests = records
//     with Final set.
//
// It leaves out reading profiles (package profiles), faults (package faults)
// and summarising results (package report).
package workload
