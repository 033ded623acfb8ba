package faults

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counted is a fault kind made for these tests (not in the Registry) that
// counts how often it is validated; its counter is the test's own.
type counted struct{ n *atomic.Int32 }

func (counted) Kind() string { return "counted" }

func (c counted) Validate() error {
	c.n.Add(1)
	return nil
}

// TestTimelineValidatesEachFaultOnce: Run validates each entry once, and
// the harness's path (Validate, then Check before the load, then Play)
// validates it once too.
func TestTimelineValidatesEachFaultOnce(t *testing.T) {
	for _, path := range []string{"run", "validate-check-play"} {
		t.Run(path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				start := time.Now()
				rec := &recorder{start: start}
				tl := &Timeline{Entries: []Entry{{Name: "c", Target: "db", For: time.Second, Fault: counted{&n}}}}
				in := Injectors{Target: rec}
				if path == "run" {
					require.NoError(t, tl.Run(t.Context(), start, in))
				} else {
					require.NoError(t, tl.Validate())
					require.NoError(t, tl.Check(t.Context(), in))
					require.NoError(t, tl.Play(t.Context(), start, in))
				}
				assert.Equal(t, []string{"apply c @0s", "remove c @1s"}, rec.calls(), "the fault was played")
				assert.Equal(t, int32(1), n.Load(), "validations of the fault")
			})
		})
	}
}

// TestSpecToTimelineValidatesOnce: a Spec converted (Entry) and put on a
// timeline is validated by the timeline alone; conversion validates
// nothing (a kind's Validate is the only place that refuses a delay of
// 0, so Entry accepting it shows that it did not call Validate).
func TestSpecToTimelineValidatesOnce(t *testing.T) {
	e, err := Spec{Name: "d", Target: "db", Kind: "delay"}.Entry()
	require.NoError(t, err)
	tl := &Timeline{Entries: []Entry{e}}
	assert.Equal(t, "faults[0].delay", fieldOf(t, tl.Validate()))
}
