//go:build !unix

package workload

import "time"

// processCPU cannot read the process's CPU time here, so ProcsAuto leaves
// GOMAXPROCS alone.
func processCPU() (time.Duration, bool) { return 0, false }
