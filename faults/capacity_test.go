package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

func TestCapacityValidate(t *testing.T) {
	for _, tc := range []struct {
		c         Capacity
		wantField string
	}{
		{Capacity{Pool: 2}, ""},
		{Capacity{Concurrency: 16}, ""},
		{Capacity{}, "pool"},
		{Capacity{Pool: -1}, "pool"},
		{Capacity{Concurrency: -1}, "concurrency"},
		{Capacity{Pool: 2, Concurrency: 3}, "concurrency"},
	} {
		err := tc.c.Validate()
		if tc.wantField == "" {
			assert.NoError(t, err, "%+v", tc.c)
			continue
		}
		assert.Equal(t, tc.wantField, fieldOf(t, err), "%+v", tc.c)
	}
}

func TestCapacityPatchDepShrinksThePool(t *testing.T) {
	c := targetadmin.DepConfig{Pool: 8}
	Capacity{Pool: 2}.PatchDep(&c, 1)
	assert.Equal(t, 2, c.Pool)
}
