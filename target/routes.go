package target

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/goodput-dev/goodput/target/paginate"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// item is the answer of GET /api/items/{id}.
type item struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

// getItem is GET /api/items/{id}: one read of db.
func (c *chain) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		httpError(w, http.StatusBadRequest, "id: want a non-negative integer, got "+strconv.Quote(r.PathValue("id")))
		return
	}
	if !c.call(w, r, c.s.db) {
		return
	}
	writeJSON(w, http.StatusOK, item{ID: id, Name: "item-" + strconv.FormatUint(id, 10)})
}

// searchResult is the answer of GET /api/search.
type searchResult struct {
	Query string   `json:"q"`
	IDs   []uint64 `json:"ids"`
}

// maxQuery bounds the search query.
const maxQuery = 256

// search is GET /api/search?q=: one call of search.
func (c *chain) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if q == "" || len(q) > maxQuery {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("q: want 1..%d bytes, got %d", maxQuery, len(q)))
		return
	}
	if !c.call(w, r, c.s.search) {
		return
	}
	sum := sha256.Sum256([]byte(q))
	ids := make([]uint64, 3)
	for i := range ids {
		ids[i] = (uint64(sum[2*i])<<8 | uint64(sum[2*i+1])) % c.cfg.List.Items
	}
	writeJSON(w, http.StatusOK, searchResult{Query: q, IDs: ids})
}

// workRequest is the body of POST /api/work.
type workRequest struct {
	// Size is the CPU work asked for, in SHA-256 blocks.
	Size int `json:"size"`
}

// workResult is the answer of POST /api/work.
type workResult struct {
	Size   int    `json:"size"`
	Digest string `json:"digest"`
}

// work is POST /api/work: bounded CPU work. The body is limited (413 above
// work.max_body_bytes, refused before it is read in full), the size too
// (400 above work.max_size, naming the maximum); malformed JSON is 400.
func (c *chain) work(w http.ResponseWriter, r *http.Request) {
	limit := c.cfg.Work.MaxBodyBytes
	if r.ContentLength > limit {
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: %d bytes, the maximum is %d", r.ContentLength, limit))
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	var req workRequest
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than the maximum of %d bytes", limit))
			return
		}
		httpError(w, http.StatusBadRequest, "body: malformed JSON, want {\"size\": N}: "+err.Error())
		return
	}
	if req.Size < 0 || req.Size > c.cfg.Work.MaxSize {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("size: %d, want 0..%d (the maximum)", req.Size, c.cfg.Work.MaxSize))
		return
	}
	ctx := r.Context()
	sum := sha256.Sum256([]byte("goodput"))
	for i := range req.Size {
		if i%1024 == 0 && c.stopped(ctx) {
			httpError(w, http.StatusGatewayTimeout, "work stopped: the client's deadline passed")
			return
		}
		sum = sha256.Sum256(sum[:])
	}
	if t := timingOf(w); t != nil && req.Size > 0 && ctx.Err() != nil {
		t.wasted = true // finished for a client who had gone
	}
	writeJSON(w, http.StatusOK, workResult{Size: req.Size, Digest: hex.EncodeToString(sum[:8])})
}

// listPage is the answer of GET /api/items.
type listPage struct {
	Items         []paginate.Item `json:"items"`
	NextPageToken string          `json:"next_page_token,omitempty"`
	// Partial says the scan budget ran out before the page was full:
	// follow next_page_token for more.
	Partial  bool `json:"partial"`
	Scanned  int  `json:"scanned"`
	PageSize int  `json:"page_size"`
}

// listItems is GET /api/items?page_size=&page_token=&filter=: one page of a
// filtered scan, at most list.scan_budget items examined.
func (c *chain) listItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := c.cfg.List.DefaultPageSize
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			httpError(w, http.StatusBadRequest, "page_size: "+strconv.Quote(v)+", want a positive integer")
			return
		}
		size = min(n, c.cfg.List.MaxPageSize)
	}
	f, err := paginate.ParseFilter(q.Get("filter"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	var from uint64
	if tok := q.Get("page_token"); tok != "" {
		cur, err := c.codec.Decode(tok, time.Now())
		if err != nil {
			httpError(w, http.StatusBadRequest, "page_token: "+err.Error())
			return
		}
		if cur.Filter != f.String() {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("page_token: issued for filter %q, not %q", cur.Filter, f.String()))
			return
		}
		from = cur.Position
	}
	p := c.list.Scan(f, from, size, c.cfg.List.ScanBudget)
	out := listPage{Items: p.Items, Partial: p.Partial, Scanned: p.Scanned, PageSize: size}
	if out.Items == nil {
		out.Items = []paginate.Item{}
	}
	if !p.Done {
		out.NextPageToken = c.codec.Encode(paginate.Cursor{Position: p.Next, Filter: f.String()}, time.Now())
	}
	writeJSON(w, http.StatusOK, out)
}

// httpError writes a one-line JSON error answer.
func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// A write error means the client left; there is nobody to tell.
	_ = json.NewEncoder(w).Encode(v)
}
