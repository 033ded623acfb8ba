// Package dep simulates the dependencies of the reference target: each has a
// finite pool of slots (like database connections), a latency distribution,
// an error rate and a stall switch, so a route's capacity is Pool / latency
// whatever the machine's speed. A dependency can instead be a real HTTP
// service at a URL, so a fault proxy can sit in front of it.
package dep
