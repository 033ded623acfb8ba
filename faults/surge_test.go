package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSurgeValidate(t *testing.T) {
	assert.NoError(t, Surge{Multiplier: 3}.Validate())
	assert.NoError(t, Surge{Multiplier: 0.5}.Validate(), "a dip is a surge below 1")
	assert.Equal(t, "multiplier", fieldOf(t, Surge{}.Validate()))
	assert.Equal(t, "multiplier", fieldOf(t, Surge{Multiplier: -1}.Validate()))
}
