package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/goodput-dev/goodput/internal/jsonapi"
)

// ProxySpec validates s as a fault for a fault proxy's control API: a
// kind that acts on HTTP exchanges (delay, abort, reset, stall, timeout,
// bandwidth), a name a proxy takes (CheckProxyEntry), parameters in their
// ranges (see each kind: delay and jitter ≤ MaxDelay, bytes_per_second
// 1..MaxBytesPerSecond, status 400..599, probability in (0, 1]) and none
// of the timeline's fields (target, at, for: a proxy applies a fault when
// it is added). It is the one check of what a proxy takes, whether the
// fault comes through the control API or a command-line flag. Errors are
// *FieldError values (joined).
func ProxySpec(s Spec) (Entry, error) {
	var errs []error
	if s.Target != "" {
		errs = append(errs, fieldErr("target", "%q: a proxy's fault acts on the proxy; leave target out", s.Target))
	}
	if s.At != 0 || s.For != 0 {
		errs = append(errs, fieldErr("for", "a proxy applies a fault when it is added and keeps it until it is removed; leave at and for out and schedule with a timeline"))
	}
	if s.Name != "" { // an empty one is refused by Entry.Validate
		if err := checkProxyName(s.Name); err != nil {
			errs = append(errs, err)
		}
	}
	s.Target, s.At, s.For = "proxy", 0, 0
	e, err := s.entry()
	if err != nil {
		errs = append(errs, err)
	} else if err := checkProxyKind(e.Fault); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Entry{}, errors.Join(errs...)
	}
	e.Target = ""
	return e, nil
}

// MaxProxyNameLen is the longest name of a fault on a proxy, in bytes.
const MaxProxyNameLen = 64

// CheckProxyEntry refuses what a fault proxy cannot apply: a kind that
// does not act on HTTP exchanges, or a name that is not 1 to
// MaxProxyNameLen ASCII letters, digits, '-', '_' or '.', starting with a
// letter or digit (the name is a path segment of the control API, so it
// must be one as written, and cannot be "." or ".."). It does not repeat
// Entry.Validate. Errors are *FieldError values.
func CheckProxyEntry(e Entry) error {
	return errors.Join(checkProxyKind(e.Fault), checkProxyName(e.Name))
}

// checkProxyKind refuses a fault that does not act on HTTP exchanges.
func checkProxyKind(f Fault) error {
	if _, ok := f.(HTTPFault); ok {
		return nil
	}
	kind := "no kind"
	if f != nil {
		kind = f.Kind()
	}
	return fieldErr("kind", "%s cannot act through a proxy, want %s", kind, KindsOn(OnProxy))
}

// checkProxyName refuses a name a proxy does not take (see
// CheckProxyEntry).
func checkProxyName(name string) error {
	if !validProxyName(name) {
		return fieldErr("name", "%q, want 1 to %d letters, digits, '-', '_' or '.', starting with a letter or digit", name, MaxProxyNameLen)
	}
	return nil
}

// validProxyName reports whether name is a name CheckProxyEntry takes.
func validProxyName(name string) bool {
	if name == "" || len(name) > MaxProxyNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return false
		}
	}
	return true
}

// ProxyClient calls a fault proxy's control API (see package
// faults/proxy): GET /faults, POST /faults, PUT /faults/{name},
// DELETE /faults/{name}, POST /reset. It is safe for concurrent use; its
// fields must not change once it is in use.
type ProxyClient struct {
	// BaseURL is the control listener's URL, e.g. "http://127.0.0.1:9090".
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

// List returns the faults in place, in the order they were added.
func (c *ProxyClient) List(ctx context.Context) ([]Spec, error) {
	var out []Spec
	err := c.do(ctx, http.MethodGet, "/faults", nil, &out)
	return out, err
}

// Add puts a new fault in place; it fails if one of that name exists.
func (c *ProxyClient) Add(ctx context.Context, s Spec) error {
	return c.do(ctx, http.MethodPost, "/faults", s, nil)
}

// Update replaces the fault named s.Name (or adds it).
func (c *ProxyClient) Update(ctx context.Context, s Spec) error {
	return c.do(ctx, http.MethodPut, "/faults/"+url.PathEscape(s.Name), s, nil)
}

// Remove takes the named fault away.
func (c *ProxyClient) Remove(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/faults/"+url.PathEscape(name), nil, nil)
}

// Reset takes every fault away.
func (c *ProxyClient) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/reset", nil, nil)
}

