package report

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestTopSketches pins what both top-N sketches list: heaviest first, ties
// by tenant name, at most n, an empty (not nil) list when there is none,
// and Space-Saving's eviction of the first lightest key once full.
func TestTopSketches(t *testing.T) {
	full := "k0 k1 k2 k3 k4 k5 k6 k7" // miniTopSize distinct keys
	for _, tc := range []struct {
		stream string
		n      int
		want   []TenantCount
	}{
		{"", 3, []TenantCount{}},
		{"a b a c b a", 2, []TenantCount{{"a", 3}, {"b", 2}}},
		{"a b a c b a", 0, []TenantCount{}},
		{"b a c", 5, []TenantCount{{"a", 1}, {"b", 1}, {"c", 1}}},
		// Full: x takes k0's place and its count, plus one.
		{full + " x", 3, []TenantCount{{"x", 2}, {"k1", 1}, {"k2", 1}}},
		{full + " k3 k0 x y", 4, []TenantCount{{"k0", 2}, {"k3", 2}, {"x", 2}, {"y", 2}}},
	} {
		ss, mt := newSpaceSaving(miniTopSize), &miniTop{}
		for _, k := range strings.Fields(tc.stream) {
			ss.add(k)
			mt.add(k)
		}
		for name, got := range map[string][]TenantCount{"spaceSaving": ss.top(tc.n), "miniTop": mt.top(tc.n)} {
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s of %q, top(%d) = %#v, want %#v", name, tc.stream, tc.n, got, tc.want)
			}
		}
	}
}

// TestTopSketchesAgree: with the same capacity, the two sketches list the
// same tenants and counts for any stream.
func TestTopSketchesAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 4))
	for run := range 200 {
		ss, mt := newSpaceSaving(miniTopSize), &miniTop{}
		keys := 1 + rng.IntN(3*miniTopSize)
		for range rng.IntN(400) {
			k := fmt.Sprintf("t%d", min(rng.IntN(keys), rng.IntN(keys))) // skewed to low ids
			ss.add(k)
			mt.add(k)
		}
		for _, n := range []int{1, 3, miniTopSize, miniTopSize + 1} {
			if a, b := ss.top(n), mt.top(n); !reflect.DeepEqual(a, b) {
				t.Fatalf("run %d, top(%d): spaceSaving %v, miniTop %v", run, n, a, b)
			}
		}
	}
}
