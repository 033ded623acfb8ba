package report

import (
	"cmp"
	"slices"
)

// spaceSaving finds the heaviest keys of a stream in bounded memory
// (Metwally et al.'s Space-Saving): counts are exact while fewer than its
// capacity keys have been seen, otherwise overestimates by at most the
// smallest count. Not safe for concurrent use.
type spaceSaving struct {
	index  map[string]int
	keys   []string
	counts []int64
}

// newSpaceSaving returns an empty sketch that tracks capacity keys.
func newSpaceSaving(capacity int) *spaceSaving {
	return &spaceSaving{index: make(map[string]int, capacity), keys: make([]string, 0, capacity), counts: make([]int64, 0, capacity)}
}

// add counts one occurrence of key; when the sketch is full, key takes
// the place (and the count, plus one) of the first lightest key.
func (s *spaceSaving) add(key string) {
	if i, ok := s.index[key]; ok {
		s.counts[i]++
		return
	}
	if len(s.keys) < cap(s.keys) {
		s.index[key] = len(s.keys)
		s.keys = append(s.keys, key)
		s.counts = append(s.counts, 1)
		return
	}
	m := 0
	for i, c := range s.counts {
		if c < s.counts[m] {
			m = i
		}
	}
	delete(s.index, s.keys[m])
	s.index[key] = m
	s.keys[m] = key
	s.counts[m]++
}

// top returns the n heaviest keys (see topOf).
func (s *spaceSaving) top(n int) []TenantCount { return topOf(s.keys, s.counts, n) }

// miniTop is a Space-Saving sketch of miniTopSize entries in fixed arrays,
// small enough for every window to have two; it counts and lists as a
// spaceSaving of that capacity does. The zero value is empty and ready to
// use. Not safe for concurrent use.
type miniTop struct {
	keys   [miniTopSize]string
	counts [miniTopSize]int64
	n      int
}

// add counts one occurrence of key, as spaceSaving.add does.
func (m *miniTop) add(key string) {
	for i := range m.n {
		if m.keys[i] == key {
			m.counts[i]++
			return
		}
	}
	if m.n < miniTopSize {
		m.keys[m.n], m.counts[m.n] = key, 1
		m.n++
		return
	}
	low := 0
	for i := 1; i < miniTopSize; i++ {
		if m.counts[i] < m.counts[low] {
			low = i
		}
	}
	m.keys[low] = key
	m.counts[low]++
}

// top returns the n heaviest keys (see topOf).
func (m *miniTop) top(n int) []TenantCount { return topOf(m.keys[:m.n], m.counts[:m.n], n) }

// topOf returns the n heaviest of keys, whose counts are counts[i]: a new
// list, heaviest first, ties in tenant order, empty (not nil) when there is
// none.
func topOf(keys []string, counts []int64, n int) []TenantCount {
	out := make([]TenantCount, len(keys))
	for i, k := range keys {
		out[i] = TenantCount{Tenant: k, Count: counts[i]}
	}
	slices.SortFunc(out, func(x, y TenantCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Tenant, y.Tenant)
	})
	return out[:min(n, len(out))]
}
