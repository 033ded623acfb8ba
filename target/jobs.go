package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxJobBody bounds the body of POST /api/jobs.
const maxJobBody = 4 << 10

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 128

// job is a long job run in chunks. Its progress (done) is the checkpoint: a
// chunk counts once it has finished.
type job struct {
	id     string
	key    string
	chunks int
	// run is held by the attempt running the job: a retry waits for the
	// attempt it replaces to stop at its next chunk boundary.
	run chan struct{}

	mu       sync.Mutex
	done     int // chunks finished (the checkpoint)
	executed int // chunks run in all attempts (> chunks when work was redone)
	attempts int
}

// JobStatus is the JSON view of a job.
type JobStatus struct {
	ID       string `json:"id"`
	Chunks   int    `json:"chunks"`
	Done     int    `json:"done"`
	Executed int    `json:"executed"`
	Attempts int    `json:"attempts"`
	State    string `json:"state"`
}

func (j *job) status() JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := JobStatus{ID: j.id, Chunks: j.chunks, Done: j.done, Executed: j.executed, Attempts: j.attempts, State: "incomplete"}
	if j.done == j.chunks {
		st.State = "done"
	}
	return st
}

// jobTable holds at most max jobs, by Idempotency-Key and by id. When it is
// full, the oldest job that nobody is running makes room. Safe for
// concurrent use.
type jobTable struct {
	max int

	mu     sync.Mutex
	byKey  map[string]*job
	byID   map[string]*job
	order  []*job // oldest first
	nextID uint64
}

func newJobTable(maxJobs int) *jobTable {
	return &jobTable{max: maxJobs, byKey: map[string]*job{}, byID: map[string]*job{}}
}

var (
	errJobTableFull = errors.New("job table full of running jobs")
	errJobMismatch  = errors.New("Idempotency-Key reused with a different request")
)

// get returns the job of key, creating it for chunks if it is new.
func (t *jobTable) get(key string, chunks int) (*job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.byKey[key]; ok {
		if j.chunks != chunks {
			return nil, fmt.Errorf("%w: key %q is a job of %d chunks, not %d", errJobMismatch, key, j.chunks, chunks)
		}
		return j, nil
	}
	if len(t.order) >= t.max && !t.evictLocked() {
		return nil, errJobTableFull
	}
	t.nextID++
	j := &job{id: "job-" + strconv.FormatUint(t.nextID, 10), key: key, chunks: chunks, run: make(chan struct{}, 1)}
	t.byKey[key], t.byID[j.id] = j, j
	t.order = append(t.order, j)
	return j, nil
}

// evictLocked drops the oldest job nobody is running.
func (t *jobTable) evictLocked() bool {
	for i, j := range t.order {
		select {
		case j.run <- struct{}{}:
			<-j.run
		default:
			continue // running
		}
		delete(t.byKey, j.key)
		delete(t.byID, j.id)
		t.order = append(t.order[:i], t.order[i+1:]...)
		return true
	}
	return false
}

func (t *jobTable) byIDGet(id string) *job {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// jobRequest is the body of POST /api/jobs.
type jobRequest struct {
	Chunks int `json:"chunks"`
}

// postJob is POST /api/jobs with an Idempotency-Key: it runs the job's
// remaining chunks and answers its status when all are done. With
// checkpoints on, a retry with the same key resumes after the last finished
// chunk; off, it starts over. The attempt stops at the first chunk boundary
// after its context ends (the client left or a deadline passed).
func (c *chain) postJob(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || len(key) > maxIdempotencyKey {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("Idempotency-Key header: want 1..%d bytes", maxIdempotencyKey))
		return
	}
	var req jobRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJobBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "body: malformed JSON, want {\"chunks\": N}: "+err.Error())
		return
	}
	if req.Chunks < 1 || req.Chunks > c.cfg.Jobs.MaxChunks {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("chunks: %d, want 1..%d (the maximum)", req.Chunks, c.cfg.Jobs.MaxChunks))
		return
	}
	j, err := c.s.jobs.get(key, req.Chunks)
	switch {
	case errors.Is(err, errJobMismatch):
		httpError(w, http.StatusUnprocessableEntity, err.Error())
		return
	case err != nil:
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	ctx := r.Context()
	select {
	case j.run <- struct{}{}:
	case <-ctx.Done():
		httpError(w, http.StatusGatewayTimeout, "request ended while an earlier attempt of the job was stopping")
		return
	}
	defer func() { <-j.run }()

	j.mu.Lock()
	j.attempts++
	if !c.cfg.Jobs.Checkpoint {
		j.done = 0
	}
	j.mu.Unlock()
	for {
		j.mu.Lock()
		finished := j.done == j.chunks
		j.mu.Unlock()
		if finished {
			break
		}
		if err := runChunk(ctx, time.Duration(c.cfg.Jobs.ChunkTime)); err != nil {
			httpError(w, http.StatusGatewayTimeout, "job stopped after its checkpoint: "+err.Error())
			return
		}
		j.mu.Lock()
		j.done++
		j.executed++
		j.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, j.status())
}

// runChunk works one chunk for d; a chunk whose context ends first is lost.
func runChunk(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// getJob is GET /api/jobs/{id}.
func (c *chain) getJob(w http.ResponseWriter, r *http.Request) {
	j := c.s.jobs.byIDGet(r.PathValue("id"))
	if j == nil {
		httpError(w, http.StatusNotFound, "unknown job "+strconv.Quote(r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, j.status())
}
