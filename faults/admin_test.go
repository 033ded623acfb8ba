package faults

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/target/dep"
)

// refTarget is the real reference target, served in-process on loopback.
type refTarget struct {
	admin *AdminClient
	stop  func() // stops the target and waits for it
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
	_, admin, stop := e2e.Serve(t, srv)
	return &refTarget{admin: &AdminClient{BaseURL: admin, Token: token}, stop: stop}
}

func TestFullDepBodyNamesEveryField(t *testing.T) {
	// A field missing from the PUT body would keep the faulty value on
	// restore: the body must carry every field of dep.Config.
	body := fullDepBody(dep.Config{})
	for f := range reflect.TypeFor[dep.Config]().Fields() {
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

	bad := &AdminClient{BaseURL: tg.admin.BaseURL, Token: "wrong"}
	_, err = bad.Deps(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
}
