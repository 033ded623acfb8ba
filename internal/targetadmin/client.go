package targetadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/internal/jsonapi"
)

// Client calls the reference target's admin API. It is safe for concurrent
// use; its fields must not change once it is in use. A call the target
// refuses returns an *APIError.
type Client struct {
	// BaseURL is the admin listener's URL, e.g. "http://127.0.0.1:8081".
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// TokenFrom names where Token came from (e.g.
	// "$LOADGEN_TARGET_ADMIN_TOKEN") or, when Token is empty, where a
	// token can be given; a call answered 401 Unauthorized says so in its
	// error. Empty: the error is the plain *APIError.
	TokenFrom string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

// APIError is an admin call that the target answered with an error
// status: it refused the call and changed nothing.
type APIError = jsonapi.Error

// DepConfig is one simulated dependency's settings as the admin API reads
// and writes them (the body of PUT /admin/deps/{name}; the target's
// dep.Config, whose docs give each field's meaning). It is a plain value.
type DepConfig struct {
	// Pool is the number of calls served at once.
	Pool int `json:"pool"`
	// Latency is the distribution of one call's service time.
	Latency dist.Latency `json:"latency"`
	// AddLatency and AddJitter are added to every call: AddLatency +
	// U(0, AddJitter).
	AddLatency dist.Duration `json:"add_latency,omitempty"`
	AddJitter  dist.Duration `json:"add_jitter,omitempty"`
	// LatencyMultiplier scales the sampled latency (0 is read as 1).
	LatencyMultiplier float64 `json:"latency_multiplier,omitempty"`
	// ErrorRate is the probability in [0, 1] that a call fails with
	// ErrorStatus (a connection reset when 0).
	ErrorRate   float64 `json:"error_rate,omitempty"`
	ErrorStatus int     `json:"error_status,omitempty"`
	// Stall makes every call hang until lifted.
	Stall bool `json:"stall,omitempty"`
	// StopOnCancel says whether a call stops when its caller leaves.
	StopOnCancel bool `json:"stop_on_cancel"`
	// URL, when set, makes the dependency a real HTTP service.
	URL string `json:"url,omitempty"`
}

// depView is one dependency in the admin API's answers.
type depView struct {
	Config DepConfig `json:"config"`
}

// Deps returns every dependency's configuration in force, by name.
func (c *Client) Deps(ctx context.Context) (map[string]DepConfig, error) {
	var views map[string]depView
	if err := c.do(ctx, http.MethodGet, "/admin/deps", nil, nil, &views); err != nil {
		return nil, err
	}
	out := make(map[string]DepConfig, len(views))
	for name, v := range views {
		out[name] = v.Config
	}
	return out, nil
}

// Dep returns one dependency's configuration in force.
func (c *Client) Dep(ctx context.Context, name string) (DepConfig, error) {
	var v depView
	err := c.do(ctx, http.MethodGet, "/admin/deps/"+name, nil, nil, &v)
	return v.Config, err
}

// PutDep sets every field of the dependency's configuration to cfg (fields
// that cfg leaves at zero are sent explicitly, so they do not keep their
// old values) and returns the configuration now in force. It ends the
// dependency's lease, if it had one, without a rollback.
func (c *Client) PutDep(ctx context.Context, name string, cfg DepConfig) (DepConfig, error) {
	return c.putDep(ctx, name, cfg, 0)
}

// LeaseDep is PutDep under a lease of length d (see the package doc):
// unless the same call comes again within d, the target puts the
// dependency back as it was before the lease's first call.
func (c *Client) LeaseDep(ctx context.Context, name string, cfg DepConfig, d time.Duration) (DepConfig, error) {
	return c.putDep(ctx, name, cfg, d)
}

func (c *Client) putDep(ctx context.Context, name string, cfg DepConfig, lease time.Duration) (DepConfig, error) {
	body, err := json.Marshal(fullDepBody(cfg))
	if err != nil {
		return DepConfig{}, fmt.Errorf("encode dependency %s: %w", name, err)
	}
	var v depView
	err = c.do(ctx, http.MethodPut, "/admin/deps/"+name, leaseHeader(lease), body, &v)
	return v.Config, err
}

// fullDepBody is cfg as a PUT body with every field present.
func fullDepBody(c DepConfig) map[string]any {
	return map[string]any{
		"pool": c.Pool,
		"latency": map[string]any{
			"dist": c.Latency.Dist, "p50": c.Latency.P50, "p99": c.Latency.P99,
			"min": c.Latency.Min, "max": c.Latency.Max, "scale": c.Latency.Scale,
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

// Admission returns the "admission" section of the target's configuration
// (GET /admin/config): its concurrency limiter, as a JSON object.
func (c *Client) Admission(ctx context.Context) (map[string]any, error) {
	var cfg struct {
		Admission map[string]any `json:"admission"`
	}
	if err := c.do(ctx, http.MethodGet, "/admin/config", nil, nil, &cfg); err != nil {
		return nil, err
	}
	if cfg.Admission == nil {
		return nil, errors.New("GET /admin/config: no admission section in the answer")
	}
	return cfg.Admission, nil
}

// PutAdmission sets the given fields of the target's admission section
// (PUT /admin/config; fields left out keep their value). It ends the
// configuration's lease, if it had one, without a rollback.
func (c *Client) PutAdmission(ctx context.Context, fields map[string]any) error {
	return c.putAdmission(ctx, fields, 0)
}

// LeaseAdmission is PutAdmission under a lease of length d (see the
// package doc): unless the same call comes again within d, the target
// puts its configuration back as it was before the lease's first call.
func (c *Client) LeaseAdmission(ctx context.Context, fields map[string]any, d time.Duration) error {
	return c.putAdmission(ctx, fields, d)
}

func (c *Client) putAdmission(ctx context.Context, fields map[string]any, lease time.Duration) error {
	body, err := json.Marshal(map[string]any{"admission": fields})
	if err != nil {
		return fmt.Errorf("encode admission: %w", err)
	}
	return c.do(ctx, http.MethodPut, "/admin/config", leaseHeader(lease), body, nil)
}

// do makes one call; header holds extra request headers (nil: none).
func (c *Client) do(ctx context.Context, method, path string, header http.Header, body []byte, out any) error {
	err := jsonapi.Call{HTTP: c.HTTP, Base: c.BaseURL, Token: c.Token, Header: header, Method: method, Path: path, Body: body, Out: out}.Do(ctx)
	return c.authHint(err)
}
