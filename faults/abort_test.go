package faults

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

func TestAbortValidate(t *testing.T) {
	assert.NoError(t, Abort{Status: 503}.Validate())
	assert.NoError(t, Abort{Status: 429}.Validate())
	for _, s := range []int{0, 200, 302, 600} {
		assert.Equal(t, "status", fieldOf(t, Abort{Status: s}.Validate()), "status %d", s)
	}
}

func TestAbortPatchDepSetsRateAndStatus(t *testing.T) {
	c := targetadmin.DepConfig{Pool: 1}
	Abort{Status: 503}.PatchDep(&c, 0.25)
	assert.Equal(t, 0.25, c.ErrorRate)
	assert.Equal(t, 503, c.ErrorStatus)
}

func TestAbortServeAnswersWithoutTheUpstream(t *testing.T) {
	next := &stamp{}
	w := httptest.NewRecorder()
	Abort{Status: http.StatusServiceUnavailable}.Serve(w, httptest.NewRequest("GET", "/", nil), next, Env{})
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "abort", w.Header().Get("X-Fault"))
	assert.True(t, next.at.IsZero(), "the upstream was not called")
}
