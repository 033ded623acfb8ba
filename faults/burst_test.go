package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBurstValidate(t *testing.T) {
	assert.NoError(t, Burst{Requests: 500}.Validate())
	assert.Equal(t, "requests", fieldOf(t, Burst{}.Validate()))
	assert.True(t, isInstant(Burst{Requests: 1}))
	assert.False(t, isInstant(Surge{Multiplier: 2}))
}
