package faults

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// fieldOf returns the Field of the first *FieldError in err.
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	return fe.Field
}

func TestDelayValidate(t *testing.T) {
	for _, tc := range []struct {
		d         Delay
		wantField string
	}{
		{Delay{Delay: 100 * time.Millisecond}, ""},
		{Delay{Jitter: 10 * time.Millisecond}, ""},
		{Delay{Delay: -1}, "delay"},
		{Delay{Delay: time.Millisecond, Jitter: -1}, "jitter"},
		{Delay{}, "delay"},
	} {
		err := tc.d.Validate()
		if tc.wantField == "" {
			assert.NoError(t, err, "%+v", tc.d)
			continue
		}
		assert.Equal(t, tc.wantField, fieldOf(t, err), "%+v", tc.d)
	}
}

func TestDelayPatchDepAddsToTheDependencysOwn(t *testing.T) {
	c := targetadmin.DepConfig{Pool: 4, AddLatency: dist.Duration(5 * time.Millisecond)}
	Delay{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}.PatchDep(&c, 1)
	assert.Equal(t, dist.Duration(105*time.Millisecond), c.AddLatency)
	assert.Equal(t, dist.Duration(20*time.Millisecond), c.AddJitter)
	assert.Equal(t, 4, c.Pool)
}

// stamp is an upstream handler that records when it was called.
type stamp struct{ at time.Time }

func (s *stamp) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.at = time.Now()
	w.WriteHeader(http.StatusTeapot)
}

func TestDelayServeWaitsDelayPlusJitterBeforeTheUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		next := &stamp{}
		w := httptest.NewRecorder()
		d := Delay{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}
		d.Serve(w, httptest.NewRequest("GET", "/", nil), next, Env{U: 0.5})
		assert.Equal(t, 110*time.Millisecond, next.at.Sub(start))
		assert.Equal(t, http.StatusTeapot, w.Code)
	})
}

func TestDelayServeResponseHoldsTheAnswerNotTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		next := &stamp{}
		w := httptest.NewRecorder()
		Delay{Delay: 50 * time.Millisecond, Response: true}.Serve(w, httptest.NewRequest("GET", "/", nil), next, Env{})
		assert.Equal(t, time.Duration(0), next.at.Sub(start), "the upstream is called at once")
		assert.Equal(t, 50*time.Millisecond, time.Since(start), "the answer is held back")
		assert.Equal(t, http.StatusTeapot, w.Code)
	})
}

func TestDelayServeStopsWhenTheClientLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		ctx, cancel := context.WithTimeout(req.Context(), 30*time.Millisecond)
		defer cancel()
		next := &stamp{}
		start := time.Now()
		Delay{Delay: time.Second}.Serve(httptest.NewRecorder(), req.WithContext(ctx), next, Env{})
		assert.True(t, next.at.IsZero(), "the upstream was not called")
		assert.Equal(t, 30*time.Millisecond, time.Since(start))
	})
}

// TestDelayServeLetsHeldRequestsGoWhenLifted is the regression test of
// issue #19: removing a delay fault released nothing; the requests it
// held waited out the full delay.
func TestDelayServeLetsHeldRequestsGoWhenLifted(t *testing.T) {
	for _, response := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			lifted := make(chan struct{})
			time.AfterFunc(3*time.Second, func() { close(lifted) })
			next := &stamp{}
			w := httptest.NewRecorder()
			Delay{Delay: time.Hour, Response: response}.Serve(w, httptest.NewRequest("GET", "/", nil), next, Env{Lifted: lifted})
			assert.Equal(t, 3*time.Second, time.Since(start), "response %v: answered when the fault was lifted", response)
			assert.Equal(t, http.StatusTeapot, w.Code, "response %v: forwarded, not dropped", response)
			assert.False(t, next.at.IsZero(), "response %v: the upstream was called", response)
		})
	}
}
