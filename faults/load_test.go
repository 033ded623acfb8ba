package faults

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// controls stands in for the runner's live controls, writing down each
// call with its (fake) time.
type controls struct {
	start time.Time
	mu    sync.Mutex
	calls []string
}

func (c *controls) note(s string) {
	c.mu.Lock()
	c.calls = append(c.calls, s+" @"+time.Since(c.start).String())
	c.mu.Unlock()
}

func (c *controls) SetRateMultiplier(m float64) { c.note(fmt.Sprintf("rate×%v", m)) }
func (c *controls) Burst(n int)                 { c.note(fmt.Sprintf("burst %d", n)) }
func (c *controls) SwitchRetryPolicy(name string) error {
	c.note(fmt.Sprintf("retry %q", name))
	return nil
}

var (
	_ LoadController = (*controls)(nil)
	_ RetrySwitcher  = (*controls)(nil)
)

func TestLoadFaultsDriveTheRunnerControls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := &controls{start: start}
		tl := &Timeline{Entries: []Entry{
			{Name: "deploy", Target: "load", At: 0, Fault: Retry{Policy: "retry-3x"}}, // until the run ends
			{Name: "surge", Target: "load", At: time.Second, For: 2 * time.Second, Fault: Surge{Multiplier: 3}},
			{Name: "spike", Target: "load", At: 1500 * time.Millisecond, Fault: Burst{Requests: 200}},
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		require.NoError(t, tl.Run(ctx, start, Injectors{Load: &LoadInjector{Load: c, Retry: c}}))
		assert.Equal(t, []string{
			`retry "retry-3x" @0s`,
			"rate×3 @1s",
			"burst 200 @1.5s",
			"rate×1 @3s",
			`retry "" @5s`, // rollback: the run's own policy again
		}, c.calls)
	})
}

func TestLoadInjectorRefusesMissingControls(t *testing.T) {
	tl := &Timeline{Entries: []Entry{
		{Name: "surge", Target: "load", Fault: Surge{Multiplier: 2}},
		{Name: "deploy", Target: "load", Fault: Retry{Policy: "x"}},
	}}
	err := tl.Check(t.Context(), Injectors{Load: &LoadInjector{}})
	require.Error(t, err)
	assert.Equal(t, "faults[0].kind", fieldOf(t, err))
	assert.Contains(t, err.Error(), "faults[1].kind")

	err = tl.Check(t.Context(), Injectors{})
	assert.Equal(t, "faults[0].target", fieldOf(t, err))
}
