package faults

import "time"

// hold blocks for d, or until lifted is closed (the fault was removed:
// what it held goes on at once), or until done is closed (the client
// left). It reports whether the exchange should go on: true after d or
// once lifted, false when the client left first. A nil lifted never
// closes.
func hold(done, lifted <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-lifted:
		return true
	case <-done:
		return false
	}
}

// jittered returns base + u·jitter, with u in [0, 1).
func jittered(base, jitter time.Duration, u float64) time.Duration {
	return base + time.Duration(u*float64(jitter))
}
