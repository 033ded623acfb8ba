package faults

import (
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

func TestLatencyValidate(t *testing.T) {
	good := &dist.Latency{Dist: "fixed", P50: dist.Duration(time.Second)}
	for _, tc := range []struct {
		l         Latency
		wantField string
	}{
		{Latency{Multiplier: 3}, ""},
		{Latency{Distribution: good}, ""},
		{Latency{}, "multiplier"},
		{Latency{Multiplier: -2}, "multiplier"},
		{Latency{Distribution: &dist.Latency{Dist: "weird"}}, "distribution"},
	} {
		err := tc.l.Validate()
		if tc.wantField == "" {
			assert.NoError(t, err, "%+v", tc.l)
			continue
		}
		assert.Equal(t, tc.wantField, fieldOf(t, err), "%+v", tc.l)
	}
}

func TestLatencyPatchDep(t *testing.T) {
	slow := dist.Latency{Dist: "fixed", P50: dist.Duration(2 * time.Second)}
	c := targetadmin.DepConfig{Pool: 4, Latency: dist.Latency{Dist: "fixed", P50: dist.Duration(10 * time.Millisecond)}}
	Latency{Distribution: &slow}.PatchDep(&c, 1)
	assert.Equal(t, slow, c.Latency, "the distribution is replaced")
	assert.Zero(t, c.LatencyMultiplier, "a replacement alone leaves the multiplier")

	Latency{Multiplier: 3}.PatchDep(&c, 1)
	assert.Equal(t, 3.0, c.LatencyMultiplier, "unset multiplier is read as 1")
	Latency{Multiplier: 2}.PatchDep(&c, 1)
	assert.Equal(t, 6.0, c.LatencyMultiplier, "multipliers compound")
}
