// Package bulkhead isolates parts of a service from each other: each
// dependency and each route gets its own bounded pool of concurrent calls
// with a bounded wait, so a slow dependency can hold at most its own pool's
// slots and waiters, never the goroutines, connections or queue another
// part needs.
//
//   - A [Pool] bounds concurrent calls (MaxConcurrent) and waiting callers
//     (MaxWaiters, each waiting at most MaxWait, first come first served).
//     [Pool.Acquire] returns a release function, or [ErrFull],
//     [ErrWaitTimeout] or the context's error; [Pool.Middleware] is the
//     same for an http.Handler, answering 503 with Retry-After.
//   - A [Set] is a fixed set of named pools, one per dependency or route,
//     with a middleware that picks the pool from the request.
//   - [Workers] is "fixed resources per unit of work", the execution
//     environment model of AWS Lambda: W workers, each request runs on
//     exactly one and never shares it, and the worker's identity (hence any
//     per-worker resources the service keeps, such as a scratch buffer) is
//     the request's alone while it runs.
//
// Pools share nothing: no lock, no goroutine, no queue. A saturated pool
// never delays a call to another.
//
// Workers are slots, not goroutines: a request takes a free worker slot
// (bounded, FIFO wait like a Pool) and its handler runs on the request's
// own goroutine with the worker's id in its context. That gives the
// guarantee the model needs (at most W units of work at once, each with
// exclusive use of one worker's resources) without a goroutine hand-off per
// request, without a Run lifecycle to forget, and with net/http's panic
// recovery and per-connection goroutine left intact. Go's scheduler
// multiplexes goroutines onto threads either way; a dedicated goroutine per
// worker would isolate nothing more.
//
// Nothing in the package starts goroutines.
package bulkhead
