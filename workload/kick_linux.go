package workload

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kicker wakes the Go runtime at a chosen instant. An idle Go process
// waits for its next timer in epoll_wait, whose timeout has millisecond
// resolution: a timer due in 200 µs fires up to a millisecond late. A
// one-shot timerfd in the runtime's poller (nobody reads it) ends that wait
// when it expires, and the runtime then runs the timers due, on time.
//
// A kicker is not safe for concurrent use. A nil kicker kicks nothing.
type kicker struct {
	fd int
	f  *os.File // keeps fd in the runtime's poller until close
}

// newKicker returns a kicker, or nil when the system has no timerfd.
func newKicker() *kicker {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	// os.NewFile adds a non-blocking descriptor to the runtime's poller.
	return &kicker{fd: fd, f: os.NewFile(uintptr(fd), "kicker")}
}

// after wakes the runtime d from now (d > 0), replacing the previous
// instant.
func (k *kicker) after(d time.Duration) {
	if k == nil {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(max(d, 1)))}
	// A raw call, as in rawIO: the runtime is not told, so its monitor
	// thread is not woken.
	_, _, _ = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(k.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

// close releases the timerfd.
func (k *kicker) close() {
	if k != nil {
		_ = k.f.Close()
	}
}
