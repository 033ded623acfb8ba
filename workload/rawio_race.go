//go:build linux && race

package workload

import "syscall"

// Under the race detector rawIO reads and writes through package syscall:
// its annotations are what tell the detector that a write to a socket
// happens before the peer's read, as with any net.Conn.

// sysRead reads fd; p is not empty.
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return max(n, 0), errnoOf(err)
}

// sysWrite writes fd; p is not empty.
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return max(n, 0), errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return err.(syscall.Errno)
}
