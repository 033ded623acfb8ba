package target

import (
	"cmp"
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// Ranges of the configuration's numeric fields. Each bounds what one
// setting, or one request under it, can cost in memory or time, so that no
// flag, file or admin call can exhaust the process. Config.Validate refuses
// a value outside its range, naming the field and the range; the doc
// comment of each field says which bound applies.
const (
	// maxBodyBytes bounds work.max_body_bytes (16 MiB).
	maxBodyBytes = 16 << 20
	// maxWorkSize bounds work.max_size: 10⁷ SHA-256 blocks, a few seconds
	// of CPU for one request.
	maxWorkSize = 10_000_000
	// maxItems bounds list.items (the collection is computed, not stored).
	maxItems = 1_000_000_000_000
	// maxPageSize bounds list.max_page_size and list.default_page_size:
	// a page of 10⁵ items is about 25 MB of answer.
	maxPageSize = 100_000
	// maxScanBudget bounds list.scan_budget: 10⁷ items examined is CPU
	// only (no allocation), tens of milliseconds.
	maxScanBudget = 10_000_000
	// maxTokenTTL bounds list.token_ttl.
	maxTokenTTL = 7 * 24 * time.Hour
	// maxChunkTime bounds jobs.chunk_time.
	maxChunkTime = time.Minute
	// maxChunks bounds jobs.max_chunks.
	maxChunks = 100_000
	// maxJobs bounds jobs.max_jobs (the job table).
	maxJobs = 100_000
	// maxConsumers bounds messages.consumers (one goroutine each).
	maxConsumers = 1024
	// maxRate bounds throttle.rate (requests per second per tenant) and
	// maxBurst throttle.burst (tokens: neither costs memory, 10⁹ is "no
	// throttle" in practice).
	maxRate  = 1_000_000_000
	maxBurst = 1_000_000_000
	// maxTenants bounds throttle.max_tenants (the tenant table).
	maxTenants = 100_000
	// maxConcurrent bounds the concurrency of a bulkhead
	// (max_concurrent), of the fixed workers (workers.workers) and the
	// admission limits (limit, min_limit, max_limit).
	maxConcurrent = 10_000
	// maxWaiters bounds every wait queue: a bulkhead's and the workers'
	// max_waiters, admission.queue_size.
	maxWaiters = 100_000
	// maxWait bounds every wait (max_wait) and the admission's
	// latency_threshold, codel_target, codel_interval and
	// overload_window.
	maxWait = time.Minute
	// maxRetryAfter bounds admission.retry_after.
	maxRetryAfter = time.Hour
	// maxTimeout bounds the per-route timeouts and drain_timeout.
	maxTimeout = 10 * time.Minute
)

// inRange returns an error naming field and the range lo..hi when v is
// outside it (NaN is outside every range), else nil.
func inRange[T cmp.Ordered](field string, v, lo, hi T) error {
	if v >= lo && v <= hi {
		return nil
	}
	return fmt.Errorf("%s: %v, want %v..%v", field, v, lo, hi)
}

// durRange is inRange for a configuration duration.
func durRange(field string, d dist.Duration, lo, hi time.Duration) error {
	return inRange(field, time.Duration(d), lo, hi)
}

// appendErr appends err to errs when it is not nil.
func appendErr(errs []error, err ...error) []error {
	for _, e := range err {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return errs
}
