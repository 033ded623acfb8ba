// Package retry is the behaviour of real clients: per-attempt timeouts and a
// request deadline, which outcomes are retried, Retry-After, backoff and
// jitter, retry budgets (the gRPC token bucket, the AWS SDK retry quota, a
// ratio budget), client-side adaptive throttling from Google's SRE book, and
// hedging.
//
// A Policy is an immutable value that says what a client does; it is built
// from loadgen flags, profiles and the fault timeline's "client change".
// NewState turns it into the mutable, shared state of one client (budget,
// throttle window, recent latencies), safe for concurrent use by all the
// requests of that client. Formulas are documented on each type; functions
// that depend on time or randomness take "now" or a uniform draw u ∈ [0, 1)
// as an argument so that they can be tested at fixed inputs.
//
// The text forms (ParseBudget, ParseThrottle, ParseHedge, ParseRetryOn,
// ParseRetryClass, ParseBackoffKind, ParseJitter) are the one grammar of
// both loadgen's flags and profiles; what they accept, String writes back,
// and what they refuse is a *SyntaxError giving the valid syntax.
//
// The package sends nothing itself: package workload drives the attempts.
package retry
