package survey

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDurations parses a duration range "MIN..MAX" (e.g. "1s..30s"), or
// a single duration, which surveys that duration alone.
func ParseDurations(s string) (lo, hi time.Duration, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "..")
	if lo, err = time.ParseDuration(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("%q: want MIN..MAX, e.g. 1s..30s", s)
	}
	hi = lo
	if isRange {
		if hi, err = time.ParseDuration(strings.TrimSpace(b)); err != nil {
			return 0, 0, fmt.Errorf("%q: want MIN..MAX, e.g. 1s..30s", s)
		}
	}
	if lo <= 0 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want 0 < MIN ≤ MAX", s)
	}
	return lo, hi, nil
}

// ParseMultiplier parses a multiplier written "3", "3x" or "2.5x".
func ParseMultiplier(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "x")
	m, err := strconv.ParseFloat(t, 64)
	if err != nil || !(m > 0) || m > 1e6 {
		return 0, fmt.Errorf("multiplier %q: want a number > 0, e.g. 3 or 2.5x", s)
	}
	return m, nil
}
