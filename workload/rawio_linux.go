package workload

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawIO reads and writes a TCP connection with raw system calls. The
// socket is non-blocking, so a read or write never blocks (the runtime's
// poller waits for readiness, as for any net.Conn), but unlike syscall.Read
// and syscall.Write they do not enter the runtime's system call state:
// doing so wakes the runtime's monitor thread when the process was idle,
// and on a small machine those thread wake-ups, one burst of requests
// after another, cost more CPU than the requests.
//
// A rawIO is not safe for concurrent use (a connection carries one
// exchange at a time).
type rawIO struct {
	rc      syscall.RawConn
	p       []byte
	n       int
	err     error
	readFn  func(uintptr) bool
	writeFn func(uintptr) bool
}

// newRawIO returns raw I/O for c, or nil when c is not a TCP connection.
func newRawIO(c net.Conn) io.ReadWriter {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.readFn, r.writeFn = r.read, r.write
	return r
}

// Read reads what the socket has, waiting in the runtime's poller (and so
// honouring the connection's deadline) while it has nothing.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.err = p, 0, nil
	if err := r.rc.Read(r.readFn); err != nil {
		return 0, err
	}
	r.p = nil
	if r.err != nil {
		return 0, r.err
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return r.n, nil
}

func (r *rawIO) read(fd uintptr) bool {
	for {
		n, e := sysRead(fd, r.p)
		switch e {
		case 0:
			r.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.err = os.NewSyscallError("read", e)
		return true
	}
}

// Write writes all of p, waiting in the runtime's poller while the socket
// buffer is full.
func (r *rawIO) Write(p []byte) (int, error) {
	r.p, r.n, r.err = p, 0, nil
	for r.n < len(p) && r.err == nil {
		if err := r.rc.Write(r.writeFn); err != nil {
			return r.n, err
		}
	}
	r.p = nil
	return r.n, r.err
}

func (r *rawIO) write(fd uintptr) bool {
	for r.n < len(r.p) {
		rest := r.p[r.n:]
		n, e := sysWrite(fd, rest)
		switch e {
		case 0:
			r.n += n
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.err = os.NewSyscallError("write", e)
		return true
	}
	return true
}
