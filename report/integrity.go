package report

import (
	"fmt"

	"github.com/goodput-dev/goodput/results"
)

// integrity is what an Aggregator learned of its streams' integrity.
type integrity struct {
	incomplete int // streams read that were not complete
	damaged    int // damaged blocks, over every stream
}

// AddIntegrity records whether a stream read into a was complete and
// undamaged (see results.Integrity); when it was not, the summary says
// "complete": false and warns, naming source. ReadInto calls it at the end
// of every stream.
func (a *Aggregator) AddIntegrity(source string, in results.Integrity) {
	if in.Complete {
		return
	}
	a.integ.incomplete++
	a.integ.damaged += in.DamagedBlocks
	if err := in.Err(); err != nil {
		a.Warn(fmt.Sprintf("%s: %v", source, err))
	}
}

// fill sets the summary's integrity keys.
func (in integrity) fill(s *Summary) {
	s.Complete = in.incomplete == 0
	s.DamagedBlocks = in.damaged
}
