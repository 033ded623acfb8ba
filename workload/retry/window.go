package retry

import "time"

// windowBuckets is the resolution of sliding windows: a window of W keeps
// windowBuckets buckets of W/windowBuckets and drops whole buckets as time
// passes.
const windowBuckets = 10

// slidingCounts keeps two counts over a sliding window of time. It is not
// safe for concurrent use; its owners lock around it.
type slidingCounts struct {
	width  time.Duration // bucket width
	epochs [windowBuckets]int64
	counts [windowBuckets][2]float64
}

func newSlidingCounts(window time.Duration) slidingCounts {
	w := window / windowBuckets
	if w <= 0 {
		w = 1
	}
	s := slidingCounts{width: w}
	for i := range s.epochs {
		s.epochs[i] = -1 << 62
	}
	return s
}

// add adds v to count i at now.
func (s *slidingCounts) add(now time.Time, i int, v float64) {
	e := now.UnixNano() / int64(s.width)
	b := int(uint64(e) % windowBuckets)
	if s.epochs[b] != e {
		s.epochs[b] = e
		s.counts[b] = [2]float64{}
	}
	s.counts[b][i] += v
}

// sums returns both counts over the window ending at now.
func (s *slidingCounts) sums(now time.Time) (a, b float64) {
	e := now.UnixNano() / int64(s.width)
	for k := range s.epochs {
		if s.epochs[k] > e-windowBuckets && s.epochs[k] <= e {
			a += s.counts[k][0]
			b += s.counts[k][1]
		}
	}
	return a, b
}
