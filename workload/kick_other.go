//go:build !linux

package workload

import "time"

// kicker would wake the runtime at a chosen instant; elsewhere than on
// Linux it does nothing and timers keep the runtime's own resolution.
type kicker struct{}

func newKicker() *kicker { return nil }

func (*kicker) after(time.Duration) {}

func (*kicker) close() {}
