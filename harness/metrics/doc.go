// Package metrics serves a loadgen run's live figures as Prometheus
// metrics, so that a run can be watched while it plays (Grafana, a
// Prometheus query, curl).
//
// A Registry belongs to one loadgen process and serves /metrics; each run
// the process plays (one for attack and ramp, one per variant for run)
// adds its series with Registry.Run, labelled run (the results header's
// Label), and shard for a sharded run. Every series starts with loadgen_:
//
//	loadgen_requests_total{route,phase}            requests with a final outcome (offered load, counted when decided)
//	loadgen_outcomes_total{route,phase,outcome}    requests by final outcome (the results' "outcomes")
//	loadgen_attempts_total{route,phase,outcome}    attempts sent, by outcome (the results' "attempt_outcomes")
//	loadgen_goodput_total{route,phase}             requests ok within the SLO, from intended start
//	loadgen_generator_dropped_total{route,phase}   requests the generator could not start
//	loadgen_request_latency_seconds{route,phase}   successful requests, from intended start (native and classic buckets)
//	loadgen_attempt_latency_seconds{route,phase}   attempts, from attempt start to end (native and classic buckets)
//	loadgen_schedule_lag_seconds                   first attempt start − intended start
//	loadgen_in_flight                              requests started and not finished
//	loadgen_offered_rate                           requests/s the schedule offers now (this shard's share)
//	loadgen_phase{phase}                           1 for the phase the schedule is in, 0 for those before it
//
// A request is counted once, when its final record is recorded, under the
// phase of its intended start, so that the final counts equal the results
// file's. A phase's series appear when the phase begins.
//
// Records are counted with atomic adds on counters resolved once per route
// (no lock, no allocation); the totals are read at scrape time. The package
// has no global state: the prometheus default registry is not used.
package metrics
