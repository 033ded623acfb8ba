package workload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestErrorText(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://127.0.0.1:54321/x", Err: &net.OpError{Op: "dial", Net: "tcp",
			Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 54321}, Err: err}}
	}
	for _, tc := range []struct {
		name     string
		err      error
		reused   bool
		canceled bool
		want     string
	}{
		{"nil", nil, false, false, ""},
		{"refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), false, false, "connection refused"},
		{"deadline", fmt.Errorf("attempt: %w", context.DeadlineExceeded), false, false, "timeout"},
		{"io deadline", dial(os.ErrDeadlineExceeded), false, false, "timeout"},
		{"unknown CA", dial(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), false, false, "x509: certificate signed by unknown authority"},
		{"not TLS", dial(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false, false, "tls: first record does not look like a TLS handshake"},
		{"EOF fresh", fmt.Errorf("read: %w", io.EOF), false, false, "EOF"},
		{"EOF reused", fmt.Errorf("read: %w", io.EOF), true, false, "EOF on a reused connection"},
		{"canceled", context.Canceled, false, true, "canceled"},
		{"reset", dial(os.NewSyscallError("read", syscall.ECONNRESET)), true, false, "connection reset by peer"},
		{"unknown, addresses removed", dial(errors.New("proxy at 10.1.2.3:8080 said no to [::1]:99 and db.local:5432")), false, false, "proxy at said no to and"},
	} {
		if got := ErrorText(tc.err, tc.reused, tc.canceled); got != tc.want {
			t.Errorf("%s: ErrorText(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestErrorTextKnownDoesNotAllocate(t *testing.T) {
	err := fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	if n := testing.AllocsPerRun(100, func() { _ = ErrorText(err, false, false) }); n != 0 {
		t.Fatalf("ErrorText of a refused dial: %v allocations, want 0", n)
	}
}
