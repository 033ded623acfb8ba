package faults

import (
	"context"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

func TestStallPatchDep(t *testing.T) {
	c := targetadmin.DepConfig{Pool: 1}
	Stall{}.PatchDep(&c, 1)
	assert.True(t, c.Stall)
	assert.NoError(t, Stall{}.Validate())
}

func TestStallServeHoldsUntilLiftedThenForwards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		lifted := make(chan struct{})
		time.AfterFunc(3*time.Second, func() { close(lifted) })
		next := &stamp{}
		w := httptest.NewRecorder()
		Stall{}.Serve(w, httptest.NewRequest("GET", "/", nil), next, Env{Lifted: lifted})
		assert.Equal(t, 3*time.Second, next.at.Sub(start), "forwarded when the stall was lifted")
		assert.Equal(t, 418, w.Code)
	})
}

func TestStallServeLetsAClientThatGivesUpGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		next := &stamp{}
		start := time.Now()
		Stall{}.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(ctx), next, Env{Lifted: make(chan struct{})})
		assert.Equal(t, time.Second, time.Since(start))
		assert.True(t, next.at.IsZero(), "never forwarded")
	})
}
