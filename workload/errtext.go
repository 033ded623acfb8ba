package workload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Normalized error messages, as recorded in results.Result.Error. They
// name the failure, not the request: no addresses, ports or ids, so that
// a run's failures group by cause.
const (
	ErrTextTimeout         = "timeout"
	ErrTextRefused         = "connection refused"
	ErrTextReset           = "connection reset by peer"
	ErrTextBrokenPipe      = "broken pipe"
	ErrTextEOF             = "EOF"
	ErrTextReusedEOF       = "EOF on a reused connection"
	ErrTextUnexpectedEOF   = "unexpected EOF"
	ErrTextClosed          = "connection closed"
	ErrTextCanceled        = "canceled"
	ErrTextNoSuchHost      = "no such host"
	ErrTextUnreachable     = "network is unreachable"
	ErrTextNoFreeConns     = "no free connections"
	ErrTextUnknownCA       = "x509: certificate signed by unknown authority"
	ErrTextHostname        = "x509: certificate is not valid for the host name"
	ErrTextCertInvalid     = "x509: certificate is not valid (expired, or not yet valid, or not for this use)"
	ErrTextNotTLS          = "tls: first record does not look like a TLS handshake"
	ErrTextTLSVerification = "tls: failed to verify certificate"
)

// addrPattern matches the per-request detail of an unknown error's text: an
// address with its port, a bracketed IPv6 address or a bare IPv4 one.
var addrPattern = regexp.MustCompile(`\[[0-9a-fA-F:.]+\](:\d+)?|\d{1,3}(\.\d{1,3}){3}(:\d+)?|[\w.-]+:\d{2,5}\b`)

// ErrorText returns the message recorded for an attempt that failed with
// err: a constant (so no allocation) for the failures a load test meets
// (refused, reset, timeouts, EOF, TLS and certificate failures),
// otherwise the innermost error's text with addresses and ports removed.
// reused says whether the attempt was sent on a connection that had
// served an earlier request (an EOF there is the classic race with the
// server's idle timeout); canceled whether the attempt's context was
// done. It finds causes with errors.Is and errors.As, like Classify.
func ErrorText(err error, reused, canceled bool) string {
	switch {
	case err == nil:
		return ""
	case canceled:
		return ErrTextCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout):
		return ErrTextTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrTextRefused
	case errors.Is(err, syscall.ECONNRESET):
		return ErrTextReset
	case errors.Is(err, syscall.EPIPE):
		return ErrTextBrokenPipe
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return ErrTextUnreachable
	}
	// Certificate and TLS failures before EOF: a handshake that fails
	// verification can end in EOF too.
	if s := tlsErrorText(err); s != "" {
		return s
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, fasthttp.ErrConnectionClosed):
		if reused {
			return ErrTextReusedEOF
		}
		return ErrTextEOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrTextUnexpectedEOF
	case errors.Is(err, net.ErrClosed):
		return ErrTextClosed
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return ErrTextNoFreeConns
	}
	return otherErrorText(err)
}

// tlsErrorText returns the message of a certificate or TLS failure, or "".
// (Apart from ErrorText's errors.Is cases, whose common ones must not pay
// for the targets errors.As makes escape.)
func tlsErrorText(err error) string {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
		ve *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &ua):
		return ErrTextUnknownCA
	case errors.As(err, &he):
		return ErrTextHostname
	case errors.As(err, &ci):
		return ErrTextCertInvalid
	case errors.As(err, &rh):
		return ErrTextNotTLS
	case errors.As(err, &ve):
		return ErrTextTLSVerification
	}
	return ""
}

// otherErrorText returns the message of an error ErrorText has no
// constant for.
func otherErrorText(err error) string {
	var (
		te   interface{ Timeout() bool }
		dnse *net.DNSError
	)
	switch {
	case errors.As(err, &dnse) && dnse.IsNotFound:
		return ErrTextNoSuchHost
	case errors.As(err, &te) && te.Timeout():
		return ErrTextTimeout
	}
	return normalizeText(innermost(err).Error())
}

// innermost strips the wrappers whose text is per-request: a URL's
// (url.Error: "Get \"http://…\": …") and a socket's (net.OpError: "dial tcp
// 127.0.0.1:80: …").
func innermost(err error) error {
	for {
		var ue *url.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &oe) && oe.Err != nil:
			err = oe.Err
		default:
			return err
		}
	}
}

// normalizeText removes addresses and ports from an error's text.
func normalizeText(s string) string {
	s = addrPattern.ReplaceAllString(s, "")
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "error"
	}
	return s
}
