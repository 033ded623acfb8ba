package faults

import (
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

func TestResetPatchDepFailsCallsWithoutAStatus(t *testing.T) {
	c := targetadmin.DepConfig{Pool: 1, ErrorStatus: 500}
	Reset{}.PatchDep(&c, 0.5)
	assert.Equal(t, 0.5, c.ErrorRate)
	assert.Zero(t, c.ErrorStatus)
	assert.NoError(t, Reset{}.Validate())
}

func TestResetServeSendsATCPReset(t *testing.T) {
	next := &stamp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Reset{}.Serve(w, r, next, Env{})
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(srv.URL)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ECONNRESET)
	assert.True(t, next.at.IsZero(), "the upstream was not called")
}
