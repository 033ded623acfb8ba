// Package shed is admission control for an HTTP service: it decides, before
// any work is done and before the request body is read, whether a request
// runs now, waits a bounded time in a queue, or is rejected cheaply with
// 503 (or 429 for tenant throttling) and a Retry-After header.
//
// The parts compose:
//
//   - A [Limiter] says how many requests may run at once: [Static], the
//     additive-increase/multiplicative-decrease [AIMD], or [Gradient], which
//     follows the ratio of the no-load round trip to the current one (in the
//     style of Envoy's adaptive concurrency filter and Netflix's Gradient2),
//     re-measuring the no-load round trip every minute at a low concurrency
//     floor so that sustained overload cannot pass for the new normal.
//   - A [Shedder] holds the in-flight count against the limit and a bounded
//     wait queue in front of it, served [FIFO], [LIFO] or [CoDel] (adaptive
//     LIFO with CoDel, as in Facebook's "Fail at Scale": while the queue has
//     not been empty within the last interval (100 ms) it is served newest
//     first and requests that waited longer than the target (5 ms) are
//     dropped). It drops requests whose client has given up, or will before
//     the expected service time, using the client's remaining patience from
//     the X-Timeout-Ms header, and sheds X-Priority: sheddable requests
//     before critical ones. Retry-aware, it prefers first attempts under
//     overload: a retry (X-Attempt > 1) is admitted only while nothing
//     waits, the limit is not reached and nothing was refused for overload
//     (by the Shedder, or with a 503 from the handler behind it) within the
//     last OverloadWindow (100 ms); a retry never queues.
//   - A [TenantLimit] is a token bucket per tenant (X-Tenant), with a bounded
//     number of tenants tracked, answering 429.
//   - [Timeout] is a per-route handler deadline.
//
// Every refusal is a [Reason] (limit, queue_full, queue_timeout, codel,
// deadline, priority, tenant_throttle, canceled, retry); a Reason is an error that
// matches [ErrShed] (or [ErrThrottled]) with errors.Is, and an [Observer]
// hears every admission and refusal, so metrics can count them without this
// package importing a metrics library. The reject path does not allocate.
//
// Time-dependent logic takes the current time as an argument (as
// golang.org/x/time/rate does); the plain forms use time.Now. Waiting uses
// the runtime's timers, so tests run it under testing/synctest.
//
// The package leaves out: distributed (cluster-wide) limits, request
// classification beyond the two priorities, and retries (the client's job).
package shed
