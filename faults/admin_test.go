package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/internal/targetadmin"
	"github.com/goodput-dev/goodput/target"
)

// refTarget is the real reference target, served in-process on loopback.
type refTarget struct {
	admin *targetadmin.Client
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
	return &refTarget{admin: &targetadmin.Client{BaseURL: admin, Token: token}, stop: stop}
}
