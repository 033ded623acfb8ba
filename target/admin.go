package target

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"

	"github.com/goodput-dev/goodput/target/dep"
)

// maxAdminBody bounds the body of an admin PUT.
const maxAdminBody = 1 << 20

// AdminHandler returns the admin routes: /admin/config, /admin/deps,
// /admin/backlog (GET, and PUT or PATCH of the message queues' settings,
// target/backlog's Config: a missing field keeps its value),
// /admin/leases, /metrics and /debug/pprof. When the configuration has an
// AdminToken, every call needs "Authorization: Bearer <token>".
//
// Leases. A change (PUT /admin/deps/{name}, PUT /admin/config, PUT or
// PATCH /admin/backlog) that carries the header "X-Lease: D" (a Go
// duration, 1ms..1h) is leased: unless it is renewed within D, the target
// rolls it back itself, so a fault injector that dies (kill -9) does not
// leave the target degraded. Each of the resources "deps/db",
// "deps/search", "config" and "backlog" has at most one lease:
//
//   - The first leased change saves the resource's state before it (the
//     baseline) and starts the lease; the answer carries
//     "X-Lease-Expires: <RFC 3339 time>".
//   - The same call again with X-Lease before expiry renews the lease to
//     D from now (and applies its body; "{}" changes nothing). The
//     baseline stays the one from before the first leased change.
//   - At expiry the resource is put back to its baseline (and the target
//     logs it). For "config", the dependencies and message queues in it
//     are restored only if the leased change changed them and nothing has
//     since (they have leases of their own).
//   - A successful change without X-Lease ends the resource's lease
//     without a rollback: the caller took the resource over (a fault's
//     own restore is such a change).
//   - A refused change (4xx) changes neither the resource nor its lease;
//     a malformed X-Lease is 400.
//
// GET /admin/leases answers the live leases: {"deps/db": {"expires":
// "<RFC 3339>", "remaining": "1.5s"}}.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/deps", s.adminListDeps)
	mux.HandleFunc("GET /admin/deps/{name}", s.adminGetDep)
	mux.Handle("PUT /admin/deps/{name}", s.leased(func(r *http.Request) string { return "deps/" + r.PathValue("name") },
		s.depLease, http.HandlerFunc(s.adminPutDep)))
	mux.HandleFunc("GET /admin/leases", s.adminLeases)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /admin/config", s.adminGetConfig)
	mux.Handle("PUT /admin/config", s.leased(func(*http.Request) string { return "config" },
		s.configLease, http.HandlerFunc(s.adminPutConfig)))
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("/admin/backlog", s.leased(func(r *http.Request) string {
		if r.Method == http.MethodPut || r.Method == http.MethodPatch {
			return "backlog"
		}
		return ""
	}, s.backlogLease, s.messages.AdminHandler()))
	mux.HandleFunc("GET /admin/serverless", s.adminGetServerless)
	mux.HandleFunc("PUT /admin/serverless", s.adminPutServerless)
	token := s.chain.Load().cfg.AdminToken
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="goodput target admin"`)
			httpError(w, http.StatusUnauthorized, "admin calls need Authorization: Bearer <admin token>")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// deps returns the dependencies by name, in a stable order.
func (s *Server) deps() []*dep.Dep { return []*dep.Dep{s.db, s.search} }

func (s *Server) dep(name string) *dep.Dep {
	for _, d := range s.deps() {
		if d.Name() == name {
			return d
		}
	}
	return nil
}

// depView is the JSON answer of GET /admin/deps/{name}.
type depView struct {
	Config dep.Config `json:"config"`
	Stats  dep.Stats  `json:"stats"`
}

func (s *Server) adminListDeps(w http.ResponseWriter, _ *http.Request) {
	out := map[string]depView{}
	for _, d := range s.deps() {
		out[d.Name()] = depView{d.Config(), d.Stats()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) adminGetDep(w http.ResponseWriter, r *http.Request) {
	d := s.dep(r.PathValue("name"))
	if d == nil {
		s.unknownDep(w, r.PathValue("name"))
		return
	}
	writeJSON(w, http.StatusOK, depView{d.Config(), d.Stats()})
}

// adminPutDep applies a partial dep.Config: fields missing from the body
// keep their current value.
func (s *Server) adminPutDep(w http.ResponseWriter, r *http.Request) {
	d := s.dep(r.PathValue("name"))
	if d == nil {
		s.unknownDep(w, r.PathValue("name"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "body: "+err.Error())
		return
	}
	cfg, err := d.Patch(body)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.logger.Info("dependency reconfigured", "dep", d.Name(), "config", cfg)
	writeJSON(w, http.StatusOK, depView{cfg, d.Stats()})
}

func (s *Server) unknownDep(w http.ResponseWriter, name string) {
	var names []string
	for _, d := range s.deps() {
		names = append(names, d.Name())
	}
	slices.Sort(names)
	httpError(w, http.StatusNotFound, "unknown dependency "+name+", known: "+strings.Join(names, ", "))
}

// adminGetConfig answers the configuration in force, without the admin
// token.
func (s *Server) adminGetConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Config())
}

// adminPutConfig applies a partial configuration (JSON, the field names of
// GET /admin/config; missing fields keep their value) atomically.
func (s *Server) adminPutConfig(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "body: "+err.Error())
		return
	}
	cfg := s.live()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		httpError(w, http.StatusBadRequest, "config: "+err.Error())
		return
	}
	if dec.More() {
		httpError(w, http.StatusBadRequest, "config: trailing data after the JSON object")
		return
	}
	cfg.DB.Latency, cfg.Search.Latency = cfg.DB.Latency.Normalized(), cfg.Search.Latency.Normalized()
	if err := s.Apply(cfg); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.Config())
}
