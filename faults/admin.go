package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/goodput-dev/goodput/target/dep"
)

// AdminClient calls the reference target's admin API: GET /admin/deps and
// PUT /admin/deps/{name}. It is safe for concurrent use; its fields must
// not change once it is in use.
type AdminClient struct {
	// BaseURL is the admin listener's URL, e.g. "http://127.0.0.1:8081".
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

// depView is one dependency in the admin API's answers.
type depView struct {
	Config dep.Config `json:"config"`
}

// Deps returns every dependency's configuration in force, by name.
func (c *AdminClient) Deps(ctx context.Context) (map[string]dep.Config, error) {
	var views map[string]depView
	if err := c.do(ctx, http.MethodGet, "/admin/deps", nil, &views); err != nil {
		return nil, err
	}
	out := make(map[string]dep.Config, len(views))
	for name, v := range views {
		out[name] = v.Config
	}
	return out, nil
}

// Dep returns one dependency's configuration in force.
func (c *AdminClient) Dep(ctx context.Context, name string) (dep.Config, error) {
	var v depView
	err := c.do(ctx, http.MethodGet, "/admin/deps/"+name, nil, &v)
	return v.Config, err
}

// PutDep sets every field of the dependency's configuration to cfg (fields
// that cfg leaves at zero are sent explicitly, so they do not keep their
// old values) and returns the configuration now in force.
func (c *AdminClient) PutDep(ctx context.Context, name string, cfg dep.Config) (dep.Config, error) {
	body, err := json.Marshal(fullDepBody(cfg))
	if err != nil {
		return dep.Config{}, fmt.Errorf("encode dependency %s: %w", name, err)
	}
	var v depView
	err = c.do(ctx, http.MethodPut, "/admin/deps/"+name, body, &v)
	return v.Config, err
}

// Admission returns the "admission" section of the target's configuration
// (GET /admin/config): its concurrency limiter, as a JSON object.
func (c *AdminClient) Admission(ctx context.Context) (map[string]any, error) {
	var cfg struct {
		Admission map[string]any `json:"admission"`
	}
	if err := c.do(ctx, http.MethodGet, "/admin/config", nil, &cfg); err != nil {
		return nil, err
	}
	if cfg.Admission == nil {
		return nil, errors.New("GET /admin/config: no admission section in the answer")
	}
	return cfg.Admission, nil
}

// PutAdmission sets the given fields of the target's admission section
// (PUT /admin/config; fields left out keep their value).
func (c *AdminClient) PutAdmission(ctx context.Context, fields map[string]any) error {
	body, err := json.Marshal(map[string]any{"admission": fields})
	if err != nil {
		return fmt.Errorf("encode admission: %w", err)
	}
	return c.do(ctx, http.MethodPut, "/admin/config", body, nil)
}

// limitFields are the admission fields a concurrency fault changes; they
// are always sent explicitly so a restore clears what the fault set.
var limitFields = []string{"limiter", "limit", "min_limit", "max_limit"}

// withLimit returns the admission fields that cap concurrency at n: a
// static limiter at n when there was none, else the same limiter with
// its limit (and bounds) at n.
func withLimit(base map[string]any, n int) map[string]any {
	out := restoreLimit(base)
	limiter, _ := base["limiter"].(string)
	if limiter == "" || limiter == "none" {
		out["limiter"] = "static"
	}
	out["limit"] = n
	if limiter == "aimd" || limiter == "gradient" {
		out["max_limit"] = n
		if lo, _ := base["min_limit"].(float64); lo == 0 || int(lo) > n {
			out["min_limit"] = n
		}
	}
	return out
}

// restoreLimit returns base's limit fields, with zero values for those
// absent.
func restoreLimit(base map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range limitFields {
		v, ok := base[f]
		switch {
		case ok:
			out[f] = v
		case f == "limiter":
			out[f] = "none"
		default:
			out[f] = 0
		}
	}
	return out
}

// fullDepBody is cfg as a PUT body with every field present.
func fullDepBody(c dep.Config) map[string]any {
	return map[string]any{
		"pool": c.Pool,
		"latency": map[string]any{
			"dist": c.Latency.Dist, "p50": c.Latency.P50, "p99": c.Latency.P99,
			"min": c.Latency.Min, "max": c.Latency.Max,
		},
		"add_latency":        c.AddLatency,
		"add_jitter":         c.AddJitter,
		"latency_multiplier": c.LatencyMultiplier,
		"error_rate":         c.ErrorRate,
		"error_status":       c.ErrorStatus,
		"stall":              c.Stall,
		"stop_on_cancel":     c.StopOnCancel,
		"url":                c.URL,
	}
}

func (c *AdminClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	return apiCall{hc: c.HTTP, base: c.BaseURL, token: c.Token, method: method, path: path, body: body, out: out}.do(ctx)
}

// TargetInjector applies DepFault entries to the reference target's
// dependencies through its admin API, and Capacity{Concurrency} on
// TargetService to its admission limit. It snapshots every dependency's
// configuration and the admission section (Snapshot), then for each change
// PUTs the snapshot with every active fault of that dependency patched in,
// in the order they were applied, so removing one fault leaves the others
// in place; Restore PUTs the snapshot back. A concurrency fault on a
// target without a limiter installs a static limiter for its window.
//
// A TargetInjector is safe for concurrent use. The zero value is not
// usable: set Admin.
type TargetInjector struct {
	Admin *AdminClient

	mu        sync.Mutex
	base      map[string]dep.Config // nil until Snapshot
	admission map[string]any        // the admission section at Snapshot
	active    map[string][]Entry
	touched   []string // dependencies (and TargetService) changed since the snapshot, in order
}

var (
	_ Injector    = (*TargetInjector)(nil)
	_ Snapshotter = (*TargetInjector)(nil)
	_ Checker     = (*TargetInjector)(nil)
)

// Snapshot records every dependency's configuration in force (GET
// /admin/deps) and the target's admission section (GET /admin/config) as
// the state to restore.
func (t *TargetInjector) Snapshot(ctx context.Context) error {
	deps, err := t.Admin.Deps(ctx)
	if err != nil {
		return fmt.Errorf("snapshot the target's dependencies: %w", err)
	}
	adm, err := t.Admin.Admission(ctx)
	if err != nil {
		return fmt.Errorf("snapshot the target's admission limit: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.base = deps
	t.admission = adm
	t.active = map[string][]Entry{}
	t.touched = nil
	return nil
}

// Check refuses an entry whose dependency the target does not have
// (field "target") or whose kind cannot act on a dependency (field
// "kind"), or that asks for what a dependency cannot do: a probability
// below 1 except for abort and reset, a route/method/header scope, a
// response delay. It needs a Snapshot first.
func (t *TargetInjector) Check(e Entry) error {
	t.mu.Lock()
	base := t.base
	t.mu.Unlock()
	if base == nil {
		return fmt.Errorf("check %s: no snapshot of the target's dependencies yet", e.Name)
	}
	if e.Target == TargetService {
		return nil // Timeline.Validate allows only capacity with concurrency there
	}
	if _, ok := base[e.Target]; !ok {
		names := slices.Sorted(maps.Keys(base))
		return fieldErr("target", "%q is not a dependency of the target (it has %s), a proxy or %q", e.Target, strings.Join(names, ", "), TargetLoad)
	}
	df, ok := e.Fault.(DepFault)
	if !ok {
		return fieldErr("kind", "%s cannot act on a dependency (it can: delay, latency, abort, reset, stall, capacity)", e.Fault.Kind())
	}
	switch f := df.(type) {
	case Abort, Reset:
	case Delay:
		if f.Response {
			return fieldErr("response", "a dependency has no separate response delay; drop response or use a proxy")
		}
		if e.probability() != 1 {
			return fieldErr("probability", "%v: a dependency's %s acts on every call, use a proxy for a per-request probability", e.Probability, f.Kind())
		}
	case Capacity:
		if f.Pool == 0 {
			return fieldErr("pool", "not set, want the dependency's pool size during the fault")
		}
	default:
		if e.probability() != 1 {
			return fieldErr("probability", "%v: a dependency's %s acts on every call, use a proxy for a per-request probability", e.Probability, f.Kind())
		}
	}
	if !e.Scope.IsZero() {
		field := "route"
		switch {
		case e.Scope.Route != "":
		case e.Scope.Method != "":
			field = "method"
		default:
			field = "header"
		}
		return fieldErr(field, "a dependency fault acts on every call; route, method and header scopes need a proxy")
	}
	return nil
}

// Apply patches e into its dependency's configuration.
func (t *TargetInjector) Apply(ctx context.Context, e Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := append(slices.Clone(t.active[e.Target]), e)
	if err := t.putLocked(ctx, e.Target, active); err != nil {
		return err
	}
	t.active[e.Target] = active
	return nil
}

// Remove takes e out of its dependency's configuration, keeping the other
// active faults.
func (t *TargetInjector) Remove(ctx context.Context, e Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := slices.DeleteFunc(slices.Clone(t.active[e.Target]), func(a Entry) bool { return a.Name == e.Name })
	if err := t.putLocked(ctx, e.Target, active); err != nil {
		return err
	}
	t.active[e.Target] = active
	return nil
}

func (t *TargetInjector) putLocked(ctx context.Context, name string, active []Entry) error {
	if !slices.Contains(t.touched, name) {
		t.touched = append(t.touched, name)
	}
	if name == TargetService {
		fields := restoreLimit(t.admission)
		for _, a := range active {
			fields = withLimit(t.admission, a.Fault.(Capacity).Concurrency)
		}
		if err := t.Admin.PutAdmission(ctx, fields); err != nil {
			return fmt.Errorf("admission limit: %w", err)
		}
		return nil
	}
	base, ok := t.base[name]
	if !ok {
		return fmt.Errorf("dependency %s: not in the snapshot", name)
	}
	cfg := base
	for _, a := range active {
		a.Fault.(DepFault).PatchDep(&cfg, a.probability())
	}
	if _, err := t.Admin.PutDep(ctx, name, cfg); err != nil {
		return fmt.Errorf("dependency %s: %w", name, err)
	}
	return nil
}

// Restore PUTs the snapshot back on every dependency changed since it was
// taken, and reports the ones that failed.
func (t *TargetInjector) Restore(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var left []string
	var errs []error
	for _, name := range t.touched {
		var err error
		if name == TargetService {
			if err = t.Admin.PutAdmission(ctx, restoreLimit(t.admission)); err != nil {
				err = fmt.Errorf("restore the target's admission limit: %w", err)
			}
		} else if _, err = t.Admin.PutDep(ctx, name, t.base[name]); err != nil {
			err = fmt.Errorf("restore dependency %s: %w", name, err)
		}
		if err != nil {
			left = append(left, name)
			errs = append(errs, err)
			continue
		}
		delete(t.active, name)
	}
	t.touched = left
	if len(errs) > 0 {
		what := make([]string, len(left))
		for i, name := range left {
			what[i] = "settings of dependency " + name
			if name == TargetService {
				what[i] = "the target's admission limit"
			}
		}
		return &leftError{left: what, err: errors.Join(errs...)}
	}
	return nil
}
