package targetadmin

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/target/dep"
)

// refTarget is the real reference target, served in-process on loopback.
type refTarget struct {
	admin *Client
}

// startTarget starts the reference target (preset unprotected) with the
// given admin token; it stops when the test ends.
func startTarget(t *testing.T, token string) *refTarget {
	t.Helper()
	cfg, err := target.Preset(target.PresetUnprotected)
	require.NoError(t, err)
	cfg.AdminToken = token
	cfg.DrainTimeout = dist.Duration(time.Second)
	srv, err := target.New(cfg)
	require.NoError(t, err)
	_, admin, _ := e2e.Serve(t, srv)
	return &refTarget{admin: &Client{BaseURL: admin, Token: token}}
}

// jsonNames returns the JSON names of t's fields.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// The admin API's body is the target's dep.Config: DepConfig, its client
// side, must read and write the same fields, or a restore would lose one.
func TestDepConfigIsTheTargetsWireForm(t *testing.T) {
	assert.Equal(t, jsonNames(reflect.TypeFor[dep.Config]()), jsonNames(reflect.TypeFor[DepConfig]()))
	for f := range reflect.TypeFor[dep.Config]().Fields() {
		g, ok := reflect.TypeFor[DepConfig]().FieldByName(f.Name)
		if assert.True(t, ok, f.Name) {
			assert.Equal(t, f.Type, g.Type, f.Name)
			assert.Equal(t, f.Tag, g.Tag, f.Name)
		}
	}
}

func TestFullDepBodyNamesEveryField(t *testing.T) {
	// A field missing from the PUT body would keep the faulty value on
	// restore: the body must carry every field of DepConfig.
	body := fullDepBody(DepConfig{})
	for f := range reflect.TypeFor[DepConfig]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		assert.Contains(t, body, name)
	}
	lat := body["latency"].(map[string]any)
	for f := range reflect.TypeFor[dist.Latency]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		assert.Contains(t, lat, name)
	}
}

func TestAdminClientAgainstTheTarget(t *testing.T) {
	tg := startTarget(t, "s3cret")
	ctx := t.Context()
	deps, err := tg.admin.Deps(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"db", "search"}, slices.Sorted(maps.Keys(deps)))

	cfg := deps["db"]
	cfg.AddLatency = dist.Duration(50 * time.Millisecond)
	cfg.Stall = true
	got, err := tg.admin.PutDep(ctx, "db", cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg, got)

	// Zero values are sent, not skipped: putting the old config back
	// clears the fault.
	got, err = tg.admin.PutDep(ctx, "db", deps["db"])
	require.NoError(t, err)
	assert.Equal(t, deps["db"], got)
	one, err := tg.admin.Dep(ctx, "db")
	require.NoError(t, err)
	assert.Equal(t, deps["db"], one)

	bad := &Client{BaseURL: tg.admin.BaseURL, Token: "wrong"}
	_, err = bad.Deps(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
}
