package results

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Describe names the stream whose header h is, for messages: its label,
// host, shard and seed.
func (h Header) Describe() string {
	label := h.Label
	if label == "" {
		label = "(unlabelled)"
	}
	return fmt.Sprintf("run %q (host %s, shard %d/%d, seed %d)", label, h.Host, h.Shard.Index, max(h.Shard.Count, 1), h.Seed)
}

// Shards returns the shard indexes the stream holds: the merged shards of
// a merged stream, or its own shard.
func (h Header) Shards() []int {
	if len(h.Merged) > 0 {
		return h.Merged
	}
	return []int{h.Shard.Index}
}

// Hosts splits a merged header's comma-separated host list.
func (h Header) Hosts() []string {
	var out []string
	for s := range strings.SplitSeq(h.Host, ",") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// SameRun returns nil when a and b are headers of the same run (equal
// scenario, and equal seed or distinct shards of one sharded run), and an
// error naming both otherwise.
func SameRun(a, b Header) error {
	if !bytes.Equal(a.Scenario, b.Scenario) {
		return fmt.Errorf("results of different runs: %s and %s have different scenarios", a.Describe(), b.Describe())
	}
	ca, cb := max(a.Shard.Count, 1), max(b.Shard.Count, 1)
	if ca != cb {
		return fmt.Errorf("results of different runs: %s has %d shards but %s has %d", a.Describe(), ca, b.Describe(), cb)
	}
	if a.Seed != b.Seed && (ca == 1 || slices.ContainsFunc(a.Shards(), func(i int) bool { return slices.Contains(b.Shards(), i) })) {
		return fmt.Errorf("results of different runs: %s and %s have different seeds and are not distinct shards of one run", a.Describe(), b.Describe())
	}
	return nil
}
