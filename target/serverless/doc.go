// Package serverless simulates a function platform in the manner of AWS
// Lambda, so that a load test can meet its concurrency limits, cold starts
// and throttles at a scale a laptop can run:
//
//   - Functions run in execution environments, each serving one request
//     at a time. A warm invoke takes the function's most recently used
//     idle environment (provisioned ones first); a cold invoke creates one
//     and pays its init time first. Environments idle for IdleTimeout are
//     reclaimed; provisioned ones are initialised at start and never are.
//   - The account's concurrency quota (AccountConcurrency) is shared by
//     the functions without reserved concurrency; a function's Reserved
//     concurrency both guarantees and caps its share. Provisioned
//     environments count against the account whether busy or not.
//   - Each function adds at most ScaleRate environments per ScaleInterval:
//     a token bucket (golang.org/x/time/rate) of capacity ScaleRate,
//     refilled continuously, so unused scaling carries over at most one
//     interval's worth.
//   - Each environment starts at most EnvRPS requests per second.
//   - A function may call dependencies ([Dependency], such as the pools
//     of target/dep) between its init and its own duration, holding its
//     environment meanwhile: a slow dependency lengthens the function and
//     so raises its concurrency (Little's law) towards the limits.
//   - Past a limit an invoke is throttled at once with a [Reason]
//     (account, reserved or scaling) matching [ErrThrottled]: the caller
//     answers 429 and nothing runs.
//   - Asynchronous invokes ([Platform.Enqueue]) wait in a bounded queue per
//     function (target/backlog) drained by pollers ([Platform.Run]); a
//     function error is retried (twice by default), a throttled try is
//     tried again later, and an event past MaxEventAge or out of retries
//     goes to the dead-letter queue (the on-failure destination).
//
// The core ([Platform.Acquire], [Platform.Release]) takes the current time
// as an argument and samples durations from a seeded *rand.Rand passed
// in, so a simulation drives it deterministically at any speed;
// [Platform.Invoke] and [Platform.Run] wrap it on the runtime clock.
// See docs/serverless.md for the model and how each knob mirrors Lambda.
//
// The package leaves out: function timeouts and memory sizes, per-version
// and alias concurrency, burst quotas of the older scaling model, event
// source mappings other than the async queue, and the init phase of
// provisioned environments (they are ready when made).
package serverless