func (c *ProxyClient) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
	}
	return jsonapi.Call{HTTP: c.HTTP, Base: c.BaseURL, Token: c.Token, Method: method, Path: path, Body: body, Out: out}.Do(ctx)
}

// ProxyInjector applies HTTPFault entries through a fault proxy's control
// API: Apply adds the fault under the entry's name, Remove deletes it,
// Restore deletes every fault the injector added that is still there. It
// is safe for concurrent use. The zero value is not usable: set Client.
type ProxyInjector struct {
	Client *ProxyClient

	mu     sync.Mutex
	before []string // names of the faults in place at Snapshot
	added  []string
}

var (
	_ Injector    = (*ProxyInjector)(nil)
	_ Snapshotter = (*ProxyInjector)(nil)
	_ Checker     = (*ProxyInjector)(nil)
)

// Check refuses what a proxy cannot apply (CheckProxyEntry), and a name
// already taken on the proxy at Snapshot by someone else's fault.
func (p *ProxyInjector) Check(e Entry) error {
	if err := CheckProxyEntry(e); err != nil {
		return err
	}
	p.mu.Lock()
	taken := slices.Contains(p.before, e.Name)
	p.mu.Unlock()
	if taken {
		return fieldErr("name", "%q is the name of a fault already in place on proxy %s; rename this one", e.Name, p.Client.BaseURL)
	}
	return nil
}

// Snapshot checks that the proxy answers and records the names of the
// faults already in place (it removes nothing).
func (p *ProxyInjector) Snapshot(ctx context.Context) error {
	list, err := p.Client.List(ctx)
	if err != nil {
		return fmt.Errorf("snapshot proxy %s: %w", p.Client.BaseURL, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.before = p.before[:0]
	for _, s := range list {
		p.before = append(p.before, s.Name)
	}
	p.added = nil
	return nil
}

// Apply adds e to the proxy.
func (p *ProxyInjector) Apply(ctx context.Context, e Entry) error {
	s, err := SpecOf(e)
	if err != nil {
		return err
	}
	s.Target, s.At, s.For = "", 0, 0
	p.mu.Lock()
	defer p.mu.Unlock()
	err = p.Client.Add(ctx, s)
	var refused *APIError
	if errors.As(err, &refused) {
		return err // the proxy refused it: nothing to remove later (a fault of that name may be someone else's)
	}
	if !slices.Contains(p.added, e.Name) {
		p.added = append(p.added, e.Name) // added, or perhaps added (the answer was lost): Restore checks
	}
	return err
}

// Remove deletes e from the proxy.
func (p *ProxyInjector) Remove(ctx context.Context, e Entry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.Client.Remove(ctx, e.Name); err != nil {
		return err
	}
	p.added = slices.DeleteFunc(p.added, func(n string) bool { return n == e.Name })
	return nil
}

// Restore deletes every fault this injector added that is still in place.
func (p *ProxyInjector) Restore(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.added) == 0 {
		return nil
	}
	now, err := p.Client.List(ctx)
	if err != nil {
		return fmt.Errorf("restore proxy %s: %w", p.Client.BaseURL, err)
	}
	var errs []error
	var left []string
	for _, s := range now {
		if !slices.Contains(p.added, s.Name) {
			continue
		}
		if err := p.Client.Remove(ctx, s.Name); err != nil {
			errs = append(errs, fmt.Errorf("restore proxy %s: remove %s: %w", p.Client.BaseURL, s.Name, err))
			left = append(left, fmt.Sprintf("fault %s on proxy %s", s.Name, p.Client.BaseURL))
		}
	}
	if len(errs) > 0 {
		return &leftError{left: left, err: errors.Join(errs...)}
	}
	p.added = nil
	return nil
}
