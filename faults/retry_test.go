package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRetryValidate(t *testing.T) {
	assert.NoError(t, Retry{Policy: "retry-3x"}.Validate())
	assert.Equal(t, "policy", fieldOf(t, Retry{}.Validate()))
}
