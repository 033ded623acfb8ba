package target

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/goodput-dev/goodput/target/dep"
)

// routes builds the API mux wrapped in the per-request middleware.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /api/items/{id}", s.getItem)
	return s.observe(mux)
}

// observe is the outermost middleware: it starts the request's timing and
// adds Server-Timing to the response.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := &timing{start: time.Now()}
		tw := &timingWriter{ResponseWriter: w, t: t}
		next.ServeHTTP(tw, r.WithContext(withTiming(r.Context(), t)))
		if !tw.written {
			tw.WriteHeader(http.StatusOK)
		}
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// item is one element of the collection.
type item struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		httpError(w, http.StatusBadRequest, "id: want a non-negative integer, got "+strconv.Quote(r.PathValue("id")))
		return
	}
	if !s.callDep(w, r, s.db) {
		return
	}
	writeJSON(w, http.StatusOK, item{ID: id, Name: "item-" + strconv.FormatUint(id, 10)})
}

// callDep calls d with the request's context, records its timing and, when
// it fails, writes the error answer and returns false.
func (s *Server) callDep(w http.ResponseWriter, r *http.Request, d *dep.Dep) bool {
	t, err := d.Call(r.Context())
	tm := timingFrom(r.Context())
	tm.addQueue(t.Wait)
	tm.addDep(d.Name(), t.Service)
	if err == nil {
		return true
	}
	if r.Context().Err() != nil {
		httpError(w, http.StatusGatewayTimeout, "request ended before "+d.Name()+" answered")
	} else {
		httpError(w, http.StatusBadGateway, err.Error())
	}
	return false
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
