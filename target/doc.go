// Package target is the reference service of goodput: a small HTTP service
// whose capacity is known (dependency pool ÷ latency, see target/dep), which
// runs either as an honest default Go service or with every resilience
// defence on, one at a time or all together.
//
// Routes (API listener):
//
//	GET  /api/items/{id}                               one call of dependency db
//	GET  /api/search?q=                                one call of dependency search
//	POST /api/work {"size": N}                         CPU work ∝ N; body limit 413, N above max 400
//	GET  /api/items?page_size=&page_token=&filter=     budgeted scan, signed continuation tokens
//	POST /api/jobs {"chunks": N} + Idempotency-Key     chunked job with a checkpoint per chunk
//	GET  /api/jobs/{id}                                a job's progress
//	POST /api/messages {"tenant","room","body"}        async: 202 and queued (target/backlog), 429 under backpressure
//	GET  /healthz                                      liveness, behind no defence
//
// Every answer carries Server-Timing: queue;dur=… (admission, bulkhead,
// worker and dependency-slot waits), app;dur=… (the rest) and one
// <dependency>;dur=… per dependency called, in milliseconds.
//
// A request meets the defences in this order, each switchable in Config:
// the per-tenant throttle (429), the route's bulkhead, admission control
// (target/shed: concurrency limit, wait queue, deadline and priority
// shedding; 503 with Retry-After before the body is read), the fixed
// workers, the route's timeout, and the dependency's bulkhead around each
// dependency call. Preset("unprotected") turns them all off (unbounded
// concurrency, FIFO waits on the dependency pools, no deadline checks, work
// finished for clients who left); Preset("protected") turns them on.
//
// Messages POSTed to /api/messages are taken by a fixed pool of consumers
// (run by Serve) that call a dependency for each one and POST it to the
// configured delivery URL (Config.Messages; docs/backlog.md).
//
// Admin routes (admin listener, loopback unless an admin token is set):
// GET/PUT /admin/config (live, validated, atomic), GET /admin/deps,
// GET/PUT /admin/deps/{name} (the hook fault injectors use),
// GET/PUT/PATCH /admin/backlog (the message queues, live), /metrics
// (Prometheus) and /debug/pprof.
//
// Embedding (as loadgen run does):
//
//	cfg, _ := target.Preset(target.PresetProtected)
//	cfg.DB.Pool = 16
//	srv, err := target.New(cfg)
//	api, _ := net.Listen("tcp", "127.0.0.1:0")
//	admin, _ := net.Listen("tcp", "127.0.0.1:0")
//	go srv.Serve(ctx, api, admin) // returns after draining when ctx ends
//
// The package leaves out TLS, authentication of API calls and persistence:
// jobs, queued messages and page-token keys live as long as the process.
package target
