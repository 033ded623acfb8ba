package workload

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
	"golang.org/x/sys/unix"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

func TestRawIOWritesAllAndReadsToEOF(t *testing.T) {
	client, server := tcpPair(t)
	rw := newRawIO(client)
	if rw == nil {
		t.Fatal("no raw I/O for a TCP connection")
	}
	// More than the socket buffers hold: Write has to wait for the reader.
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(server)
		got <- b
	}()
	n, err := rw.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	client.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("server read %d bytes, want %d equal bytes", len(b), len(want))
	}

	go func() {
		_, _ = server.Write([]byte("answer"))
		server.Close()
	}()
	b, err := io.ReadAll(rw)
	if err != nil || string(b) != "answer" {
		t.Fatalf("ReadAll = %q, %v; want answer, nil", b, err)
	}
	if n, err := rw.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
}

func TestRawIOHonoursDeadlinesAndClose(t *testing.T) {
	client, server := tcpPair(t)
	rw := newRawIO(client)
	if err := client.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := rw.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) || Classify(err, false) != results.OutcomeClientTimeout {
		t.Fatalf("Read past the deadline: %v; want a client timeout", err)
	}
	if err := client.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := rw.Read(make([]byte, 8))
		done <- err
	}()
	// Closing ends the read, waiting or not yet begun, as abort relies on.
	client.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) || Classify(err, false) != results.OutcomeConnError {
		t.Fatalf("Read on a closed connection: %v; want net.ErrClosed", err)
	}
	if _, err := server.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the peer read %v, want EOF", err)
	}
}

func TestRawIOReportsResets(t *testing.T) {
	client, server := tcpPair(t)
	rw := newRawIO(client)
	// SO_LINGER 0 makes Close send a reset.
	if err := server.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	server.Close()
	if err := client.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var err error
	for err == nil {
		_, err = rw.Write([]byte("x"))
		if err == nil {
			_, err = rw.Read(make([]byte, 8))
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && err != io.EOF {
		t.Fatalf("I/O on a reset connection: %v; want ECONNRESET, EPIPE or EOF", err)
	}
}

func TestKickerExpiresAtItsInstant(t *testing.T) {
	k := newKicker()
	if k == nil {
		t.Fatal("no timerfd")
	}
	defer k.close()
	k.after(time.Hour)
	k.after(2 * time.Millisecond) // replaces the hour
	start := time.Now()
	fds := []unix.PollFd{{Fd: int32(k.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 5000)
	if err != nil || n != 1 {
		t.Fatalf("poll = %d, %v; want the timerfd readable", n, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("expired after %v, want about 2ms", el)
	}
}

// BenchmarkRawIOExchange writes a small request and reads a small answer
// on a loopback connection through rawIO, against net.Conn itself.
func BenchmarkRawIOExchange(b *testing.B) {
	for _, raw := range []bool{true, false} {
		name := "net.Conn"
		if raw {
			name = "rawIO"
		}
		b.Run(name, func(b *testing.B) {
			client, server := tcpPair(b)
			var rw io.ReadWriter = client
			if raw {
				rw = newRawIO(client)
			}
			go func() { _, _ = io.Copy(server, server) }() // echo, ends when the test closes it
			req := bytes.Repeat([]byte("x"), 200)
			buf := make([]byte, len(req))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rw.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(rw, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// awaitingRawIO returns raw I/O on client that awaits the answer on its
// next Write.
func awaitingRawIO(t *testing.T, client net.Conn) *rawIO {
	t.Helper()
	rw, ok := newRawIO(client).(*rawIO)
	if !ok {
		t.Fatal("no raw I/O for a TCP connection")
	}
	rw.awaitAnswer()
	return rw
}

func TestRawIOAwaitedWriteReturnsOnceTheAnswerIsReadable(t *testing.T) {
	client, server := tcpPair(t)
	rw := awaitingRawIO(t, client)
	gotRequest, release := make(chan struct{}), make(chan struct{})
	go func() {
		buf := make([]byte, 64)
		if _, err := server.Read(buf); err != nil {
			return
		}
		close(gotRequest)
		<-release
		_, _ = server.Write([]byte("answer"))
	}()
	type written struct {
		n   int
		err error
	}
	done := make(chan written, 1)
	go func() {
		n, err := rw.Write([]byte("request"))
		done <- written{n, err}
	}()
	select {
	case w := <-done:
		t.Fatalf("Write returned (%d, %v) before the service read the request", w.n, w.err)
	case <-gotRequest:
	}
	select {
	case w := <-done:
		t.Fatalf("Write returned (%d, %v) before the answer", w.n, w.err)
	default:
	}
	close(release)
	if w := <-done; w.n != len("request") || w.err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", w.n, w.err, len("request"))
	}
	buf := make([]byte, 64)
	n, err := rw.Read(buf)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("Read = %q, %v; want the answer", buf[:n], err)
	}
	// Only the next Write awaits: this one returns with no answer coming.
	if n, err := rw.Write([]byte("more")); n != 4 || err != nil {
		t.Fatalf("second Write = %d, %v", n, err)
	}
}

func TestRawIOAwaitedWriteEndsAtTheDeadline(t *testing.T) {
	client, _ := tcpPair(t) // a service that never answers
	rw := awaitingRawIO(t, client)
	if err := client.SetDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := rw.Write([]byte("request"))
	if n != len("request") || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want all written, then the deadline", n, err)
	}
}

func TestRawIOAwaitedWriteReturnsWhenTheServiceCloses(t *testing.T) {
	client, server := tcpPair(t)
	rw := awaitingRawIO(t, client)
	go func() {
		buf := make([]byte, 64)
		_, _ = server.Read(buf)
		_ = server.Close()
	}()
	_ = client.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails, not blocks
	if n, err := rw.Write([]byte("request")); n != len("request") || err != nil {
		t.Fatalf("Write = %d, %v; want all written", n, err)
	}
	n, err := rw.Read(make([]byte, 64))
	if n != 0 || err == nil {
		t.Fatalf("Read = %d, %v; want the end of the stream or a reset", n, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read waited for the deadline: %v", err)
	}
}

func TestRawIOAwaitedWriteLargerThanTheSocketBuffers(t *testing.T) {
	client, server := tcpPair(t)
	rw := awaitingRawIO(t, client)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	go func() {
		if _, err := io.ReadFull(server, make([]byte, len(want))); err == nil {
			_, _ = server.Write([]byte("answer"))
		}
	}()
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := rw.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(rw, buf, len("answer"))
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("Read = %q, %v; want the answer", buf[:n], err)
	}
}
