// Package proxy is an HTTP fault proxy: a reverse proxy in front of any
// HTTP service that applies faults (delay of the request or the response,
// abort with a status, connection reset, stall, timeout, bandwidth limit)
// to the traffic through it, each with a per-request probability and an
// optional route, method or header scope.
//
// Faults are added and removed live through a small JSON control API, a
// contract that scripts use:
//
//	GET    /faults         list the faults in place (a JSON array)
//	POST   /faults         add one fault (201; 409 if the name exists)
//	PUT    /faults/{name}  replace (or add) the named fault
//	DELETE /faults/{name}  remove one (204; 404 if unknown)
//	POST   /reset          remove every fault ({"removed": n})
//
// A fault is a faults.Spec in JSON, e.g.
// {"name":"slow","kind":"delay","delay":"100ms","jitter":"20ms","probability":0.5,"route":"/api/search"}.
//
// What a proxy takes (faults.ProxySpec, the one check behind the control
// API and `loadgen proxy --fault`):
//
//	name              1 to 64 ASCII letters, digits, '-', '_', '.'; starting with a letter or digit
//	kind              delay, abort, reset, stall, timeout, bandwidth
//	delay, jitter     0 to 1h each (faults.MaxDelay), not both 0
//	status            400..599
//	bytes_per_second  1 to 10000000000 (faults.MaxBytesPerSecond, 10 GB/s)
//	probability       0 < p ≤ 1; absent means 1
//
// Anything else is refused with 400 and {"error": "..."} naming the field
// and what would be valid. The upstream (Config.Upstream, ParseUpstream)
// is an http or https URL with a host.
//
// Removing a fault (or shutting the proxy down) lets go at once the
// requests it holds: a stalled or delayed request goes on to the
// upstream, a delayed response is passed on, the rest of a throttled
// body goes unpaced, a timeout's connection is dropped.
//
// When a token is set, every control call needs
// "Authorization: Bearer <token>"; a control listener on a non-loopback
// address must have one (CheckControlAddr).
//
// faults.ProxyClient is the Go client of the control API, and
// faults.ProxyInjector drives it from a fault timeline.
package proxy
