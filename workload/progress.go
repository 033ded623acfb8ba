package workload

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Progress prints a live progress line: elapsed/total, offered and achieved
// rate, goodput, the last window's p99, requests in flight and errors. On a
// terminal it redraws one line in place every second; elsewhere it prints
// one line every Every (default 5 s). Not safe for concurrent use; Run it
// once.
type Progress struct {
	W        io.Writer
	Terminal bool          // redraw in place
	Every    time.Duration // period when not a terminal; 0 means 5 s
	Total    time.Duration // schedule length
	Runner   *Runner
	Live     *Live
}

// Run prints until ctx is done, then ends the line on a terminal.
func (p *Progress) Run(ctx context.Context) {
	every := p.Every
	if every <= 0 {
		every = 5 * time.Second
	}
	if p.Terminal {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var prev LiveCounts
	var prevOffered uint64
	var prevAt time.Duration
	for {
		select {
		case <-ctx.Done():
			if p.Terminal {
				fmt.Fprintln(p.W)
			}
			return
		case <-t.C:
		}
		el := p.Runner.Elapsed()
		st := p.Runner.Stats()
		c := p.Live.Snapshot()
		dt := (el - prevAt).Seconds()
		if dt <= 0 {
			continue
		}
		line := fmt.Sprintf("%s/%s  offered %.0f/s  achieved %.0f/s  goodput %.0f/s  p99 %s  in flight %d  errors %d",
			el.Truncate(time.Second), p.Total, float64(st.Offered-prevOffered)/dt, float64(c.Attempts-prev.Attempts)/dt,
			float64(c.Good-prev.Good)/dt, c.WindowP99.Round(time.Microsecond*100), st.InFlight, c.Errors)
		if p.Terminal {
			fmt.Fprintf(p.W, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(p.W, line)
		}
		prev, prevOffered, prevAt = c, st.Offered, el
	}
}
