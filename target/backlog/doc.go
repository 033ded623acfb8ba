// Package backlog is the asynchronous path of a service, built to keep a
// backlog from turning a short surge into a long outage: bounded queues
// with switchable disciplines (FIFO, LIFO, two-level age priority), time to
// live, a dead-letter queue, backpressure, a surge queue and shuffle-sharding
// of tenants over several queues.
//
// Two layers:
//
//   - Backlog is the queue logic. Every time-dependent method takes "now" as
//     an argument, so tests drive it at fixed instants. It starts no
//     goroutines.
//   - Service wraps a Backlog in an http.Handler for POST /api/messages and a
//     fixed pool of consumers (Run) that process each message and deliver it
//     by HTTP POST to a delivery URL (see Delivery for the body).
//
// Configuration (Config) is swapped atomically and may change while the
// service runs, except the number of queues.
//
// It leaves out persistence (queues live in memory and are lost on exit),
// redrive from the dead-letter queue and per-message priorities set by the
// producer: priority here comes only from a message's age.
package backlog
