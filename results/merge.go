package results

import (
	"fmt"
	"slices"
	"strings"
)

// MergeHeaders returns the header of one stream holding the records of
// streams with headers hs: shards of one run (see SameRun). The result
// keeps the first header's run fields, starts at the earliest start, lists
// every host, and records the shard indexes it holds in Merged. It refuses
// headers of different runs and two streams holding the same shard.
func MergeHeaders(hs []Header) (Header, error) {
	if len(hs) == 0 {
		return Header{}, fmt.Errorf("merge: no results streams")
	}
	m := hs[0]
	m.Merged = nil
	m.Shard.ClockOffset = 0
	owner := map[int]int{} // shard index → position in hs
	var hosts []string
	for i, h := range hs {
		if err := SameRun(hs[0], h); err != nil {
			return Header{}, err
		}
		for _, sh := range h.Shards() {
			if j, dup := owner[sh]; dup {
				return Header{}, fmt.Errorf("merge: %s and %s both hold shard %d of %d: merge combines distinct shards of one run",
					hs[j].Describe(), h.Describe(), sh, max(h.Shard.Count, 1))
			}
			owner[sh] = i
			m.Merged = append(m.Merged, sh)
		}
		if !h.Start.IsZero() && (m.Start.IsZero() || h.Start.Before(m.Start)) {
			m.Start = h.Start
		}
		for _, host := range h.Hosts() {
			if !slices.Contains(hosts, host) {
				hosts = append(hosts, host)
			}
		}
	}
	slices.Sort(m.Merged)
	slices.Sort(hosts)
	m.Host = strings.Join(hosts, ",")
	m.Shard.Index = m.Merged[0]
	return m, nil
}
