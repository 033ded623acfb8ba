package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGCSetsGCPercentUnlessGOGCIsSet: loadgen collects at gcPercent by
// default and leaves a GOGC from the environment alone.
func TestTuneGCSetsGCPercentUnlessGOGCIsSet(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("without GOGC: GC percent %d, want %d", got, gcPercent)
	}
	tuneGC(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC=100: GC percent %d, want it left at 100", got)
	}
}
