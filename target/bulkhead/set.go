package bulkhead

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Set is a fixed set of named pools, one per dependency or route. It is
// immutable once built, so safe for concurrent use. The zero value is an
// empty set.
type Set struct {
	pools map[string]*Pool
}

// NewSet returns a set of one pool per config; names must be non-empty and
// unique.
func NewSet(cfgs ...Config) (*Set, error) {
	s := &Set{pools: make(map[string]*Pool, len(cfgs))}
	var errs []error
	for _, c := range cfgs {
		if c.Name == "" {
			errs = append(errs, errors.New("bulkhead: name: missing"))
			continue
		}
		if _, dup := s.pools[c.Name]; dup {
			errs = append(errs, fmt.Errorf("bulkhead %q: name: duplicate", c.Name))
			continue
		}
		p, err := New(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.pools[c.Name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Pool returns the pool named name, or nil.
func (s *Set) Pool(name string) *Pool { return s.pools[name] }

// Pools returns the pools, sorted by name (for metrics).
func (s *Set) Pools() []*Pool {
	ps := make([]*Pool, 0, len(s.pools))
	for _, p := range s.pools {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *Pool) int { return strings.Compare(a.Name(), b.Name()) })
	return ps
}

// Middleware returns next behind the pool that key names for each request
// (for example the route pattern); a request whose key names no pool goes
// straight to next. A request routed by an http.ServeMux has its pattern in
// r.Pattern only inside the mux, so either wrap each route's handler, or
// key on something known before routing.
func (s *Set) Middleware(key func(*http.Request) string, next http.Handler) http.Handler {
	wrapped := make(map[string]http.Handler, len(s.pools))
	for name, p := range s.pools {
		wrapped[name] = p.Middleware(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := wrapped[key(r)]; ok {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
